/** The HTTP side: routing, discovery, the request log and injected failures. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ClusterState } from './cluster-state.ts';
import { handleResource, type Reply } from './handlers.ts';
import {
  apiGroup,
  apiGroupList,
  apiVersions,
  findResource,
  resourceList,
  serverVersion,
} from './resources.ts';
import { ApiError, injectedError, pathNotFound } from './status.ts';
import type { WatchRegistry } from './watch.ts';

/** One request as the stand-in saw it; verb/apiGroup/resource/subresource are RBAC's view of it. */
export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  /** kubectl/v1.20.2 …, the client-node library's, or `pachctl-standin` (pachd's own calls, not the bot's). */
  userAgent: string | undefined;
  verb: string;
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  status?: number;
}

export interface FailureRule {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Matched against the request path (no query string). */
  pathRegex: RegExp | string;
  status: number;
  /** How many matching requests fail; default 1, Infinity for all. */
  times?: number;
  message?: string;
}

interface ParsedPath {
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
}

/** `/api/v1/namespaces/ns/pods/name/sub` or `/apis/apps/v1/…` into its parts (undefined: not a resource path). */
export function parseResourcePath(path: string): ParsedPath | undefined {
  const segments = path
    .split('/')
    .filter((s) => s !== '')
    .map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3)
    [group, version, rest] = ['', segments[1], segments.slice(2)];
  else if (segments[0] === 'apis' && segments.length >= 4)
    [group, version, rest] = [segments[1], segments[2], segments.slice(3)];
  else return undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    return { group, version, namespace: rest[1], resource: rest[2], name: rest[3], subresource: rest[4] };
  }
  if (rest.length > 3) return undefined;
  return { group, version, resource: rest[0], name: rest[1], subresource: rest[2] };
}

function verbOf(method: string, parsed: ParsedPath | undefined, query: URLSearchParams): string {
  if (!parsed) return method.toLowerCase();
  const watching = ['true', '1'].includes(query.get('watch') ?? '');
  switch (method) {
    case 'GET':
      return parsed.name ? 'get' : watching ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return parsed.name ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function discovery(path: string): unknown {
  switch (path) {
    case '/version':
      return serverVersion;
    case '/api':
      return apiVersions();
    case '/apis':
      return apiGroupList();
  }
  const m = /^\/(?:api\/(v1)|apis\/([^/]+)(?:\/([^/]+))?)\/?$/.exec(path);
  if (!m) return undefined;
  if (m[1]) return resourceList('', m[1]);
  return m[3] ? resourceList(m[2], m[3]) : apiGroup(m[2]);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface ServerParts {
  state: ClusterState;
  requests: RequestRecord[];
  failures: FailureRule[];
  watches: WatchRegistry;
}

function takeFailure(failures: FailureRule[], method: string, path: string): FailureRule | undefined {
  const rule = failures.find(
    (r) =>
      (!r.method || r.method.toUpperCase() === method) &&
      new RegExp(r.pathRegex).test(path) &&
      (r.times ?? 1) > 0,
  );
  if (rule) rule.times = (rule.times ?? 1) - 1;
  return rule;
}

function route(
  parts: ServerParts,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: Buffer,
  parsed?: ParsedPath,
): Reply {
  const path = url.pathname;
  if (['/healthz', '/livez', '/readyz'].includes(path)) return { status: 200, body: 'ok' };
  const doc = req.method === 'GET' ? discovery(path) : undefined;
  if (doc) return { status: 200, body: doc };
  const def = parsed && findResource(parsed.group, parsed.version, parsed.resource);
  if (!parsed || !def || (parsed.namespace !== undefined && !def.namespaced)) throw pathNotFound();
  return handleResource(
    parts.state,
    {
      method: req.method ?? 'GET',
      def,
      namespace: parsed.namespace,
      name: parsed.name,
      subresource: parsed.subresource,
      query: url.searchParams,
      headers: req.headers,
      body,
    },
    res,
    parts.watches,
  );
}

async function handle(parts: ServerParts, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://standin');
  const method = req.method ?? 'GET';
  const parsed = parseResourcePath(url.pathname);
  const record: RequestRecord = {
    method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    contentType: req.headers['content-type'],
    userAgent: req.headers['user-agent'],
    verb: verbOf(method, parsed, url.searchParams),
    ...(parsed
      ? {
          apiGroup: parsed.group,
          resource: parsed.resource,
          subresource: parsed.subresource,
          namespace: parsed.namespace,
          name: parsed.name,
        }
      : {}),
  };
  parts.requests.push(record);
  const body = await readBody(req);
  try {
    const failure = takeFailure(parts.failures, method, url.pathname);
    if (failure) throw injectedError(failure.status, failure.message);
    const reply = route(parts, req, res, url, body, parsed);
    record.status = reply === 'streaming' ? 200 : reply.status;
    if (reply !== 'streaming') send(res, reply.status, reply.body);
  } catch (error) {
    const apiError =
      error instanceof ApiError
        ? error
        : new ApiError(500, 'InternalError', `stand-in bug: ${(error as Error).stack}`);
    record.status = apiError.code;
    if (res.headersSent) res.end();
    else send(res, apiError.code, apiError.toStatus());
  }
}

export function createKubeServer(parts: ServerParts): Server {
  const server = createServer((req, res) => {
    handle(parts, req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, String(error));
    });
  });
  server.keepAliveTimeout = 1000;
  return server;
}
