/**
 * "Is pachd running?" asked of a Kubernetes API server (the local stand-in, or a real one): the
 * Deployment `pachd` has ready replicas, ConfigMap `pachd-config` does not say MODE=paused, and at
 * least one app=pachd pod is not terminating.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface KubeProbeOptions {
  /** API server base URL, e.g. http://127.0.0.1:6443. */
  url: string;
  namespace: string;
  /** Bearer token, if the server wants one. */
  token?: string;
  /** PEM CA for an https server; without it the certificate is not verified. */
  ca?: string;
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** A function answering whether the simulated pachd runs; rejects when the API server is unreachable or errs. */
export function kubeRunningProbe(opts: KubeProbeOptions): () => Promise<boolean> {
  const ns = encodeURIComponent(opts.namespace);
  return async () => {
    const [deployment, config, pods] = await Promise.all([
      getJson(opts, `/apis/apps/v1/namespaces/${ns}/deployments/pachd`),
      getJson(opts, `/api/v1/namespaces/${ns}/configmaps/pachd-config`),
      getJson(opts, `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent('app=pachd')}`),
    ]);
    if (deployment.status === 404) return false;
    expectOk(deployment, 'deployment pachd');
    const ready = Number(
      (deployment.body.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0,
    );
    if (ready <= 0) return false;
    if (config.status !== 404) {
      expectOk(config, 'configmap pachd-config');
      if ((config.body.data as Record<string, string> | undefined)?.MODE === 'paused') return false;
    }
    expectOk(pods, 'pods app=pachd');
    return ((pods.body.items ?? []) as PodLike[]).some(isLivePod);
  };
}

interface PodLike {
  metadata?: { deletionTimestamp?: string | null };
  status?: { phase?: string };
}

function isLivePod(pod: PodLike): boolean {
  if (pod.metadata?.deletionTimestamp) return false;
  return pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

function expectOk(reply: Reply, what: string): void {
  if (reply.status < 200 || reply.status >= 300) {
    throw new Error(`GET ${what}: HTTP ${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`);
  }
}

function getJson(opts: KubeProbeOptions, path: string): Promise<Reply> {
  const url = new URL(path, opts.url);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { headers, ca: opts.ca, rejectUnauthorized: opts.ca !== undefined, timeout: 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({
              status: res.statusCode ?? 0,
              body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
            });
          } catch {
            resolve({ status: res.statusCode ?? 0, body: { raw: text } });
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url.href} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
