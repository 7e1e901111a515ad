/**
 * src/cluster/kube.ts (the Kubernetes calls), scale.ts (pause/resume by scaling) and helm-release.ts
 * against the Kubernetes stand-in (a real HTTP API server, reached through client-node and a kubeconfig).
 */
import { gzipSync } from 'node:zlib';
import * as k8s from '@kubernetes/client-node';
import { readHelmRelease } from '../../src/cluster/helm-release.ts';
import { createKubeApi, type KubeApi } from '../../src/cluster/kube.ts';
import {
  type ReplicaCounts,
  readReplicaCounts,
  scaleAll,
  WORKER_SELECTOR,
  waitForPachdReady,
  waitForPodsGone,
} from '../../src/cluster/scale.ts';
import { PachopsError } from '../../src/errors.ts';
import { helmReleaseObject } from '../harness/kube/helm-release.ts';
import { type KubeStandin, startKube } from '../harness/kube/kube-standin.ts';

const namespace = 'pachyderm';
const helmNamespace = 'pachyderm-helm';
const wait = { timeoutMs: 10_000, intervalMs: 25 };
const seededCounts: ReplicaCounts = {
  'Deployment/pachd': 2,
  'Deployment/pachw': 1,
  'ReplicationController/default-edges-v1': 2,
  'ReplicationController/imgs-montage-v3': 3,
  'ReplicationController/default-tweets-v1': 1,
};
const values = {
  deployTarget: 'CUSTOM',
  global: { postgresql: { postgresqlHost: 'pg.example', postgresqlSSL: 'require' } },
  pachd: { storage: { storageURL: 's3://pach-data?endpoint=minio:9000' } },
};

let kube: KubeStandin;
let api: KubeApi;
let core: k8s.CoreV1Api;

beforeAll(async () => {
  kube = await startKube({ namespace, podStartMs: 150, podStopMs: 150 });
  await kube.seedPachyderm({
    pachd: 2,
    pachw: 1,
    pipelines: [
      { name: 'edges', replicas: 2 },
      { project: 'imgs', name: 'montage', replicas: 3, version: 3 },
      { name: 'tweets', replicas: 1, spout: true },
    ],
  });
  // a neighbour whose workers must never be counted or scaled
  await kube.seedPachyderm({ namespace: 'neighbour', pipelines: [{ name: 'other', replicas: 2 }] });
  await kube.seedPachyderm({
    namespace: helmNamespace,
    helm: { release: 'pachyderm', revision: 3, values, chartVersion: '2.11.6', appVersion: '2.11.5' },
  });
  api = createKubeApi({ kubeconfig: kube.kubeconfigPath, namespace });
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  core = kc.makeApiClient(k8s.CoreV1Api);
});

afterAll(async () => {
  await kube?.close();
});

/** The stand-in's own view (not through src/): spec replicas of a workload. */
function specReplicas(key: string, ns = namespace): number | undefined {
  const [kind, name] = key.split('/') as [string, string];
  const workload =
    kind === 'Deployment' ? kube.getDeployment(name, ns) : kube.getReplicationController(name, ns);
  return workload?.spec.replicas;
}

/** Spec replicas of every Pachyderm workload in the namespace, by the stand-in's own records. */
const workloadSpecs = () =>
  Object.fromEntries(Object.keys(seededCounts).map((key) => [key, specReplicas(key)]));

const scalePatches = () =>
  kube.requests.filter((r) => r.method === 'PATCH' && r.subresource === 'scale').map((r) => r.name);

test('readReplicaCounts records pachd, pachw and every worker RC (spouts too), nothing else', async () => {
  expect(await readReplicaCounts(api)).toEqual(seededCounts);
});

test('scale down, wait for the pods to go; scale up, wait for pachd: the exact counts come back', async () => {
  const recorded = await readReplicaCounts(api);
  kube.requests.length = 0;

  const down = await scaleAll(api, recorded, 'down');
  expect(down).toHaveLength(5);
  expect(scalePatches()[0]).toBe('pachd'); // pachd stops first, so nothing schedules new work
  for (const key of Object.keys(recorded)) expect(specReplicas(key)).toBe(0);
  await waitForPodsGone(api, wait);
  // gone when it says so, not later
  expect(kube.listPods('app=pachd')).toEqual([]);
  expect(kube.listPods('app=pachw')).toEqual([]);
  expect(kube.listPods(WORKER_SELECTOR)).toEqual([]);
  // the rest of the release, and the neighbour, are untouched
  expect(kube.listPods('app=console')).toHaveLength(1);
  expect(kube.listPods('app=pg-bouncer')).toHaveLength(1);
  expect(specReplicas('ReplicationController/default-other-v1', 'neighbour')).toBe(2);
  expect(kube.listPods(WORKER_SELECTOR, 'neighbour')).toHaveLength(2);
  expect(await readReplicaCounts(api)).toEqual(
    Object.fromEntries(Object.keys(recorded).map((key) => [key, 0])),
  );

  kube.requests.length = 0;
  await scaleAll(api, recorded, 'up');
  const patches = scalePatches();
  expect(patches.at(-1)).toBe('pachd'); // pachd last: workers and pachw are there when it starts
  expect(kube.getDeployment('pachd')?.status?.readyReplicas ?? 0).toBe(0);
  await waitForPachdReady(api, recorded['Deployment/pachd']!, wait);
  expect(kube.getDeployment('pachd')?.status?.readyReplicas).toBe(2);
  expect(kube.listPods('app=pachd')).toHaveLength(2);
  await kube.waitForSettled();
  expect(await readReplicaCounts(api)).toEqual(seededCounts);
  for (const [key, count] of Object.entries(seededCounts)) expect(specReplicas(key)).toBe(count);
});

test('stuck pods make waitForPodsGone time out, naming what is left and its selector', async () => {
  const recorded = await readReplicaCounts(api);
  const release = kube.stuckPods('app=pachw');
  try {
    await scaleAll(api, recorded, 'down');
    const started = Date.now();
    const error = await waitForPodsGone(api, { timeoutMs: 800, intervalMs: 25 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(800);
    expect(error).toBeInstanceOf(PachopsError);
    expect((error as PachopsError).code).toBe('WAIT_TIMEOUT');
    expect((error as PachopsError).message).toContain('1 pod(s) with app=pachw');
    expect((error as PachopsError).message).not.toContain('app=pachd');
  } finally {
    release();
  }
  await waitForPodsGone(api, wait);
  await scaleAll(api, recorded, 'up');
  await waitForPachdReady(api, 2, wait);
  await kube.waitForSettled();
});

test('waitForPachdReady times out while pachd cannot become ready', async () => {
  await api.scale('Deployment', 'pachd', 0);
  await kube.waitFor(() => kube.listPods('app=pachd').length === 0, 'pachd pods gone');
  const error = await waitForPachdReady(api, 2, { timeoutMs: 300, intervalMs: 25 }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PachopsError);
  expect((error as PachopsError).message).toContain('pachd');
  await api.scale('Deployment', 'pachd', 2);
  await waitForPachdReady(api, 2, wait);
  await kube.waitForSettled();
});

describe('a 403 from the API', () => {
  /** Each call pachops makes, the RBAC verb and resource it needs (README: "Kubernetes access"). */
  const cases: {
    call: string;
    method: string;
    path: RegExp;
    verb: string;
    resource: string;
    run: () => Promise<unknown>;
  }[] = [
    {
      call: 'readReplicaCounts',
      method: 'GET',
      path: /\/deployments\/pachd$/,
      verb: 'get',
      resource: 'deployments',
      run: () => readReplicaCounts(api),
    },
    {
      call: 'readReplicaCounts (workers)',
      method: 'GET',
      path: /\/replicationcontrollers$/,
      verb: 'list',
      resource: 'replicationcontrollers',
      run: () => readReplicaCounts(api),
    },
    {
      call: 'scaleAll down',
      method: 'PATCH',
      path: /\/deployments\/pachd\/scale$/,
      verb: 'patch',
      resource: 'deployments/scale',
      run: () => scaleAll(api, seededCounts, 'down'),
    },
    {
      call: 'scale of a worker RC',
      method: 'PATCH',
      path: /\/replicationcontrollers\/default-edges-v1\/scale$/,
      verb: 'patch',
      resource: 'replicationcontrollers/scale',
      run: () => api.scale('ReplicationController', 'default-edges-v1', 2),
    },
    {
      call: 'waitForPodsGone',
      method: 'GET',
      path: /\/pods$/,
      verb: 'list',
      resource: 'pods',
      run: () => waitForPodsGone(api, wait),
    },
    {
      call: 'readConfigMap',
      method: 'GET',
      path: /\/configmaps\/pachd-config$/,
      verb: 'get',
      resource: 'configmaps',
      run: () => api.readConfigMap('pachd-config'),
    },
    {
      call: 'readHelmRelease',
      method: 'GET',
      path: /\/secrets$/,
      verb: 'list',
      resource: 'secrets',
      run: () => readHelmRelease(api, 'pachyderm'),
    },
  ];

  test.each(cases)('$call: permanent KUBE_FORBIDDEN naming "$verb" on "$resource"', async (c) => {
    const before = workloadSpecs();
    kube.failRequests({ method: c.method, pathRegex: c.path, status: 403 });
    const error = await c.run().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PachopsError);
    const e = error as PachopsError;
    expect(e.code).toBe('KUBE_FORBIDDEN');
    expect(e.permanent).toBe(true);
    expect(e.message).toContain(namespace);
    const said = `${e.message} ${e.hint ?? ''}`;
    expect(said).toMatch(new RegExp(`\\b${c.verb}\\b`));
    expect(said).toContain(c.resource);
    // nothing was changed on the way
    expect(workloadSpecs()).toEqual(before);
  });

  test('a 503 is not a permission problem: KUBE_UNAVAILABLE, retryable', async () => {
    kube.failRequests({ method: 'GET', pathRegex: /\/pods$/, status: 503 });
    const error = await waitForPodsGone(api, wait).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PachopsError);
    expect((error as PachopsError).code).toBe('KUBE_UNAVAILABLE');
    expect((error as PachopsError).permanent).toBe(false);
  });
});

describe('readHelmRelease', () => {
  let helmApi: KubeApi;

  /** A release secret exactly as Helm 3 writes it, with these values and chart versions. */
  function releaseSecret(
    release: string,
    revision: number,
    status: string,
    config: Record<string, unknown>,
    chartVersion: string,
  ): k8s.V1Secret {
    const times = Array.from({ length: revision }, (_, i) => new Date(Date.now() - (revision - i) * 60_000));
    const object = helmReleaseObject(
      { release, values: config, chartVersion, appVersion: chartVersion },
      helmNamespace,
      revision,
      status,
      times,
    );
    const payload = gzipSync(Buffer.from(JSON.stringify(object))).toString('base64');
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'helm.sh/release.v1',
      metadata: {
        name: `sh.helm.release.v1.${release}.v${revision}`,
        labels: { name: release, owner: 'helm', status, version: String(revision) },
      },
      data: { release: Buffer.from(payload).toString('base64') },
    };
  }

  beforeAll(() => {
    helmApi = createKubeApi({ kubeconfig: kube.kubeconfigPath, namespace: helmNamespace });
  });

  test('returns the deployed revision 3: its values, chart version and appVersion', async () => {
    expect(await readHelmRelease(helmApi, 'pachyderm')).toEqual({
      name: 'pachyderm',
      revision: 3,
      chart: 'pachyderm',
      chartVersion: '2.11.6',
      appVersion: '2.11.5',
      values,
    });
  });

  test('a failed or pending upgrade after it does not replace the deployed revision', async () => {
    await core.createNamespacedSecret({
      namespace: helmNamespace,
      body: releaseSecret('pachyderm', 4, 'failed', { broken: true }, '2.12.0'),
    });
    await core.createNamespacedSecret({
      namespace: helmNamespace,
      body: releaseSecret('pachyderm', 5, 'pending-upgrade', { half: true }, '2.12.1'),
    });
    expect(await readHelmRelease(helmApi, 'pachyderm')).toMatchObject({
      revision: 3,
      chartVersion: '2.11.6',
      values,
    });
  });

  test('the newest deployed revision wins by number (12 after 9), superseded ones are ignored', async () => {
    const history: [number, string][] = [
      [1, 'superseded'],
      [8, 'superseded'],
      [9, 'deployed'], // a stale label left by an interrupted upgrade: older than 12
      [10, 'superseded'],
      [11, 'superseded'],
      [12, 'deployed'],
      [13, 'superseded'],
    ];
    for (const [revision, status] of history) {
      await core.createNamespacedSecret({
        namespace: helmNamespace,
        body: releaseSecret('analytics', revision, status, { revision }, `2.${revision}.0`),
      });
    }
    expect(await readHelmRelease(helmApi, 'analytics')).toEqual({
      name: 'analytics',
      revision: 12,
      chart: 'pachyderm',
      chartVersion: '2.12.0',
      appVersion: '2.12.0',
      values: { revision: 12 },
    });
    // the other release in the namespace is unaffected
    expect((await readHelmRelease(helmApi, 'pachyderm'))?.revision).toBe(3);
  });

  test('a release that does not exist: undefined', async () => {
    expect(await readHelmRelease(helmApi, 'no-such-release')).toBeUndefined();
  });
});
