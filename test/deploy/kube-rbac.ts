/**
 * The Kubernetes permissions pachops needs, in one place: the inventory below (what, and why), what the
 * code's client-node calls imply (derived from src/cluster/kube.ts), and whether a request is allowed
 * by a Role's rules. helm-chart.test.ts holds the chart's Role, the code and the inventory equal.
 */
import type { RequestRecord } from '../harness/kube/kube-standin.ts';
import { read, shipped } from './shipped-code.ts';

/** One permission: `resource` may carry a subresource (`deployments/scale`). */
export interface Permission {
  apiGroup: string;
  resource: string;
  verb: string;
}

/** The inventory: every permission the workers use, and the call that uses it. */
export const KUBE_PERMISSIONS: (Permission & { why: string })[] = [
  { apiGroup: '', resource: 'pods', verb: 'list', why: 'waitForPodsGone: pause waits for the pods to go' },
  {
    apiGroup: 'apps',
    resource: 'deployments',
    verb: 'get',
    why: "readReplicaCounts, waitForPachdReady; dump and plan read pachd's image (its version)",
  },
  {
    apiGroup: 'apps',
    resource: 'deployments/scale',
    verb: 'patch',
    why: 'scaleAll: pachd and pachw to 0 and back',
  },
  {
    apiGroup: '',
    resource: 'replicationcontrollers',
    verb: 'list',
    why: 'readReplicaCounts: the pipeline workers (suite=pachyderm,component=worker)',
  },
  {
    apiGroup: '',
    resource: 'replicationcontrollers/scale',
    verb: 'patch',
    why: 'scaleAll: the pipeline workers to 0 and back',
  },
  {
    apiGroup: '',
    resource: 'secrets',
    verb: 'list',
    why: 'readHelmRelease: the release secrets by label (owner=helm,name=<release>)',
  },
];

export const key = (p: Permission) => `${p.verb} ${p.apiGroup || 'core'}/${p.resource}`;

const VERBS: Record<string, string> = {
  read: 'get',
  list: 'list',
  patch: 'patch',
  replace: 'update',
  create: 'create',
  delete: 'delete',
  deleteCollection: 'deletecollection',
};
const GROUPS: Record<string, string> = { CoreV1Api: '', AppsV1Api: 'apps', BatchV1Api: 'batch' };
const SUBRESOURCES: Record<string, string> = { Scale: 'scale', Status: 'status', Log: 'log' };

/** `patchNamespacedDeploymentScale` on AppsV1Api → patch apps/deployments/scale. */
export function permissionOf(api: string, method: string): Permission {
  const m =
    /^(read|list|patch|replace|create|deleteCollection|delete)Namespaced([A-Z][a-zA-Z]*?)(Scale|Status|Log)?$/.exec(
      method,
    );
  if (!m || !(api in GROUPS))
    throw new Error(`map ${api}.${method} to a permission in test/deploy/kube-rbac.ts`);
  const [, action, kind, sub] = m;
  const resource = `${kind.toLowerCase()}s${sub ? `/${SUBRESOURCES[sub]}` : ''}`;
  return { apiGroup: GROUPS[api], resource, verb: VERBS[action] };
}

/**
 * The permissions the shipped code can use: client-node calls inside each KubeApi method of
 * src/cluster/kube.ts, for the methods that src/ or jobs/ call. `unused` lists the methods nothing calls.
 */
export function permissionsFromCode(): { permissions: Permission[]; unused: string[] } {
  const kube = read('src/cluster/kube.ts');
  const clients = Object.fromEntries(
    [...kube.matchAll(/const (\w+) = kc\.makeApiClient\(k8s\.(\w+)\)/g)].map((m) => [m[1], m[2]]),
  );
  const body = kube.slice(kube.indexOf('return {', kube.indexOf('export function createKubeApi')));
  const segments = body.split(/^ {4}(?=\w+: )/m).slice(1);
  const callers = shipped
    .filter((f) => f !== 'src/cluster/kube.ts')
    .map(read)
    .join('\n');
  const permissions: Permission[] = [];
  const unused: string[] = [];
  for (const segment of segments) {
    const method = /^(\w+):/.exec(segment)![1];
    const calls = [...segment.matchAll(/\b(\w+)\.(\w+Namespaced\w+)\(/g)].filter((c) => c[1] in clients);
    if (!calls.length) continue; // `namespace` and other plain properties
    if (!new RegExp(`\\.${method}\\(`).test(callers)) {
      unused.push(method);
      continue;
    }
    for (const [, client, call] of calls) permissions.push(permissionOf(clients[client], call));
  }
  return { permissions, unused };
}

/** Files of the shipped code that make Kubernetes clients: all of them must be covered above. */
export function kubeClientFiles(): string[] {
  return shipped.filter((f) => /makeApiClient|new k8s\.|from '@kubernetes\/client-node'/.test(read(f)));
}

export interface RoleRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

/** The permissions a Role grants, one per (group, resource, verb); wildcards and names kept visible. */
export function permissionsOfRole(rules: RoleRule[]): (Permission & { resourceNames?: string[] })[] {
  return rules.flatMap((rule) =>
    (rule.apiGroups ?? []).flatMap((apiGroup) =>
      (rule.resources ?? []).flatMap((resource) =>
        (rule.verbs ?? []).map((verb) => ({ apiGroup, resource, verb, resourceNames: rule.resourceNames })),
      ),
    ),
  );
}

/** The permission a request to the Kubernetes stand-in needed, as RBAC sees it. */
export const permissionOfRequest = (r: RequestRecord): Permission => ({
  apiGroup: r.apiGroup ?? '?',
  resource: r.subresource ? `${r.resource}/${r.subresource}` : (r.resource ?? r.path),
  verb: r.verb,
});

/** Made by pachops' own code (client-node), not by the pachctl/helm stand-ins or the harness's probes. */
export const isPachopsRequest = (r: RequestRecord) =>
  r.userAgent?.startsWith('kubernetes-client-javascript/') === true;

/** The permissions of pachops' requests that the inventory (= the chart's Role) does not grant. */
export function requestsOutsideInventory(requests: RequestRecord[]): string[] {
  const granted = new Set(KUBE_PERMISSIONS.map(key));
  return requests
    .filter(isPachopsRequest)
    .map((r) => key(permissionOfRequest(r)))
    .filter((k) => !granted.has(k));
}
