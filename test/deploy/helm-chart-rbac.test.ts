/**
 * The chart's Role against the code: equal (no more, no less) to the inventory in kube-rbac.ts, which is
 * equal to what src/cluster/kube.ts's client calls imply, and which covers every request the cluster code
 * really makes to the Kubernetes stand-in.
 */
import type * as k8s from '@kubernetes/client-node';
import { readHelmRelease } from '../../src/cluster/helm-release.ts';
import { createKubeApi } from '../../src/cluster/kube.ts';
import { readReplicaCounts, scaleAll, waitForPachdReady, waitForPodsGone } from '../../src/cluster/scale.ts';
import { type KubeStandin, startKube } from '../harness/kube/kube-standin.ts';
import { useChart } from './chart-objects.ts';
import { type Manifest, minimal } from './helm-render.ts';
import {
  isPachopsRequest,
  KUBE_PERMISSIONS,
  key,
  kubeClientFiles,
  type Permission,
  permissionOfRequest,
  permissionsFromCode,
  permissionsOfRole,
} from './kube-rbac.ts';

const helm = useChart();
const render = helm.render;
const ofKind = <T>(m: Manifest[], kind: string) =>
  m.filter((x) => x.object.kind === kind).map((x) => x.object as T);
const roles = (m: Manifest[]) => ofKind<k8s.V1Role>(m, 'Role');
const bindings = (m: Manifest[]) => ofKind<k8s.V1RoleBinding>(m, 'RoleBinding');
const sorted = (permissions: Permission[]) => [...new Set(permissions.map(key))].sort();
const inventory = sorted(KUBE_PERMISSIONS);

test('the Role grants exactly the inventory: no wildcard, no name list, nothing cluster-wide', () => {
  const m = render(minimal);
  const [role] = roles(m);
  const granted = permissionsOfRole(role.rules ?? []);
  expect(sorted(granted)).toEqual(inventory);
  expect(granted.length).toBe(inventory.length); // each once
  expect(granted.filter((p) => p.resourceNames || [p.apiGroup, p.resource, p.verb].includes('*'))).toEqual(
    [],
  );
  expect(m.filter((x) => /^Cluster/.test(x.object.kind))).toEqual([]);
  expect(role.metadata!.namespace).toBe('pachyderm');
  const [binding] = bindings(m);
  expect(binding.roleRef).toEqual({
    apiGroup: 'rbac.authorization.k8s.io',
    kind: 'Role',
    name: role.metadata!.name,
  });
  expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'pachops', namespace: 'pachyderm' }]);
});

test("the inventory is what the code's client calls need (a new call fails this until the Role has it)", () => {
  const { permissions, unused } = permissionsFromCode();
  expect(sorted(permissions)).toEqual(inventory);
  // readConfigMap is in KubeApi but nothing calls it: no Role rule for configmaps until something does
  expect(unused).toEqual(['readConfigMap']);
  expect(kubeClientFiles()).toEqual(['src/cluster/kube.ts']);
});

test('rbac.namespace and extraNamespaces: the Role and its binding in each, bound to the release SA', () => {
  const m = render(minimal, { rbac: { namespace: 'pachyderm', extraNamespaces: ['lab', 'pachyderm'] } }, {});
  expect(roles(m).map((r) => r.metadata!.namespace)).toEqual(['pachyderm', 'lab']);
  for (const binding of bindings(m))
    expect(binding.subjects![0]).toMatchObject({ name: 'pachops', namespace: 'pachyderm' });
  const other = helm.run([minimal, { rbac: { namespace: 'elsewhere' } }]);
  expect(other.stderr).toContain('config.clusters.prod uses namespace "pachyderm"');
  // a cluster reached through a kubeconfig context is not the ServiceAccount's business
  const context = { config: { clusters: { prod: { kubernetes: { namespace: 'far', context: 'remote' } } } } };
  expect(helm.run([minimal, context]).status).toBe(0);
});

test('rbac.helmDeploy: a separate binding to the admin ClusterRole, per namespace; the Role unchanged', () => {
  const m = render(minimal, { rbac: { helmDeploy: true } });
  const deploy = bindings(m).find((b) => b.metadata!.name === 'pachops-helm-deploy')!;
  expect(deploy.roleRef).toEqual({
    apiGroup: 'rbac.authorization.k8s.io',
    kind: 'ClusterRole',
    name: 'admin',
  });
  expect(deploy.metadata!.namespace).toBe('pachyderm');
  expect(sorted(permissionsOfRole(roles(m)[0].rules ?? []))).toEqual(inventory);
  expect(bindings(render(minimal)).map((b) => b.roleRef.kind)).toEqual(['Role']);
});

describe('against the Kubernetes stand-in', () => {
  let kube: KubeStandin;
  beforeAll(async () => {
    kube = await startKube({ namespace: 'pachyderm', podStartMs: 50, podStopMs: 50 });
    await kube.seedPachyderm({
      pachd: 1,
      pachw: 1,
      pipelines: [{ name: 'edges', replicas: 2 }],
      helm: { release: 'pachyderm', revision: 2, values: { deployTarget: 'CUSTOM' }, chartVersion: '2.11.6' },
    });
  });
  afterAll(async () => {
    await kube?.close();
  });

  test('every request of a pause, resume and Helm release read is one the Role allows, and uses all of it', async () => {
    kube.requests.length = 0;
    const api = createKubeApi({ kubeconfig: kube.kubeconfigPath, namespace: 'pachyderm' });
    const wait = { timeoutMs: 10_000, intervalMs: 25 };
    const counts = await readReplicaCounts(api);
    await scaleAll(api, counts, 'down');
    await waitForPodsGone(api, wait);
    await scaleAll(api, counts, 'up');
    await waitForPachdReady(api, 1, wait);
    expect((await readHelmRelease(api, 'pachyderm'))?.revision).toBe(2);

    const role = roles(render(minimal))[0];
    const allowed = new Set(permissionsOfRole(role.rules ?? []).map(key));
    expect(kube.requests.every(isPachopsRequest)).toBe(true);
    const made = kube.requests.map((r) => key(permissionOfRequest(r)));
    expect(made.filter((k) => !allowed.has(k))).toEqual([]);
    expect([...new Set(made)].sort()).toEqual(inventory);
    expect(kube.requests.every((r) => r.namespace === 'pachyderm')).toBe(true);
  });
});
