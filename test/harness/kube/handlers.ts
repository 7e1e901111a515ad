/** REST verbs on resource paths: get, list, watch, create, update, patch, delete, and the scale subresource. */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { ClusterState, WriteOptions } from './cluster-state.ts';
import { applyPatch, patchTypeOf } from './patch.ts';
import { apiVersionOf, type ResourceDef } from './resources.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { ApiError, badRequest, methodNotAllowed, pathNotFound, unsupportedMediaType } from './status.ts';
import { toTable, wantsTable } from './tables.ts';
import type { KubeObject } from './types.ts';
import { serveWatch, type WatchRegistry } from './watch.ts';

export interface ResourceRequest {
  method: string;
  def: ResourceDef;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type Reply = { status: number; body: unknown } | 'streaming';

function decodeBody(request: ResourceRequest, allowPatch: boolean): unknown {
  const contentType = request.headers['content-type'] ?? '';
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  if (!allowPatch && !['application/json', 'application/yaml', ''].includes(mediaType)) {
    throw unsupportedMediaType(contentType, [
      'application/json',
      'application/yaml',
      'application/vnd.kubernetes.protobuf',
    ]);
  }
  const text = request.body.toString('utf8');
  try {
    return mediaType === 'application/yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(error as Error).message}`);
  }
}

function writeOptions(query: URLSearchParams): WriteOptions {
  return { dryRun: query.getAll('dryRun').includes('All') };
}

/** Items of a typed list carry no apiVersion/kind on the real apiserver. */
function listItem(obj: KubeObject): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

function paginate(
  items: KubeObject[],
  query: URLSearchParams,
): { page: KubeObject[]; next?: string; remaining?: number } {
  const start = query.get('continue')
    ? Number(Buffer.from(query.get('continue') ?? '', 'base64url').toString())
    : 0;
  if (!Number.isInteger(start) || start < 0)
    throw new ApiError(410, 'Expired', 'The provided continue parameter is too old');
  const limit = Number(query.get('limit') ?? 0);
  if (!limit || start + limit >= items.length) return { page: items.slice(start) };
  const end = start + limit;
  return {
    page: items.slice(start, end),
    next: Buffer.from(String(end)).toString('base64url'),
    remaining: items.length - end,
  };
}

function list(state: ClusterState, request: ResourceRequest): Reply {
  const { def, namespace, query } = request;
  const labels = parseLabelSelector(query.get('labelSelector'));
  const fields = parseFieldSelector(query.get('fieldSelector'), def.kind);
  const all = state.store
    .list(def, def.namespaced ? namespace : undefined)
    .filter((o) => labels(o.metadata.labels) && fields(o));
  const { page, next, remaining } = paginate(all, query);
  const resourceVersion = String(state.store.resourceVersion);
  const tableVersion = wantsTable(request.headers.accept);
  if (tableVersion) {
    const table = toTable(def.kind, page, {
      tableVersion,
      includeObject: query.get('includeObject') ?? 'Metadata',
      resourceVersion,
    });
    if (next) (table.metadata as Record<string, unknown>).continue = next;
    return { status: 200, body: table };
  }
  const metadata = { resourceVersion, ...(next ? { continue: next, remainingItemCount: remaining } : {}) };
  return {
    status: 200,
    body: { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata, items: page.map(listItem) },
  };
}

function single(request: ResourceRequest, obj: KubeObject, status = 200): Reply {
  const tableVersion = request.method === 'GET' ? wantsTable(request.headers.accept) : undefined;
  if (!tableVersion) return { status, body: obj };
  const includeObject = request.query.get('includeObject') ?? 'Metadata';
  return {
    status,
    body: toTable(obj.kind, [obj], {
      tableVersion,
      includeObject,
      resourceVersion: obj.metadata.resourceVersion ?? '',
    }),
  };
}

function handleScale(state: ClusterState, request: ResourceRequest): Reply {
  const { def, namespace, method, query } = request;
  const name = request.name ?? '';
  if (!def.scale) throw pathNotFound();
  const options = writeOptions(query);
  switch (method) {
    case 'GET':
      return { status: 200, body: state.toScale(state.get(def, namespace, name)) };
    case 'PUT':
      return {
        status: 200,
        body: state.writeScale(def, namespace, name, decodeBody(request, false) as KubeObject, options),
      };
    case 'PATCH': {
      const type = patchTypeOf(request.headers['content-type']);
      const patched = applyPatch(
        type,
        state.toScale(state.get(def, namespace, name)),
        decodeBody(request, true),
      ) as KubeObject;
      return { status: 200, body: state.writeScale(def, namespace, name, patched, options) };
    }
    default:
      throw methodNotAllowed();
  }
}

function deleteObject(state: ClusterState, request: ResourceRequest, name: string): Reply {
  const { def, namespace, query } = request;
  let grace = query.has('gracePeriodSeconds') ? Number(query.get('gracePeriodSeconds')) : undefined;
  if (grace === undefined && request.body.length > 0) {
    grace = (decodeBody(request, false) as { gracePeriodSeconds?: number } | null)?.gracePeriodSeconds;
  }
  const before = state.get(def, namespace, name);
  const remaining = state.remove(def, namespace, name, grace, writeOptions(query));
  if (remaining) return { status: 200, body: remaining };
  const details = {
    name,
    ...(def.group ? { group: def.group } : {}),
    kind: def.resource,
    uid: before.metadata.uid,
  };
  return {
    status: 200,
    body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details },
  };
}

export function handleResource(
  state: ClusterState,
  request: ResourceRequest,
  res: ServerResponse,
  watches: WatchRegistry,
): Reply {
  const { def, namespace, name, method, query } = request;
  if (request.subresource === 'scale') return handleScale(state, request);
  if (request.subresource !== undefined) throw pathNotFound();
  if (name === undefined) {
    if (method === 'GET' && ['true', '1'].includes(query.get('watch') ?? '')) {
      serveWatch(
        state,
        { def, namespace, query, tableVersion: wantsTable(request.headers.accept) },
        res,
        watches,
      );
      return 'streaming';
    }
    if (method === 'GET') return list(state, request);
    if (method === 'POST' && (namespace !== undefined || !def.namespaced)) {
      return single(
        request,
        state.create(def, namespace, decodeBody(request, false) as KubeObject, writeOptions(query)),
        201,
      );
    }
    throw methodNotAllowed();
  }
  switch (method) {
    case 'GET':
      return single(request, state.get(def, namespace, name));
    case 'PUT':
      return single(
        request,
        state.update(def, namespace, name, decodeBody(request, false) as KubeObject, writeOptions(query)),
      );
    case 'PATCH': {
      const type = patchTypeOf(request.headers['content-type']);
      return single(
        request,
        state.patch(def, namespace, name, type, decodeBody(request, true), writeOptions(query)),
      );
    }
    case 'DELETE':
      return deleteObject(state, request, name);
    default:
      throw methodNotAllowed();
  }
}
