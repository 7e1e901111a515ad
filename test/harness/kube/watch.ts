/** `?watch=true`: a chunked stream of {type, object} lines, resumable from a resourceVersion. */
import type { ServerResponse } from 'node:http';
import type { ClusterState } from './cluster-state.ts';
import { apiVersionOf, type ResourceDef } from './resources.ts';
import { parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { gone } from './status.ts';
import type { StoreEvent } from './store.ts';
import { toTable } from './tables.ts';
import type { KubeObject } from './types.ts';

export interface WatchRequest {
  def: ResourceDef;
  namespace: string | undefined;
  query: URLSearchParams;
  /** Set when the client asked for Tables (kubectl get -w). */
  tableVersion: string | undefined;
}

const bookmarkIntervalMs = 10_000;

/** Open watches, so that closing the server can end them. */
export type WatchRegistry = Set<ServerResponse>;

export function serveWatch(
  state: ClusterState,
  request: WatchRequest,
  res: ServerResponse,
  open: WatchRegistry,
): void {
  const { def, namespace, query, tableVersion } = request;
  const labels = parseLabelSelector(query.get('labelSelector'));
  const fields = parseFieldSelector(query.get('fieldSelector'), def.kind);
  const selected = (obj: KubeObject | undefined) =>
    obj !== undefined &&
    (!def.namespaced || namespace === undefined || obj.metadata.namespace === namespace) &&
    labels(obj.metadata.labels) &&
    fields(obj);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  let headersSent = false;
  const send = (type: string, obj: KubeObject) => {
    let object: unknown = obj;
    if (tableVersion) {
      object = toTable(def.kind, [obj], {
        tableVersion,
        includeObject: query.get('includeObject') ?? 'Metadata',
        resourceVersion: obj.metadata.resourceVersion ?? '',
        headers: !headersSent,
      });
      headersSent = true;
    }
    res.write(`${JSON.stringify({ type, object })}\n`);
  };

  const onEvent = (event: StoreEvent) => {
    if (event.resource !== def.resource) return;
    const now = event.type !== 'DELETED' && selected(event.object);
    const before = event.type === 'DELETED' ? selected(event.object) : selected(event.previous);
    if (event.type === 'ADDED' && now) send('ADDED', event.object);
    else if (event.type === 'DELETED' && before) send('DELETED', event.object);
    else if (event.type === 'MODIFIED') {
      if (now && before) send('MODIFIED', event.object);
      else if (now) send('ADDED', event.object);
      else if (before) send('DELETED', event.object);
    }
  };

  const from = query.get('resourceVersion') ?? '';
  if (from === '' || from === '0') {
    for (const obj of state.store.list(def, def.namespaced ? namespace : undefined))
      if (selected(obj)) send('ADDED', obj);
  } else {
    const rv = Number(from);
    if (!Number.isInteger(rv) || rv < state.store.oldestResumable) {
      const status = gone(`too old resource version: ${from} (${state.store.oldestResumable})`).toStatus();
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    for (const event of state.store.eventsSince(rv)) onEvent(event);
  }

  const unsubscribe = state.store.subscribe(onEvent);
  open.add(res);
  const timeoutSeconds = Number(query.get('timeoutSeconds') ?? 0);
  const timer = timeoutSeconds > 0 ? setTimeout(() => res.end(), timeoutSeconds * 1000) : undefined;
  // With allowWatchBookmarks, an idle watch still hears from the server (clients time out idle streams).
  const bookmarks = ['true', '1'].includes(query.get('allowWatchBookmarks') ?? '')
    ? setInterval(() => {
        const object = {
          kind: def.kind,
          apiVersion: apiVersionOf(def),
          metadata: { resourceVersion: String(state.store.resourceVersion) },
        };
        res.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
      }, bookmarkIntervalMs)
    : undefined;
  const finish = () => {
    unsubscribe();
    open.delete(res);
    if (timer) clearTimeout(timer);
    if (bookmarks) clearInterval(bookmarks);
  };
  res.on('close', finish);
  res.on('finish', finish);
}
