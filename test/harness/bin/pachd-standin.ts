/**
 * What pachd's enterprise and admin servers do (Pachyderm 2.11 src/server/enterprise/server/api_server.go,
 * src/server/admin/server/api_server.go), done by the pachctl stand-in through the Kubernetes API.
 */
import type { KubeRest } from './kube-rest.ts';

const updatedAtField = 'pachyderm.com/updatedAt';
const restartedAtField = 'kubectl.kubernetes.io/restartedAt';
const configMapPath = '/api/v1/namespaces/{ns}/configmaps';
const deploymentPath = '/apis/apps/v1/namespaces/{ns}/deployments/pachd';

interface Meta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
}

interface ConfigMap {
  apiVersion?: string;
  kind?: string;
  metadata: Meta;
  data?: Record<string, string>;
}

export interface Pod {
  metadata: Meta;
  status?: { conditions?: { type: string; status: string }[] };
}

interface Deployment {
  metadata: Meta;
  spec: {
    template: {
      metadata?: { annotations?: Record<string, string> };
      spec?: { containers?: { name: string; image?: string }[] };
    };
  };
}

export type PauseStatus = 'unpaused' | 'partially-paused' | 'paused';

/** Go's time.RFC3339Nano in UTC (trailing zeros of the fraction trimmed), with sub-millisecond digits. */
export function rfc3339Nano(date = new Date()): string {
  const micro = String(Number(process.hrtime.bigint() % 1_000_000n)).padStart(6, '0');
  const fraction = `${String(date.getUTCMilliseconds()).padStart(3, '0')}${micro}`.replace(/0+$/, '');
  return `${date.toISOString().slice(0, 19)}${fraction ? `.${fraction}` : ''}Z`;
}

/** Nanoseconds since the epoch of an RFC 3339 time (any fraction length, any offset); throws when unparseable. */
export function parseRfc3339(text: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  const seconds = m ? Date.parse(`${m[1]}${m[3]}`) : Number.NaN;
  if (!m || Number.isNaN(seconds)) throw new Error(`could not parse time ${text}`);
  return BigInt(seconds) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** A "connection" to pachd: some pachd pod must be Ready and not terminating. */
export async function connectedPachd(kube: KubeRest): Promise<Pod | undefined> {
  const pods = await kube.get<{ items: Pod[] }>('/api/v1/namespaces/{ns}/pods?labelSelector=app%3Dpachd');
  return pods.items.find(
    (p) =>
      !p.metadata.deletionTimestamp &&
      (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
  );
}

async function restartPachd(kube: KubeRest): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const d = await kube.get<Deployment>(deploymentPath);
    d.spec.template.metadata ??= {};
    d.spec.template.metadata.annotations = {
      ...d.spec.template.metadata.annotations,
      [restartedAtField]: rfc3339Nano(),
    };
    try {
      await kube.put(deploymentPath, d);
      return;
    } catch (error) {
      if ((error as { status?: number }).status !== 409 || attempt >= 4) {
        throw new Error(`could not updated pachd deployment: ${(error as Error).message}`);
      }
    }
  }
}

/** rollPachd: write pachd-config's MODE (no-op when already so), then restart pachd's pods. */
export async function rollPachd(kube: KubeRest, paused: boolean): Promise<void> {
  const cm = await kube.find<ConfigMap>(`${configMapPath}/pachd-config`);
  const now = rfc3339Nano();
  if (!cm) {
    if (!paused) return;
    const created: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'pachd-config', namespace: kube.namespace, annotations: { [updatedAtField]: now } },
      data: { MODE: 'paused' },
    };
    await kube.post(configMapPath, created).catch((error: Error) => {
      throw new Error(`could not create configmap: ${error.message}`);
    });
  } else {
    const isPaused = cm.data?.MODE === 'paused';
    if (isPaused === paused) return;
    cm.data = { ...cm.data, MODE: paused ? 'paused' : 'full' };
    cm.metadata.annotations = { ...cm.metadata.annotations, [updatedAtField]: now };
    await kube.put(`${configMapPath}/pachd-config`, cm).catch((error: Error) => {
      throw new Error(`could not update configmap: ${error.message}`);
    });
  }
  await restartPachd(kube);
}

/** PauseStatus: compares each pachd pod's restartedAt with pachd-config's updatedAt. */
export async function pauseStatus(kube: KubeRest): Promise<PauseStatus> {
  const cm = await kube.find<ConfigMap>(`${configMapPath}/pachd-config`);
  const updatedAt = cm?.metadata.annotations?.[updatedAtField];
  if (!cm || !updatedAt) return 'unpaused';
  const pods = await kube.get<{ items: Pod[] }>('/api/v1/namespaces/{ns}/pods?labelSelector=app%3Dpachd');
  let sawBefore = false;
  let sawAfter = false;
  for (const pod of pods.items) {
    const restartedAt = pod.metadata.annotations?.[restartedAtField];
    if (!restartedAt || parseRfc3339(restartedAt) < parseRfc3339(updatedAt)) sawBefore = true;
    else sawAfter = true;
  }
  const paused = cm.data?.MODE === 'paused';
  if (sawBefore && sawAfter) return 'partially-paused';
  if (sawBefore) return paused ? 'unpaused' : 'paused';
  if (sawAfter) return paused ? 'paused' : 'unpaused';
  throw new Error('no paused or unpaused pachds found');
}

/** The mode the pod pachctl is "connected" to runs in, by the same timestamps. */
async function podIsPaused(kube: KubeRest, pod: Pod): Promise<boolean> {
  const cm = await kube.find<ConfigMap>(`${configMapPath}/pachd-config`);
  const updatedAt = cm?.metadata.annotations?.[updatedAtField];
  const modePaused = cm?.data?.MODE === 'paused';
  if (!cm || !updatedAt) return modePaused;
  const restartedAt = pod.metadata.annotations?.[restartedAtField];
  const after = restartedAt !== undefined && parseRfc3339(restartedAt) >= parseRfc3339(updatedAt);
  return after ? modePaused : !modePaused;
}

export async function pachdVersion(kube: KubeRest): Promise<string> {
  const d = await kube.get<Deployment>(deploymentPath);
  const image =
    d.spec.template.spec?.containers?.find((c) => c.name === 'pachd')?.image ??
    d.spec.template.spec?.containers?.[0]?.image ??
    '';
  const tag = image.includes(':') ? image.slice(image.lastIndexOf(':') + 1) : '';
  return tag.replace(/^v/, '') || '0.0.0';
}

/** admin.ClusterInfo as pachd answers InspectCluster (zero values left out, as protojson does). */
export async function clusterInfo(
  kube: KubeRest,
  pod: Pod,
  version: string,
): Promise<Record<string, unknown>> {
  const d = await kube.get<Deployment>(deploymentPath);
  const secret = await kube.find<{ data?: Record<string, string> }>(
    '/api/v1/namespaces/{ns}/secrets/pachyderm-deployment-id-secret',
  );
  const deploymentId = Buffer.from(secret?.data?.CLUSTER_DEPLOYMENT_ID ?? '', 'base64').toString('utf8');
  const paused = await podIsPaused(kube, pod);
  return {
    id: (d.metadata.uid ?? '').replace(/-/g, ''),
    ...(deploymentId ? { deployment_id: deploymentId } : {}),
    warnings_ok: true,
    ...(paused ? { paused: true } : {}),
    web_resources: {
      archive_download_base_url: '/archive/',
      create_pipeline_request_json_schema_url: `https://raw.githubusercontent.com/pachyderm/pachyderm/v${version}/src/internal/jsonschema/pps_v2/CreatePipelineRequest.schema.json`,
    },
  };
}
