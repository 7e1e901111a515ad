/** Debian's kubectl 1.20 against the stand-in: the commands of Pachyderm's backup guide. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { type KubeStandin, startKube } from './kube-standin.ts';

let kube: KubeStandin;
let kubectlPath: string;
let home: string;

beforeAll(async () => {
  const ensured = await execa('bash', ['scripts/ensure-kubectl.sh']);
  kubectlPath = ensured.stdout.trim().split('\n').at(-1) ?? '';
  home = await mkdtemp(join(tmpdir(), 'kubectl-home-'));
  // Pods take a second to stop, so that `kubectl wait --for=delete` finds them terminating
  // (kubectl 1.20 fails with 'no matching resources found' when the selector matches nothing).
  kube = await startKube({ podStartMs: 60, podStopMs: 1000 });
  await kube.seedPachyderm({
    pipelines: [
      { name: 'edges', replicas: 2 },
      { name: 'montage', replicas: 1 },
    ],
  });
});

afterAll(async () => {
  await kube?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

/** Runs kubectl with its discovery cache in a throwaway HOME. */
function kubectl(...args: string[]) {
  return execa(kubectlPath, args, {
    env: { KUBECONFIG: kube.kubeconfigPath, HOME: home },
    reject: false,
    timeout: 20_000,
  });
}

test('is Debian kubectl 1.20', async () => {
  const { stdout } = await kubectl('version', '--client', '--short');
  expect(stdout).toMatch(/v1\.20\./);
});

test('gets deployments, RCs and pods by label, with server-side tables', async () => {
  const { stdout, exitCode } = await kubectl('get', 'deploy,rc,pods', '-l', 'suite=pachyderm');
  expect(exitCode).toBe(0);
  expect(stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m);
  expect(stdout).toMatch(/^deployment\.apps\/pachd\s+1\/1\s+1\s+1\s+\d+s$/m);
  expect(stdout).toMatch(/^replicationcontroller\/default-edges-v1\s+2\s+2\s+2\s+\d+s$/m);
  expect(stdout).toMatch(/^pod\/pachd-[a-z0-9]+-[a-z0-9]{5}\s+1\/1\s+Running\s+0\s+\d+s$/m);
  expect(stdout).toMatch(/^pod\/default-edges-v1-[a-z0-9]{5}\s+2\/2\s+Running/m);
});

test('reads and writes pachd-config with jsonpath, create and patch', async () => {
  const missing = await kubectl('get', 'cm', 'pachd-config', '-o', 'jsonpath={.data.MODE}');
  expect(missing.exitCode).toBe(1);
  expect(missing.stderr).toContain('Error from server (NotFound): configmaps "pachd-config" not found');
  expect((await kubectl('create', 'configmap', 'pachd-config', '--from-literal=MODE=full')).stdout).toBe(
    'configmap/pachd-config created',
  );
  expect((await kubectl('get', 'cm', 'pachd-config', '-o', 'jsonpath={.data.MODE}')).stdout).toBe('full');
  const merge = await kubectl(
    'patch',
    'cm',
    'pachd-config',
    '--type',
    'merge',
    '-p',
    '{"data":{"MODE":"full"}}',
  );
  expect(merge.stdout).toBe('configmap/pachd-config patched (no change)');
  const json = await kubectl(
    'patch',
    'cm',
    'pachd-config',
    '--type',
    'json',
    '-p',
    '[{"op":"replace","path":"/data/MODE","value":"x"}]',
  );
  expect(json.stdout).toBe('configmap/pachd-config patched');
  expect(kube.getConfigMap('pachd-config')?.data?.MODE).toBe('x');
  const secrets = await kubectl('get', 'secret', '-o', 'jsonpath={.items[*].metadata.name}');
  expect(secrets.stdout).toContain('pachyderm-deployment-id-secret');
});

test('runs the backup guide: scale pachd and the workers to 0, watch and wait, then bring pachd back', async () => {
  const watcher = execa(kubectlPath, ['get', 'pods', '-l', 'app=pachd', '-w'], {
    env: { KUBECONFIG: kube.kubeconfigPath, HOME: home },
    reject: false,
  });
  let watched = '';
  watcher.stdout?.on('data', (chunk: Buffer) => {
    watched += chunk.toString();
  });
  await kube.waitFor(() => /Running/.test(watched), 'kubectl get -w to list pachd');

  const scaled = await kubectl('scale', 'deployment', 'pachd', '--replicas', '0');
  expect(scaled.stdout).toBe('deployment.apps/pachd scaled');
  const workers = await kubectl('scale', 'rc', '--replicas', '0', '-l', 'suite=pachyderm,component=worker');
  expect(workers.stdout.split('\n').sort()).toEqual([
    'replicationcontroller/default-edges-v1 scaled',
    'replicationcontroller/default-montage-v1 scaled',
  ]);
  const waited = await kubectl('wait', '--for=delete', 'pod', '-l', 'app=pachd', '--timeout=10s');
  expect(waited.exitCode).toBe(0);
  expect(waited.stdout).toMatch(/^pod\/pachd-[a-z0-9]+-[a-z0-9]{5} condition met$/);
  expect(kube.listPods('app=pachd')).toEqual([]);
  await kube.waitFor(() => /Terminating/.test(watched), 'kubectl get -w to show the pod terminating');
  watcher.kill();
  await watcher;

  await kube.waitFor(() => kube.listPods('component=worker').length === 0, 'worker pods gone');
  expect(kube.getReplicationController('default-edges-v1')?.spec.replicas).toBe(0);
  expect(
    (await kubectl('get', 'rc', '-l', 'component=worker', '-o', 'jsonpath={.items[*].spec.replicas}')).stdout,
  ).toBe('0 0');

  expect((await kubectl('scale', 'deployment', 'pachd', '--replicas', '1')).exitCode).toBe(0);
  const rollout = await kubectl('rollout', 'status', 'deployment', 'pachd', '--timeout=10s');
  expect(rollout.stdout).toContain('deployment "pachd" successfully rolled out');
  expect(kube.requests).toContainEqual(
    expect.objectContaining({
      verb: 'patch',
      resource: 'replicationcontrollers',
      subresource: 'scale',
      contentType: 'application/merge-patch+json',
    }),
  );
});
