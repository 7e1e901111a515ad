/**
 * A fault-injecting HTTP proxy in front of an S3 endpoint (RGW or s3rver), for testing the mirror
 * engine under throttling, resets and lost responses. Bodies stream both ways. The Host header is
 * forwarded unchanged: the client signs SigV4 for the proxy's host:port and RGW checks signatures
 * against the Host it receives (Ceph's "auth off" is cephx, not S3 auth); s3rver ignores signatures.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeRequest, type S3Operation, type S3Request } from './fault-proxy-request.ts';
import {
  type FaultProxyStats,
  makeStats,
  type WriteOperation,
  type WriteRecord,
} from './fault-proxy-stats.ts';

export type { S3Operation, S3Request } from './fault-proxy-request.ts';
export type { FaultProxyStats, WriteOperation, WriteRecord, WriteTarget } from './fault-proxy-stats.ts';

export interface FaultRule {
  /** Chance (0..1) that a matching request gets the fault. Default 1, or 0 when failFirst is set. */
  probability?: number;
  /** Fault the first n matching requests for certain (counted from when the rule was set). */
  failFirst?: number;
  /** Only requests for which this returns true are considered (default: all). */
  match?: (request: S3Request) => boolean;
}

/** A wait before forwarding: fixed milliseconds, or uniform in [min, max]. */
export interface DelayRule extends FaultRule {
  ms: number | readonly [number, number];
}

/**
 * The faults, consulted in this order: the first of notImplemented, tooMany, slowDown, errorIn200 and
 * resetBeforeForward that fires answers without forwarding; otherwise delay and then
 * resetAfterUpstream are consulted. A rule counts (for failFirst) only the requests it was consulted on.
 */
export interface FaultOptions {
  /** 501 `NotImplemented`, like a server without UploadPartCopy. */
  notImplemented?: FaultRule;
  /** 429 `TooManyRequests`: throttling for the AWS SDK, by status. */
  tooMany?: FaultRule;
  /** 503 with S3's `SlowDown` error: throttling for the AWS SDK, by code. */
  slowDown?: FaultRule;
  /** 200 whose body is an `<Error>` (InternalError): how S3 may fail a CopyObject after it began answering. */
  errorIn200?: FaultRule;
  /** Reset the client's connection without forwarding. */
  resetBeforeForward?: FaultRule;
  delay?: DelayRule;
  /** Forward, read the whole upstream response, then reset the client's connection instead of relaying it. */
  resetAfterUpstream?: FaultRule;
}

export type FaultName = keyof FaultOptions;

export interface FaultProxyOptions extends FaultOptions {
  /** Seed of the generator behind probabilities (default: random), for repeatable runs. */
  seed?: number;
}

export interface FaultProxy {
  /** `http://127.0.0.1:port`, the endpoint for S3 clients (path-style). */
  endpoint: string;
  stats: FaultProxyStats;
  /** Replaces the rules named (undefined removes one; its failFirst count restarts); others stay. */
  setFaults(faults: Partial<FaultOptions>): void;
  /** Closes the listener and every connection, to clients and upstream. */
  stop(): Promise<void>;
}

interface Context {
  upstream: URL;
  agent: Agent;
  rules: Map<FaultName, { rule: FaultRule; consulted: number }>;
  random: () => number;
  stats: FaultProxyStats;
}

/** One request on its way through the proxy. */
interface Exchange {
  context: Context;
  described: S3Request;
  req: IncomingMessage;
  res: ServerResponse;
  /** The proxy itself closed the client's connection (a reset fault, or the upstream failed mid-body). */
  cutByProxy: boolean;
}

type ErrorAnswer = readonly [status: number, code: string, message: string];
type Rejection = 'notImplemented' | 'tooMany' | 'slowDown' | 'errorIn200' | 'resetBeforeForward';
const NOT_IMPLEMENTED = 'A header you provided implies functionality that is not implemented.';
const REJECTIONS: Record<Rejection, ErrorAnswer | null> = {
  notImplemented: [501, 'NotImplemented', NOT_IMPLEMENTED],
  tooMany: [429, 'TooManyRequests', 'Please reduce your request rate.'],
  slowDown: [503, 'SlowDown', 'Please reduce your request rate.'],
  errorIn200: [200, 'InternalError', 'We encountered an internal error. Please try again.'],
  resetBeforeForward: null,
};
// hop-by-hop, and Expect: this server has answered 100-continue already, and SigV4 never signs it
const DROPPED_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade', 'expect']);
const WRITES = new Set<S3Operation>(['PutObject', 'CopyObject', 'UploadPartCopy', 'CompleteMultipartUpload']);

/** Starts a proxy to upstream (`http://127.0.0.1:port`) on a free 127.0.0.1 port. */
export async function startFaultProxy(
  upstream: string,
  options: FaultProxyOptions = {},
): Promise<FaultProxy> {
  const { seed = randomInt(2 ** 31), ...faults } = options;
  const agent = new Agent({ keepAlive: true });
  const stats = makeStats();
  const context: Context = {
    upstream: new URL(upstream),
    agent,
    rules: new Map(),
    random: seededRandom(seed),
    stats,
  };
  const setFaults = (changes: Partial<FaultOptions>) => setRules(context, changes);
  setFaults(faults);
  const server = createServer((req, res) => {
    const exchange: Exchange = { context, described: describeRequest(req), req, res, cutByProxy: false };
    track(exchange);
    handle(exchange).catch((error: unknown) => answerBadGateway(exchange, error));
  });
  server.on('connection', () => {
    stats.connections += 1;
  });
  // longer than clients keep idle sockets, so that no reuse races the close of an idle connection
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const stop = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    agent.destroy();
    await closed;
  };
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats, setFaults, stop };
}

function setRules(context: Context, changes: Partial<FaultOptions>): void {
  for (const [name, rule] of Object.entries(changes) as [FaultName, FaultRule | undefined][]) {
    if (!rule) {
      context.rules.delete(name);
      continue;
    }
    const { probability = 0, failFirst = 0 } = rule;
    if (!(probability >= 0 && probability <= 1) || !Number.isInteger(failFirst) || failFirst < 0) {
      throw new Error(`fault ${name}: probability must be within [0, 1] and failFirst a whole number`);
    }
    context.rules.set(name, { rule, consulted: 0 });
  }
}

function track(exchange: Exchange): void {
  const { stats } = exchange.context;
  const { operation } = exchange.described;
  stats.seen += 1;
  stats.operations[operation] = (stats.operations[operation] ?? 0) + 1;
  stats.inFlight += 1;
  stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
  exchange.res.on('close', () => {
    stats.inFlight -= 1;
    if (!exchange.res.writableFinished && !exchange.cutByProxy) stats.clientAborts += 1;
  });
}

async function handle(exchange: Exchange): Promise<void> {
  const { context, req } = exchange;
  const { stats } = context;
  const rejection = (Object.keys(REJECTIONS) as Rejection[]).find((name) => fires(exchange, name));
  if (rejection) {
    stats.faults[rejection] += 1;
    reject(exchange, REJECTIONS[rejection]);
    return;
  }
  const delay = context.rules.get('delay')?.rule as DelayRule | undefined;
  if (delay && fires(exchange, 'delay')) {
    stats.faults.delay += 1;
    const [min, max] = typeof delay.ms === 'number' ? [delay.ms, delay.ms] : delay.ms;
    // a client that gives up (or the proxy stopping) ends the wait: no timer outlives its request
    const gone = new AbortController();
    exchange.res.once('close', () => gone.abort());
    await sleep(min + context.random() * (max - min), undefined, { signal: gone.signal }).catch(
      () => undefined,
    );
    if (req.socket.destroyed || gone.signal.aborted) return;
  }
  forward(exchange, fires(exchange, 'resetAfterUpstream'));
}

function fires({ context, described }: Exchange, name: FaultName): boolean {
  const state = context.rules.get(name);
  if (!state || (state.rule.match && !state.rule.match(described))) return false;
  state.consulted += 1;
  const { failFirst, probability = failFirst === undefined ? 1 : 0 } = state.rule;
  if (failFirst !== undefined && state.consulted <= failFirst) return true;
  return probability > 0 && context.random() < probability;
}

function reject(exchange: Exchange, answer: ErrorAnswer | null): void {
  const { described, req, res } = exchange;
  if (!answer) {
    exchange.cutByProxy = true;
    req.socket.resetAndDestroy();
    return;
  }
  sendError(res, answer, described.path);
  // read and drop the body so that the keep-alive connection stays usable
  req.resume();
}

function forward(exchange: Exchange, dropResponse: boolean): void {
  const { context, described, req, res } = exchange;
  context.stats.forwarded += 1;
  const headers = Object.fromEntries(
    Object.entries(req.headers).filter(([name]) => !DROPPED_HEADERS.has(name)),
  );
  const options = { method: described.method, path: req.url, headers, agent: context.agent };
  const outgoing = request(context.upstream, options);
  let answered = false;
  outgoing.on('response', (incoming) => {
    answered = true;
    relay(exchange, incoming, dropResponse);
  });
  outgoing.on('error', (error) => {
    // after our own destroy (the client left), or a second error from the same failure
    if (answered || req.socket.destroyed) return;
    answered = true;
    context.stats.upstreamErrors += 1;
    req.unpipe(outgoing);
    answerBadGateway(exchange, error);
    req.resume();
  });
  res.on('close', () => {
    if (!answered) outgoing.destroy();
  });
  req.pipe(outgoing);
}

function relay(exchange: Exchange, incoming: IncomingMessage, dropResponse: boolean): void {
  const { stats } = exchange.context;
  const { req, res } = exchange;
  const status = incoming.statusCode ?? 502;
  const write = recordWrite(exchange, status);
  if (dropResponse) {
    incoming.resume();
    // 'close' rather than 'end': an upstream that fails mid-body must not leave the client hanging
    incoming.on('close', () => {
      stats.faults.resetAfterUpstream += 1;
      exchange.cutByProxy = true;
      req.socket.resetAndDestroy();
    });
    return;
  }
  // Transfer-Encoding too: this server frames the body itself (chunked when there is no length)
  const headers = Object.entries(incoming.headers).filter(
    ([name]) => !DROPPED_HEADERS.has(name) && name !== 'transfer-encoding',
  );
  res.writeHead(status, Object.fromEntries(headers));
  // before pipeline's own listener, which would destroy the client's connection first
  incoming.once('error', () => {
    if (req.socket.destroyed) return;
    // the upstream failed mid-body while the client was still there
    stats.upstreamErrors += 1;
    exchange.cutByProxy = true;
  });
  pipeline(incoming, res).then(
    () => {
      if (write) write.delivered = true;
    },
    () => {
      // counted by the close listeners: the client left, or the upstream failed
    },
  );
}

function recordWrite({ context, described }: Exchange, status: number): WriteRecord | undefined {
  const { operation, bucket, key, query } = described;
  if (!WRITES.has(operation) || status < 200 || status > 299) return undefined;
  const write: WriteRecord = {
    operation: operation as WriteOperation,
    bucket,
    key,
    status,
    delivered: false,
  };
  if (operation === 'UploadPartCopy') {
    write.uploadId = query.get('uploadId') ?? undefined;
    write.partNumber = Number(query.get('partNumber'));
  }
  context.stats.writes.push(write);
  return write;
}

/** 502 for an upstream that failed (or a match function that threw); a cut if the answer has begun. */
function answerBadGateway(exchange: Exchange, error: unknown): void {
  const { res } = exchange;
  if (!res.headersSent) {
    sendError(res, [502, 'BadGateway', `fault proxy: ${String(error)}`], exchange.described.path, true);
    return;
  }
  exchange.cutByProxy = true;
  res.destroy();
}

function sendError(
  res: ServerResponse,
  [status, code, message]: ErrorAnswer,
  resource: string,
  close = false,
) {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message><Resource>${escapeXml(resource)}</Resource>` +
    `<RequestId>${requestId}</RequestId><HostId>fault-proxy</HostId></Error>`;
  const headers = { 'content-type': 'application/xml', 'x-amz-request-id': requestId };
  res.writeHead(status, close ? { ...headers, connection: 'close' } : headers);
  res.end(body);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** mulberry32: small, fast, and enough to spread faults repeatably. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}
