/**
 * What `helm upgrade --install` of the pachyderm chart does to the Kubernetes stand-in: the release
 * secrets (Helm 3's storage, as test/harness/kube/helm-release.ts encodes them) and Deployments pachd
 * and pachw brought to the chart's replicas and image, all through the REST API.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { decodeHelmReleaseSecret, helmReleaseObject } from '../kube/helm-release.ts';
import type { Secret, Workload } from '../kube/types.ts';
import { createKubeRest, type KubeRest, type KubeTarget } from './kube-rest.ts';

type Tree = Record<string, unknown>;
interface Named {
  name: string;
  [key: string]: unknown;
}

/** An error helm prints after `Error: ` (and exits 1). */
export class HelmError extends Error {}

/** The kubeconfig's cluster, user and namespace for `--kube-context` (or its current context). */
export function loadHelmTarget(kubeconfig: string | undefined, context: string | undefined): KubeTarget {
  const path =
    kubeconfig ||
    (process.env.KUBECONFIG ?? '').split(':').find((p) => p) ||
    join(homedir(), '.kube', 'config');
  let config: Tree;
  try {
    config = parse(readFileSync(path, 'utf8')) as Tree;
  } catch (error) {
    throw new HelmError(`Kubernetes cluster unreachable: ${(error as Error).message}`);
  }
  const pick = (list: unknown, name: unknown, field: string) =>
    ((list as Named[] | undefined)?.find((e) => e.name === name)?.[field] ?? undefined) as Tree | undefined;
  const name = context || config['current-context'];
  const ctx = pick(config.contexts, name, 'context');
  if (!ctx) throw new HelmError(`Kubernetes cluster unreachable: context "${name}" does not exist`);
  const server = pick(config.clusters, ctx.cluster, 'cluster')?.server as string | undefined;
  if (!server?.startsWith('http://'))
    throw new HelmError(`Kubernetes cluster unreachable: the helm stand-in only talks to http:// servers`);
  const token = pick(config.users, ctx.user, 'user')?.token as string | undefined;
  return { server: server.replace(/\/$/, ''), namespace: (ctx.namespace as string) || 'default', token };
}

export interface UpgradeRequest {
  target: KubeTarget;
  release: string;
  chartVersion: string;
  values: Tree;
  /** --install: a release that does not exist yet is installed (else refused). */
  install: boolean;
  wait: boolean;
  timeoutMs: number;
}

export interface UpgradeOutcome {
  installed: boolean;
  revision: number;
  notes: string;
}

interface Revision {
  secret: Secret;
  release: Tree & { version: number; info: Tree & { status: string; first_deployed?: string } };
}

const secretsPath = '/api/v1/namespaces/{ns}/secrets';

function encodeRelease(release: Tree): string {
  const payload = gzipSync(Buffer.from(JSON.stringify(release)), { level: 9 }).toString('base64');
  return Buffer.from(payload).toString('base64');
}

async function listRevisions(kube: KubeRest, release: string): Promise<Revision[]> {
  const selector = encodeURIComponent(`owner=helm,name=${release}`);
  const list = await kube.get<{ items: Secret[] }>(`${secretsPath}?labelSelector=${selector}`);
  return list.items
    .map((secret) => ({ secret, release: decodeHelmReleaseSecret(secret) as Revision['release'] }))
    .sort((a, b) => a.release.version - b.release.version);
}

/** Rewrites a stored revision's status (label and release JSON), as helm's storage driver does. */
async function setStatus(kube: KubeRest, rev: Revision, status: string, description?: string): Promise<void> {
  rev.release.info = { ...rev.release.info, status, ...(description ? { description } : {}) };
  const labels = { ...rev.secret.metadata.labels, status, modifiedAt: String(Math.floor(Date.now() / 1000)) };
  const body = {
    ...rev.secret,
    metadata: { ...rev.secret.metadata, labels },
    data: { release: encodeRelease(rev.release) },
  };
  rev.secret = await kube.put<Secret>(`${secretsPath}/${rev.secret.metadata.name}`, body);
}

async function createRevision(
  kube: KubeRest,
  request: UpgradeRequest,
  history: Revision[],
): Promise<Revision> {
  const revision = (history.at(-1)?.release.version ?? 0) + 1;
  const tag = ((request.values.pachd as Tree | undefined)?.image as Tree | undefined)?.tag;
  const appVersion = typeof tag === 'string' && tag !== '' ? tag : request.chartVersion;
  const now = new Date();
  const first = history[0]?.release.info.first_deployed;
  const deployedAt = Array.from({ length: revision }, (_, i) => (i === 0 && first ? new Date(first) : now));
  const status = history.length === 0 ? 'pending-install' : 'pending-upgrade';
  const seed = {
    release: request.release,
    values: request.values,
    chartVersion: request.chartVersion,
    appVersion,
  };
  const release = helmReleaseObject(
    seed,
    kube.namespace,
    revision,
    status,
    deployedAt,
  ) as Revision['release'];
  const secret: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `sh.helm.release.v1.${request.release}.v${revision}`,
      labels: {
        createdAt: String(Math.floor(now.getTime() / 1000)),
        name: request.release,
        owner: 'helm',
        status,
        version: String(revision),
      },
    },
    type: 'helm.sh/release.v1',
    data: { release: encodeRelease(release) },
  };
  const created = await kube.post<Secret>(secretsPath, secret).catch((error: Error) => {
    throw new HelmError(`create: failed to create: ${error.message}`);
  });
  return { secret: created, release };
}

function pachdDeployment(
  name: 'pachd' | 'pachw',
  replicas: number,
  image: string,
  release: string,
  ns: string,
): Workload {
  const labels = { app: name, suite: 'pachyderm' };
  const env =
    name === 'pachd'
      ? [
          {
            name: 'MODE',
            valueFrom: { configMapKeyRef: { name: 'pachd-config', key: 'MODE', optional: true } },
          },
          { name: 'UNPAUSED_MODE', value: 'full' },
        ]
      : [];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      labels: { ...labels, 'app.kubernetes.io/managed-by': 'Helm' },
      annotations: { 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': ns },
    },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      strategy: {},
      template: {
        metadata: { labels, annotations: { 'checksum/helm-values': randomBytes(32).toString('hex') } },
        spec: {
          containers: [
            {
              name,
              image,
              command: ['/pachd'],
              args: ['--mode', name === 'pachd' ? '$(MODE)' : 'pachw'],
              env,
              ports: [{ containerPort: 1650, name: 'api-grpc-port', protocol: 'TCP' }],
            },
          ],
        },
      },
    },
  };
}

/** Creates the Deployment, or sets its replicas and image and rolls its pods (the chart's UPGRADE_NO_OP). */
async function applyDeployment(kube: KubeRest, wanted: Workload): Promise<void> {
  const path = `/apis/apps/v1/namespaces/{ns}/deployments/${wanted.metadata.name}`;
  for (let attempt = 0; ; attempt++) {
    const current = await kube.find<Workload>(path);
    if (!current) {
      await kube.post('/apis/apps/v1/namespaces/{ns}/deployments', wanted);
      return;
    }
    current.spec.replicas = wanted.spec.replicas;
    const template = current.spec.template;
    template.metadata = {
      ...template.metadata,
      annotations: { ...template.metadata?.annotations, ...wanted.spec.template.metadata?.annotations },
    };
    const image = wanted.spec.template.spec?.containers[0].image;
    const containers = template.spec?.containers ?? [];
    const main = containers.find((c) => c.name === wanted.metadata.name) ?? containers[0];
    if (main) main.image = image;
    try {
      await kube.put(path, current);
      return;
    } catch (error) {
      if ((error as { status?: number }).status !== 409 || attempt >= 4) throw error;
    }
  }
}

function rolledOut(d: Workload): boolean {
  const desired = d.spec.replicas ?? 1;
  const s = (d.status ?? {}) as {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
  };
  return (
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 1) &&
    (s.updatedReplicas ?? 0) === desired &&
    (s.readyReplicas ?? 0) === desired &&
    (s.replicas ?? 0) === desired
  );
}

async function waitForRollout(kube: KubeRest, names: string[], deadline: number): Promise<boolean> {
  for (;;) {
    const deployments = await Promise.all(
      names.map((n) => kube.get<Workload>(`/apis/apps/v1/namespaces/{ns}/deployments/${n}`)),
    );
    if (deployments.every(rolledOut)) return true;
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : fallback;
}

/** Stores revision N+1, brings pachd and pachw to the values' replicas and image, waits if asked. */
export async function upgradeInstall(request: UpgradeRequest): Promise<UpgradeOutcome> {
  const deadline = Date.now() + request.timeoutMs;
  const kube = createKubeRest(request.target);
  const history = await listRevisions(kube, request.release);
  if (!request.install && !history.some((h) => h.release.info.status === 'deployed'))
    throw new HelmError(`UPGRADE FAILED: "${request.release}" has no deployed releases`);
  if (history.at(-1)?.release.info.status.startsWith('pending-'))
    throw new HelmError('UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress');
  const rev = await createRevision(kube, request, history);
  const values = request.values;
  const pachd = (values.pachd ?? {}) as Tree;
  const image = `${((pachd.image as Tree | undefined)?.repository as string | undefined) || 'pachyderm/pachd'}:${(rev.release.chart as { metadata: { appVersion: string } }).metadata.appVersion}`;
  const ns = kube.namespace;
  await applyDeployment(
    kube,
    pachdDeployment('pachd', numberOr(pachd.replicas, 1), image, request.release, ns),
  );
  const pachwReplicas = numberOr((values.pachw as Tree | undefined)?.minReplicas, 1);
  await applyDeployment(kube, pachdDeployment('pachw', pachwReplicas, image, request.release, ns));
  if (request.wait && !(await waitForRollout(kube, ['pachd', 'pachw'], deadline))) {
    const verb = history.length === 0 ? 'Release' : 'Upgrade';
    await setStatus(kube, rev, 'failed', `${verb} "${request.release}" failed: context deadline exceeded`);
    throw new HelmError(`${history.length === 0 ? '' : 'UPGRADE FAILED: '}context deadline exceeded`);
  }
  for (const old of history.filter((h) => h.release.info.status === 'deployed'))
    await setStatus(kube, old, 'superseded');
  await setStatus(kube, rev, 'deployed', history.length === 0 ? 'Install complete' : 'Upgrade complete');
  return {
    installed: history.length === 0,
    revision: rev.release.version,
    notes: String(rev.release.info.notes ?? ''),
  };
}
