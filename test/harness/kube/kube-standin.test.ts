import * as k8s from '@kubernetes/client-node';
import { decodeHelmReleaseSecret, type KubeStandin, startKube } from './kube-standin.ts';
import type { Secret } from './types.ts';

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const strategicPatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

let kube: KubeStandin;
let apps: k8s.AppsV1Api;
let core: k8s.CoreV1Api;
let kc: k8s.KubeConfig;
const namespace = 'pachyderm';

beforeAll(async () => {
  kube = await startKube({ namespace, podStartMs: 60, podStopMs: 60 });
  await kube.seedPachyderm({
    pipelines: [
      { name: 'edges', replicas: 2 },
      { project: 'imgs', name: 'montage', replicas: 1, version: 3 },
    ],
    helm: {
      release: 'pachyderm',
      revision: 2,
      values: { deployTarget: 'LOCAL', pachd: { storage: { storageURL: 's3://pach-data' } } },
    },
  });
  kc = new k8s.KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  core = kc.makeApiClient(k8s.CoreV1Api);
});

afterAll(async () => {
  await kube?.close();
});

async function apiError(
  promise: Promise<unknown>,
): Promise<{ code: number; body: { reason?: string; message?: string; kind?: string } }> {
  try {
    await promise;
  } catch (error) {
    const e = error as k8s.ApiException<string>;
    return { code: e.code, body: typeof e.body === 'string' ? JSON.parse(e.body) : e.body };
  }
  throw new Error('expected the call to fail');
}

test('reads the seeded deployments, worker RCs and Helm release through client-node', async () => {
  const pachd = await apps.readNamespacedDeployment({ name: 'pachd', namespace });
  expect(pachd.metadata?.labels).toMatchObject({ app: 'pachd', suite: 'pachyderm' });
  expect(pachd.spec?.replicas).toBe(1);
  expect(pachd.status?.readyReplicas).toBe(1);
  expect(pachd.spec?.template.spec?.containers[0].image).toBe('pachyderm/pachd:2.11.6');

  const rcs = await core.listNamespacedReplicationController({
    namespace,
    labelSelector: 'suite=pachyderm,component=worker',
  });
  expect(rcs.items.map((rc) => rc.metadata?.name).sort()).toEqual(['default-edges-v1', 'imgs-montage-v3']);
  expect(rcs.items.find((rc) => rc.metadata?.name === 'imgs-montage-v3')?.metadata?.labels).toMatchObject({
    app: 'pipeline',
    pipelineName: 'montage',
    pipelineProject: 'imgs',
    pipelineVersion: '3',
  });
  const pods = await core.listNamespacedPod({ namespace, labelSelector: 'pipelineName=edges' });
  expect(pods.items).toHaveLength(2);
  expect(pods.items[0].metadata?.name).toMatch(/^default-edges-v1-[a-z0-9]{5}$/);

  const secrets = await core.listNamespacedSecret({ namespace, labelSelector: 'owner=helm,name=pachyderm' });
  const byStatus = Object.fromEntries(secrets.items.map((s) => [s.metadata?.labels?.status, s]));
  expect(Object.keys(byStatus).sort()).toEqual(['deployed', 'superseded']);
  expect(byStatus.deployed.metadata?.name).toBe('sh.helm.release.v1.pachyderm.v2');
  expect(byStatus.deployed.type).toBe('helm.sh/release.v1');
  const release = decodeHelmReleaseSecret(byStatus.deployed as Secret) as {
    version: number;
    config: unknown;
    chart: { metadata: { name: string } };
  };
  expect(release.version).toBe(2);
  expect(release.chart.metadata.name).toBe('pachyderm');
  expect(release.config).toEqual({
    deployTarget: 'LOCAL',
    pachd: { storage: { storageURL: 's3://pach-data' } },
  });
});

test('scales through the scale subresource and watches pods terminate and start', async () => {
  const list = await core.listNamespacedPod({ namespace, labelSelector: 'app=pachw' });
  const events: string[] = [];
  const watch = new k8s.Watch(kc);
  const abort = await watch.watch(
    `/api/v1/namespaces/${namespace}/pods`,
    { labelSelector: 'app=pachw', resourceVersion: list.metadata?.resourceVersion },
    (type, pod: k8s.V1Pod) =>
      events.push(`${type} ${pod.metadata?.deletionTimestamp ? 'terminating' : pod.status?.phase}`),
    () => undefined,
  );
  const scale = await apps.patchNamespacedDeploymentScale(
    { name: 'pachw', namespace, body: { spec: { replicas: 0 } } },
    mergePatch,
  );
  expect(scale.kind).toBe('Scale');
  expect(scale.spec?.replicas).toBe(0);
  await kube.waitFor(() => kube.listPods('app=pachw').length === 0, 'pachw pods gone');
  await apps.replaceNamespacedDeploymentScale({
    name: 'pachw',
    namespace,
    body: { metadata: { name: 'pachw' }, spec: { replicas: 1 } },
  });
  await kube.waitForSettled();
  await kube.waitFor(() => events.includes('MODIFIED Running'), 'the watch to see pachw running');
  abort.abort();
  expect(events.slice(0, 3)).toEqual(['MODIFIED terminating', 'DELETED terminating', 'ADDED Pending']);
  const pachw = await apps.readNamespacedDeployment({ name: 'pachw', namespace });
  expect(pachw.status).toMatchObject({
    replicas: 1,
    readyReplicas: 1,
    availableReplicas: 1,
    observedGeneration: pachw.metadata?.generation,
  });
  expect(pachw.metadata?.generation).toBe(3);
});

test('answers with Status objects for 404, 409, 422, 400 and 415', async () => {
  const missing = await apiError(apps.readNamespacedDeployment({ name: 'nope', namespace }));
  expect(missing).toMatchObject({
    code: 404,
    body: { kind: 'Status', reason: 'NotFound', message: 'deployments.apps "nope" not found' },
  });

  const cm = await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: 'probe' }, data: { a: '1' } },
  });
  const again = await apiError(
    core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'probe' } } }),
  );
  expect(again).toMatchObject({ code: 409, body: { reason: 'AlreadyExists' } });
  await core.replaceNamespacedConfigMap({ name: 'probe', namespace, body: { ...cm, data: { a: '2' } } });
  const stale = await apiError(
    core.replaceNamespacedConfigMap({ name: 'probe', namespace, body: { ...cm, data: { a: '3' } } }),
  );
  expect(stale).toMatchObject({ code: 409, body: { reason: 'Conflict' } });

  const negative = await apiError(
    apps.patchNamespacedDeploymentScale(
      { name: 'pachd', namespace, body: { spec: { replicas: -1 } } },
      mergePatch,
    ),
  );
  expect(negative).toMatchObject({ code: 422, body: { reason: 'Invalid' } });
  // client-node's default patch type is JSON patch, which needs an array.
  const defaultType = await apiError(
    apps.patchNamespacedDeploymentScale({ name: 'pachd', namespace, body: { spec: { replicas: 0 } } }),
  );
  expect(defaultType.code).toBe(400);
  const wrongType = await fetch(`${kube.url}/apis/apps/v1/namespaces/${namespace}/deployments/pachd`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json' },
    body: '{"spec":{"replicas":0}}',
  });
  expect(wrongType.status).toBe(415);
  expect(await wrongType.json()).toMatchObject({ kind: 'Status', reason: 'UnsupportedMediaType' });
  expect(kube.getDeployment('pachd')?.spec.replicas).toBe(1);
});

test('rolls pachd on a template change and models the pause on the worker RCs', async () => {
  const before = kube.listPods('app=pachd').map((p) => p.metadata.name);
  await core.createNamespacedConfigMap({
    namespace,
    body: { metadata: { name: 'pachd-config' }, data: { MODE: 'paused' } },
  });
  const restartedAt = new Date().toISOString();
  const template = {
    spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': restartedAt } } } },
  };
  await apps.patchNamespacedDeployment({ name: 'pachd', namespace, body: template }, strategicPatch);
  // maxSurge 25% of 1 rounds up: the new pod starts before the old one goes.
  await kube.waitFor(() => kube.listPods('app=pachd').length === 2, 'a surge pod');
  await kube.waitForSettled();
  const after = kube.listPods('app=pachd');
  expect(after).toHaveLength(1);
  expect(before).not.toContain(after[0].metadata.name);
  expect(after[0].metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBe(restartedAt);
  expect(kube.pachdModeOf(after[0])).toBe('paused');
  expect(kube.getReplicationController('default-edges-v1')?.spec.replicas).toBe(0);
  expect(kube.getReplicationController('imgs-montage-v3')?.spec.replicas).toBe(0);
  expect(kube.getDeployment('pachw')?.spec.replicas).toBe(1);

  await core.patchNamespacedConfigMap(
    { name: 'pachd-config', namespace, body: { data: { MODE: 'full' } } },
    mergePatch,
  );
  template.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'] = new Date(
    Date.now() + 1000,
  ).toISOString();
  await apps.patchNamespacedDeployment({ name: 'pachd', namespace, body: template }, mergePatch);
  await kube.waitFor(
    () => kube.getReplicationController('default-edges-v1')?.spec.replicas === 2,
    'workers restored',
  );
  await kube.waitForSettled();
  expect(kube.getReplicationController('imgs-montage-v3')?.spec.replicas).toBe(1);
  expect(kube.listPods('pipelineName=edges')).toHaveLength(2);
});

test('injects failures, holds pods in Terminating and logs requests', async () => {
  kube.failRequests({ method: 'GET', pathRegex: /\/deployments\/pachd$/, status: 503 });
  expect((await apiError(apps.readNamespacedDeployment({ name: 'pachd', namespace }))).code).toBe(503);
  expect((await apps.readNamespacedDeployment({ name: 'pachd', namespace })).metadata?.name).toBe('pachd');

  const release = kube.stuckPods('app=console');
  await apps.patchNamespacedDeploymentScale(
    { name: 'console', namespace, body: { spec: { replicas: 0 } } },
    mergePatch,
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  const stuck = kube.listPods('app=console');
  expect(stuck).toHaveLength(1);
  expect(stuck[0].metadata.deletionTimestamp).toBeDefined();
  release();
  await kube.waitFor(() => kube.listPods('app=console').length === 0, 'console pod gone after release');

  expect(kube.requests).toContainEqual(
    expect.objectContaining({
      method: 'PATCH',
      verb: 'patch',
      apiGroup: 'apps',
      resource: 'deployments',
      subresource: 'scale',
      name: 'console',
      contentType: 'application/merge-patch+json',
      status: 200,
    }),
  );
  expect(kube.requests).toContainEqual(
    expect.objectContaining({
      verb: 'watch',
      resource: 'pods',
      query: expect.objectContaining({ labelSelector: 'app=pachw' }),
    }),
  );
});

test('pages lists, filters by field, rejects bad selectors and expired watch versions', async () => {
  const base = `${kube.url}/api/v1/namespaces/${namespace}/pods`;
  const first = (await (await fetch(`${base}?limit=2`)).json()) as {
    items: unknown[];
    metadata: { continue?: string };
  };
  expect(first.items).toHaveLength(2);
  const rest = (await (await fetch(`${base}?limit=100&continue=${first.metadata.continue}`)).json()) as {
    items: unknown[];
  };
  expect(first.items.length + rest.items.length).toBe(kube.listPods().length);
  const name = kube.listPods('app=pachd')[0].metadata.name;
  const byName = (await (await fetch(`${base}?fieldSelector=metadata.name%3D${name}`)).json()) as {
    items: unknown[];
  };
  expect(byName.items).toHaveLength(1);
  expect((await fetch(`${base}?labelSelector=a%3D%3D%3Db`)).status).toBe(400);
  expect((await fetch(`${base}?fieldSelector=spec.bogus%3Dx`)).status).toBe(400);
  const expired = await (await fetch(`${base}?watch=true&resourceVersion=1`)).text();
  expect(JSON.parse(expired)).toMatchObject({
    type: 'ERROR',
    object: { kind: 'Status', code: 410, reason: 'Expired' },
  });
});
