/**
 * Slack's Socket Mode side. apps.connections.open (the app-level token only: web-api-server.ts
 * checks the token kind) hands out a ws:// URL with a one-time ticket; the WebSocket server greets
 * each connection with `hello`, pings it, delivers envelopes (slash commands, interactions) on the
 * newest open one and records the acks the app sends back. A command's ack payload reaches the
 * user as an HTTP answer's body does; an envelope not acked within 3 s fails, as Slack gives up.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { type ApiResult, fail, type MethodHandler } from './chat-methods.ts';
import { buildBlockActions, buildSlashCommand, type ClickInput, type CommandInput } from './driver.ts';
import { deliverReply } from './response-url.ts';
import type { SlackStore } from './store.ts';

/** A ticket is good for one connection within this long (Slack's URLs expire after 30 s). */
const ticketLifetimeMs = 30_000;
const host = 'applink-standin';

export type EnvelopeType = 'slash_commands' | 'interactive';

/** One WebSocket connection the app opened with a valid ticket. */
export interface SocketConnection {
  id: string;
  openedAt: number;
  closedAt?: number;
  closeCode?: number;
}

/** An envelope as Slack sends it, and where and when it went. */
export interface SocketEnvelope {
  envelope_id: string;
  type: EnvelopeType;
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  connectionId: string;
  sentAt: number;
}

/** An ack the app sent back: `{ envelope_id, payload? }`. */
export interface SocketAck {
  envelopeId: string;
  /** the ack's payload (a command's immediate reply, a view's response_action); absent when none */
  payload?: Record<string, unknown>;
  connectionId: string;
  at: number;
  /** from the envelope's sending to this ack (NaN for an envelope this stand-in never sent) */
  ms: number;
}

export interface SocketModeSide {
  /** the WebSocket server's base URL (ws://127.0.0.1:port); apps.connections.open adds /link/?ticket=… */
  url: string;
  /** every connection accepted, oldest first (a reconnect adds one) */
  connections: SocketConnection[];
  /** connection attempts refused (no, unknown, used or expired ticket; wrong path) */
  refused: { path: string; at: number }[];
  envelopes: SocketEnvelope[];
  acks: SocketAck[];
  /** The user types the slash command; resolves with the app's ack (its payload shown as Slack shows it). */
  command(input: CommandInput): Promise<SocketAck>;
  /** The user clicks a button of a stored message (a block_actions in an `interactive` envelope). */
  click(input: ClickInput): Promise<SocketAck>;
  /** Slack's `disconnect` message on every open connection (`refresh_requested`: reconnect now). */
  disconnect(reason?: 'refresh_requested' | 'warning' | 'link_disabled'): void;
  close(): Promise<void>;
}

export interface SocketModeOptions {
  store: SlackStore;
  /** the Web API server's base URL, for the response_urls in payloads */
  baseUrl: string;
  ackTimeoutMs: number;
  /** how often Slack pings each connection (default 5000) */
  pingIntervalMs?: number;
}

interface State extends Pick<SocketModeSide, 'connections' | 'refused' | 'envelopes' | 'acks'> {
  options: SocketModeOptions;
  live: Map<string, WebSocket>;
  waiters: Map<string, (ack: SocketAck) => void>;
}

/** The Web API methods of Socket Mode (they take the app-level token). */
export const socketModeMethods: Record<string, MethodHandler> = {
  'apps.connections.open': (store) => openConnection(store),
};

function openConnection(store: SlackStore): ApiResult {
  if (!store.socketMode.url) return fail('internal_error');
  const ticket = randomUUID();
  store.socketMode.tickets.set(ticket, { createdAt: Date.now(), used: false });
  return { ok: true, url: `${store.socketMode.url}/link/?ticket=${ticket}&app_id=${store.workspace.appId}` };
}

export async function startSocketMode(options: SocketModeOptions): Promise<SocketModeSide> {
  const state: State = {
    options,
    live: new Map(),
    waiters: new Map(),
    connections: [],
    refused: [],
    envelopes: [],
    acks: [],
  };
  const wss = new WebSocketServer({ noServer: true });
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket, head) => upgrade(state, wss, req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  options.store.socketMode.url = url;
  const ctx = { store: options.store, baseUrl: options.baseUrl };
  return {
    url,
    connections: state.connections,
    refused: state.refused,
    envelopes: state.envelopes,
    acks: state.acks,
    command: async (input) => {
      const { fields, grant } = buildSlashCommand(ctx, input);
      const ack = await deliver(state, 'slash_commands', fields, true);
      // As over HTTP: Slack shows a non-empty immediate reply to the command's user (or in the channel).
      if (ack.payload && Object.keys(ack.payload).length > 0) {
        deliverReply(options.store, grant, ack.payload, 'ack');
      }
      return ack;
    },
    click: (input) => deliver(state, 'interactive', buildBlockActions(ctx, input), false),
    disconnect: (reason = 'refresh_requested') => {
      const message = JSON.stringify({ type: 'disconnect', reason, debug_info: { host } });
      for (const ws of state.live.values()) ws.send(message);
    },
    close: () => closeAll(state, wss, server),
  };
}

function upgrade(
  state: State,
  wss: WebSocketServer,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const ticket = state.options.store.socketMode.tickets.get(url.searchParams.get('ticket') ?? '');
  const valid =
    url.pathname === '/link/' && ticket && !ticket.used && Date.now() - ticket.createdAt < ticketLifetimeMs;
  if (!valid) {
    state.refused.push({ path: url.pathname, at: Date.now() });
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  ticket.used = true;
  wss.handleUpgrade(req, socket, head, (ws) => accept(state, ws));
}

function accept(state: State, ws: WebSocket): void {
  const connection: SocketConnection = { id: randomBytes(6).toString('hex'), openedAt: Date.now() };
  state.connections.push(connection);
  state.live.set(connection.id, ws);
  const ping = setInterval(() => ws.ping(), state.options.pingIntervalMs ?? 5000);
  ping.unref();
  ws.on('message', (data, isBinary) => onMessage(state, connection, data, isBinary));
  ws.on('close', (code) => {
    clearInterval(ping);
    state.live.delete(connection.id);
    Object.assign(connection, { closedAt: Date.now(), closeCode: code });
  });
  ws.send(
    JSON.stringify({
      type: 'hello',
      num_connections: state.live.size,
      debug_info: { host, build_number: 1, approximate_connection_time: 18060 },
      connection_info: { app_id: state.options.store.workspace.appId },
    }),
  );
}

function onMessage(state: State, connection: SocketConnection, data: RawData, isBinary: boolean): void {
  if (isBinary) return;
  let message: unknown;
  try {
    message = JSON.parse(data.toString());
  } catch {
    return;
  }
  if (!isRecord(message) || typeof message.envelope_id !== 'string') return;
  const sent = state.envelopes.find((e) => e.envelope_id === message.envelope_id);
  const at = Date.now();
  const ack: SocketAck = {
    envelopeId: message.envelope_id,
    ...(isRecord(message.payload) ? { payload: message.payload } : {}),
    connectionId: connection.id,
    at,
    ms: sent ? at - sent.sentAt : Number.NaN,
  };
  state.acks.push(ack);
  state.waiters.get(ack.envelopeId)?.(ack);
}

function deliver(
  state: State,
  type: EnvelopeType,
  payload: Record<string, unknown>,
  acceptsResponsePayload: boolean,
): Promise<SocketAck> {
  const open = [...state.live.entries()].filter(([, ws]) => ws.readyState === ws.OPEN).at(-1);
  if (!open) return Promise.reject(new Error('no open Socket Mode connection: the app has not connected'));
  const [connectionId, ws] = open;
  const envelope = {
    envelope_id: randomUUID(),
    type,
    payload,
    accepts_response_payload: acceptsResponsePayload,
  };
  state.envelopes.push({ ...envelope, connectionId, sentAt: Date.now() });
  const acked = waitForAck(state, envelope.envelope_id, type);
  ws.send(JSON.stringify(envelope));
  return acked;
}

function waitForAck(state: State, envelopeId: string, type: EnvelopeType): Promise<SocketAck> {
  const { ackTimeoutMs } = state.options;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      state.waiters.delete(envelopeId);
      reject(
        new Error(
          `the ${type} envelope ${envelopeId} was not acked within ${ackTimeoutMs} ms (Slack would show operation_timeout)`,
        ),
      );
    }, ackTimeoutMs);
    state.waiters.set(envelopeId, (ack) => {
      clearTimeout(timer);
      state.waiters.delete(envelopeId);
      resolve(ack);
    });
  });
}

async function closeAll(state: State, wss: WebSocketServer, server: Server): Promise<void> {
  await Promise.all([...state.live.values()].map(closeGracefully));
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Going away (1001), as a Slack server shutting down says it; a peer silent for 1 s is cut off. */
function closeGracefully(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 1000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close(1001, 'going away');
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
