/** The pachctl stand-in's way to the Kubernetes stand-in: the KUBECONFIG's current context, plain fetch. */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

interface Named<T> {
  name: string;
  [key: string]: T | string;
}

interface KubeconfigFile {
  'current-context'?: string;
  clusters?: Named<{ server?: string }>[];
  contexts?: Named<{ cluster?: string; user?: string; namespace?: string }>[];
  users?: Named<{ token?: string }>[];
}

export interface KubeTarget {
  server: string;
  namespace: string;
  token?: string;
}

/** An error answered by the API server, with its Status message. */
export class KubeHttpError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function pick<T>(list: Named<T>[] | undefined, name: string | undefined, field: string): T | undefined {
  return list?.find((entry) => entry.name === name)?.[field] as T | undefined;
}

/** Reads the first file of $KUBECONFIG (or ~/.kube/config); PACHCTL_STANDIN_NAMESPACE overrides the namespace. */
export function loadKubeTarget(env: NodeJS.ProcessEnv = process.env): KubeTarget {
  const path = (env.KUBECONFIG ?? '').split(':').find((p) => p !== '') ?? join(homedir(), '.kube', 'config');
  let config: KubeconfigFile;
  try {
    config = parse(readFileSync(path, 'utf8')) as KubeconfigFile;
  } catch (error) {
    throw new Error(`could not read kubeconfig ${path}: ${(error as Error).message}`);
  }
  const contextName = config['current-context'];
  const context = pick<{ cluster?: string; user?: string; namespace?: string }>(
    config.contexts,
    contextName,
    'context',
  );
  if (!context) throw new Error(`kubeconfig ${path} has no current context`);
  const server = pick<{ server?: string }>(config.clusters, context.cluster, 'cluster')?.server;
  if (!server) throw new Error(`kubeconfig ${path}: cluster ${context.cluster} has no server`);
  if (!server.startsWith('http://'))
    throw new Error(`the pachctl stand-in only talks to http:// API servers, not ${server}`);
  const token = pick<{ token?: string }>(config.users, context.user, 'user')?.token;
  const namespace = env.PACHCTL_STANDIN_NAMESPACE || context.namespace || 'default';
  return { server: server.replace(/\/$/, ''), namespace, token };
}

export interface KubeRest {
  readonly namespace: string;
  get<T>(path: string): Promise<T>;
  /** undefined on 404. */
  find<T>(path: string): Promise<T | undefined>;
  put<T>(path: string, body: unknown): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
}

export function createKubeRest(target: KubeTarget): KubeRest {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    // What pachd does through its own ServiceAccount: an RBAC check of the bot's calls leaves these out.
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'pachctl-standin' };
    if (target.token) headers.Authorization = `Bearer ${target.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${target.server}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new KubeHttpError(
        0,
        `dial ${target.server}: ${(error as Error).cause ?? (error as Error).message}`,
      );
    }
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        // not a Status: keep the text
      }
      throw new KubeHttpError(response.status, message);
    }
    return JSON.parse(text) as T;
  };
  const ns = encodeURIComponent(target.namespace);
  const prefix = (path: string) => path.replace('{ns}', ns);
  return {
    namespace: target.namespace,
    get: (path) => call('GET', prefix(path)),
    find: async (path) => {
      try {
        return await call('GET', prefix(path));
      } catch (error) {
        if (error instanceof KubeHttpError && error.status === 404) return undefined;
        throw error;
      }
    },
    put: (path, body) => call('PUT', prefix(path), body),
    post: (path, body) => call('POST', prefix(path), body),
  };
}
