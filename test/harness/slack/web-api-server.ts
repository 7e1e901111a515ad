/**
 * The HTTP side Slack exposes to the bot: the Web API under /api/<method> (form, JSON or query
 * arguments, bearer token) and the response_url hooks under /commands/… and /actions/…. Socket
 * Mode's WebSocket is socket-mode.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ApiResult, chatMethods, fail, type MethodHandler } from './chat-methods.ts';
import { postToResponseUrl } from './response-url.ts';
import { socketModeMethods } from './socket-mode.ts';
import type { SlackStore } from './store.ts';
import { viewMethods } from './view-methods.ts';
import { workspaceMethods } from './workspace-methods.ts';

const methods: Record<string, MethodHandler> = {
  ...chatMethods,
  ...workspaceMethods,
  ...viewMethods,
  ...socketModeMethods,
};

/** Methods that take the app-level token (xapp-…); every other one takes the bot token. */
const appTokenMethods = new Set(Object.keys(socketModeMethods));

/** Arguments Slack takes as JSON text inside a form body. */
const jsonArgs = new Set(['blocks', 'attachments', 'view', 'metadata']);

export interface WebApiServer {
  baseUrl: string;
  close(): Promise<void>;
}

export async function startWebApiServer(store: SlackStore): Promise<WebApiServer> {
  let baseUrl = '';
  const server: Server = createServer((req, res) => {
    handle(store, baseUrl, req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  store: SlackStore,
  baseUrl: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', baseUrl);
  const raw = await readBody(req);
  if (url.pathname.startsWith('/api/')) {
    const method = url.pathname.slice('/api/'.length);
    const { status, answer, headers } = callMethod(store, method, req, raw, url.searchParams);
    return sendJson(res, status, answer, headers);
  }
  if (/^\/(commands|actions)\//.test(url.pathname) && req.method === 'POST') {
    const { status, answer } = postToResponseUrl(store, url.href, url.pathname, raw);
    return sendJson(res, status, answer);
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found');
}

interface MethodAnswer {
  status: number;
  answer: ApiResult;
  headers?: Record<string, string>;
}

function callMethod(
  store: SlackStore,
  method: string,
  req: IncomingMessage,
  raw: string,
  query: URLSearchParams,
): MethodAnswer {
  const parsed = parseArgs(req.headers['content-type'], raw, query);
  const args = typeof parsed === 'string' ? {} : parsed;
  const { token, ...rest } = args;
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const presented = bearer ?? (typeof token === 'string' ? token : undefined);
  let out: MethodAnswer;
  if (typeof parsed === 'string') out = { status: 200, answer: fail(parsed) };
  else if (!presented) out = { status: 200, answer: fail('not_authed') };
  else out = refuseToken(store, method, presented) ?? runMethod(store, method, rest);
  store.calls.push({ method, args: rest, at: Date.now(), result: out.answer });
  return out;
}

/** Slack refuses a token it does not know, and a known one of the wrong kind (bot for app-level, or back). */
function refuseToken(store: SlackStore, method: string, presented: string): MethodAnswer | undefined {
  const wanted = appTokenMethods.has(method) ? store.appToken : store.botToken;
  if (presented === wanted) return undefined;
  const known = presented === store.appToken || presented === store.botToken;
  return { status: 200, answer: fail(known ? 'not_allowed_token_type' : 'invalid_auth') };
}

function runMethod(store: SlackStore, method: string, args: Record<string, unknown>): MethodAnswer {
  const queued = store.failures.get(method)?.shift();
  if (queued?.retryAfterSec !== undefined) {
    return {
      status: 429,
      answer: fail('ratelimited'),
      headers: { 'retry-after': String(queued.retryAfterSec) },
    };
  }
  if (queued) return { status: 200, answer: fail(queued.error) };
  const handler = methods[method];
  if (!handler) return { status: 200, answer: fail('unknown_method', { req_method: method }) };
  return { status: 200, answer: handler(store, args) };
}

/** Decodes arguments as Slack does: form or JSON body, plus query string; JSON-typed args parsed. */
function parseArgs(
  contentType: string | undefined,
  raw: string,
  query: URLSearchParams,
): Record<string, unknown> | string {
  const args: Record<string, unknown> = {};
  for (const [key, value] of query) args[key] = decodeJsonArg(key, value);
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') {
    try {
      Object.assign(args, JSON.parse(raw || '{}'));
    } catch {
      return 'invalid_json';
    }
    return args;
  }
  if (type === 'application/x-www-form-urlencoded' || (type === '' && raw !== '')) {
    for (const [key, value] of new URLSearchParams(raw)) args[key] = decodeJsonArg(key, value);
    return args;
  }
  if (type !== '') return 'invalid_form_data';
  return args;
}

function decodeJsonArg(key: string, value: string): unknown {
  if (!jsonArgs.has(key)) return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
