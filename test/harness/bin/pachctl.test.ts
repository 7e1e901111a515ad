/** The pachctl stand-in against the Kubernetes stand-in: pause and unpause as pachd does them. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { type KubeStandin, startKube } from '../kube/kube-standin.ts';

const pachctlPath = join(dirname(fileURLToPath(import.meta.url)), 'pachctl');
let kube: KubeStandin;

beforeAll(async () => {
  kube = await startKube({ podStartMs: 60, podStopMs: 60 });
  await kube.seedPachyderm({
    pipelines: [
      { name: 'edges', replicas: 2 },
      { project: 'imgs', name: 'montage', replicas: 1 },
    ],
  });
});

afterAll(async () => {
  await kube?.close();
});

/** Runs the stand-in as the bot does: the executable itself, with this Node first on PATH. */
function pachctl(args: string[], env: Record<string, string> = {}) {
  return execa(pachctlPath, args, {
    env: {
      KUBECONFIG: kube.kubeconfigPath,
      PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
      ...env,
    },
    reject: false,
    timeout: 20_000,
  });
}

async function waitForStatus(status: string): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < 50 && seen.at(-1) !== status; i++) {
    const { stdout, exitCode, stderr } = await pachctl(['enterprise', 'pause-status']);
    if (exitCode !== 0) throw new Error(stderr);
    seen.push(stdout);
  }
  return seen;
}

function workerReplicas(): [number | undefined, number | undefined] {
  return [
    kube.getReplicationController('default-edges-v1')?.spec.replicas,
    kube.getReplicationController('imgs-montage-v1')?.spec.replicas,
  ];
}

test('version and inspect cluster print what pachctl 2.11 prints', async () => {
  const version = await pachctl(['version']);
  expect(version.exitCode).toBe(0);
  expect(version.stdout.split('\n').map((l) => l.trimEnd())).toEqual([
    'COMPONENT           VERSION',
    'pachctl             2.11.6',
    'pachd               2.11.6',
  ]);
  expect((await pachctl(['version', '--client-only'])).stdout).toBe('2.11.6');
  expect((await pachctl(['version', '--compare'], { PACHCTL_STANDIN_VERSION: '2.11.5' })).exitCode).toBe(1);
  const raw = await pachctl(['version', '--client-only', '--raw']);
  expect(JSON.parse(raw.stdout)).toMatchObject({ major: 2, minor: 11, micro: 6 });
  expect((await pachctl(['version', '-o', 'json'])).stderr).toBe('cannot set --output (-o) without --raw');

  expect((await pachctl(['enterprise', 'pause-status'])).stdout).toBe('unpaused');
  const info = JSON.parse((await pachctl(['inspect', 'cluster', '--raw'])).stdout);
  expect(info).toMatchObject({
    id: expect.stringMatching(/^[0-9a-f]{32}$/),
    deployment_id: expect.any(String),
    warnings_ok: true,
  });
  expect(info.paused).toBeUndefined();
  expect((await pachctl(['inspect', 'cluster'])).stdout).toBe(info.id);
});

test('pause restarts pachd paused, which scales the workers to 0; unpause brings them back', async () => {
  const before = kube.listPods('app=pachd').map((p) => p.metadata.name);
  const paused = await pachctl(['enterprise', 'pause']);
  expect(paused).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
  const cm = kube.getConfigMap('pachd-config');
  expect(cm?.data?.MODE).toBe('paused');
  expect(cm?.metadata.annotations?.['pachyderm.com/updatedAt']).toMatch(
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/,
  );
  expect(
    kube.getDeployment('pachd')?.spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt'],
  ).toBeDefined();

  const seen = await waitForStatus('paused');
  expect(seen.every((s) => ['partially-paused', 'paused'].includes(s))).toBe(true);
  await kube.waitForSettled();
  const after = kube.listPods('app=pachd');
  expect(after).toHaveLength(1);
  expect(before).not.toContain(after[0].metadata.name);
  expect(workerReplicas()).toEqual([0, 0]);
  expect(kube.listPods('component=worker')).toEqual([]);
  expect(kube.getDeployment('pachw')?.spec.replicas).toBe(1);
  expect(JSON.parse((await pachctl(['inspect', 'cluster', '--raw'])).stdout).paused).toBe(true);

  // Pausing a paused cluster changes nothing.
  const generation = kube.getDeployment('pachd')?.metadata.generation;
  const cmVersion = kube.getConfigMap('pachd-config')?.metadata.resourceVersion;
  expect((await pachctl(['enterprise', 'pause'])).exitCode).toBe(0);
  expect(kube.getDeployment('pachd')?.metadata.generation).toBe(generation);
  expect(kube.getConfigMap('pachd-config')?.metadata.resourceVersion).toBe(cmVersion);

  expect((await pachctl(['enterprise', 'unpause'])).exitCode).toBe(0);
  expect(kube.getConfigMap('pachd-config')?.data?.MODE).toBe('full');
  expect((await waitForStatus('unpaused')).at(-1)).toBe('unpaused');
  await kube.waitFor(() => workerReplicas()[0] === 2 && workerReplicas()[1] === 1, 'worker RCs restored');
  await kube.waitForSettled();
  expect(kube.listPods('pipelineName=edges')).toHaveLength(2);
  expect(JSON.parse((await pachctl(['inspect', 'cluster', '--raw'])).stdout).paused).toBeUndefined();
  const writes = kube.requests.filter(
    (r) => r.userAgent === 'pachctl-standin' && r.verb !== 'get' && r.verb !== 'list',
  );
  expect(writes.map((r) => `${r.verb} ${r.resource}`)).toEqual([
    'create configmaps',
    'update deployments',
    'update configmaps',
    'update deployments',
  ]);
});

test('injected failures and an unreachable pachd exit 1 with the message on stderr', async () => {
  const denied =
    'could not pause cluster: rpc error: code = PermissionDenied desc = not authorized to perform this operation';
  const failed = await pachctl(['enterprise', 'pause'], {
    PACHCTL_STANDIN_FAIL: `enterprise pause:${denied}`,
  });
  expect(failed).toMatchObject({ exitCode: 1, stdout: '', stderr: denied });
  expect(kube.getConfigMap('pachd-config')?.data?.MODE).toBe('full');
  expect(
    (await pachctl(['enterprise', 'pause-status'], { PACHCTL_STANDIN_FAIL: `pause:${denied}` })).exitCode,
  ).toBe(0);

  await fetch(`${kube.url}/apis/apps/v1/namespaces/${kube.namespace}/deployments/pachd/scale`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/merge-patch+json' },
    body: JSON.stringify({ spec: { replicas: 0 } }),
  });
  await kube.waitFor(() => kube.listPods('app=pachd').length === 0, 'pachd gone');
  const down = await pachctl(['enterprise', 'pause']);
  expect(down.exitCode).toBe(1);
  expect(down.stderr).toMatch(/^could not connect: rpc error: code = Unavailable/);
  const version = await pachctl(['version']);
  expect(version.exitCode).toBe(1);
  expect(version.stdout).toMatch(/^COMPONENT\s+VERSION\s*\npachctl\s+2\.11\.6\s*$/);
  expect(version.stderr).toContain('please make sure pachd is up');
  expect(
    (await pachctl(['enterprise', 'pause-status'], { PACHCTL_STANDIN_NAMESPACE: 'elsewhere' })).exitCode,
  ).toBe(1);
  expect((await pachctl(['frobnicate'])).exitCode).toBe(1);
});
