/** The resources the stand-in serves, and the discovery documents that describe them. */

export interface ResourceDef {
  group: '' | 'apps';
  version: 'v1';
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Deployments and RCs: the autoscaling/v1 Scale subresource. */
  scale?: boolean;
  /** Objects with a status subresource: a write to the main resource keeps the stored status. */
  hasStatus?: boolean;
  /** spec changes bump metadata.generation. */
  hasGeneration?: boolean;
}

const verbs = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

export const resources: ResourceDef[] = [
  {
    group: '',
    version: 'v1',
    resource: 'namespaces',
    singular: 'namespace',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    hasStatus: true,
  },
  {
    group: '',
    version: 'v1',
    resource: 'pods',
    singular: 'pod',
    kind: 'Pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    hasStatus: true,
  },
  {
    group: '',
    version: 'v1',
    resource: 'configmaps',
    singular: 'configmap',
    kind: 'ConfigMap',
    namespaced: true,
    shortNames: ['cm'],
  },
  { group: '', version: 'v1', resource: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true },
  {
    group: '',
    version: 'v1',
    resource: 'services',
    singular: 'service',
    kind: 'Service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    hasStatus: true,
  },
  {
    group: '',
    version: 'v1',
    resource: 'replicationcontrollers',
    singular: 'replicationcontroller',
    kind: 'ReplicationController',
    namespaced: true,
    shortNames: ['rc'],
    categories: ['all'],
    scale: true,
    hasStatus: true,
    hasGeneration: true,
  },
  {
    group: 'apps',
    version: 'v1',
    resource: 'deployments',
    singular: 'deployment',
    kind: 'Deployment',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
    scale: true,
    hasStatus: true,
    hasGeneration: true,
  },
];

export function apiVersionOf(def: ResourceDef): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

export function findResource(group: string, version: string, resource: string): ResourceDef | undefined {
  return resources.find((r) => r.group === group && r.version === version && r.resource === resource);
}

export function findByKind(kind: string): ResourceDef {
  const def = resources.find((r) => r.kind === kind);
  if (!def) throw new Error(`kube stand-in: no resource of kind ${kind}`);
  return def;
}

export const serverVersion = {
  major: '1',
  minor: '20',
  gitVersion: 'v1.20.15',
  gitCommit: '8f1e5bf0b9729a899b8df86249b56e2c74aebc55',
  gitTreeState: 'clean',
  buildDate: '2022-01-19T17:23:01Z',
  goVersion: 'go1.15.15',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function apiResource(def: ResourceDef): Record<string, unknown> {
  return {
    name: def.resource,
    singularName: def.singular,
    namespaced: def.namespaced,
    kind: def.kind,
    verbs,
    ...(def.shortNames ? { shortNames: def.shortNames } : {}),
    ...(def.categories ? { categories: def.categories } : {}),
  };
}

function subresources(def: ResourceDef): Record<string, unknown>[] {
  const list: Record<string, unknown>[] = [];
  if (def.scale) {
    list.push({
      name: `${def.resource}/scale`,
      singularName: '',
      namespaced: true,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: ['get', 'patch', 'update'],
    });
  }
  return list;
}

/** GET /api/v1 or /apis/apps/v1. */
export function resourceList(group: string, version: string): Record<string, unknown> | undefined {
  const defs = resources.filter((r) => r.group === group && r.version === version);
  if (defs.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources: defs.flatMap((def) => [apiResource(def), ...subresources(def)]),
  };
}

const serverAddress = [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }];

/** GET /api. */
export function apiVersions(): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: serverAddress };
}

function group(name: string): Record<string, unknown> {
  const gv = { groupVersion: `${name}/v1`, version: 'v1' };
  return { name, versions: [gv], preferredVersion: gv };
}

/** GET /apis. */
export function apiGroupList(): Record<string, unknown> {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [group('apps')] };
}

/** GET /apis/apps. */
export function apiGroup(name: string): Record<string, unknown> | undefined {
  if (name !== 'apps') return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...group(name) };
}
