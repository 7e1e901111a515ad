/** The Deployment (rolling update) and ReplicationController controllers, reduced to what pods they want. */
import type { ClusterState } from './cluster-state.ts';
import { newPod, ownerOfDeploymentPod, ownerOfRcPod, randomSuffix, templateHash } from './pod-factory.ts';
import { findByKind } from './resources.ts';
import { isPodReady, isTerminating, type Pod, type Workload } from './types.ts';

const podDef = findByKind('Pod');

function podsOf(state: ClusterState, w: Workload, owns: (pod: Pod) => boolean): Pod[] {
  return (state.list('Pod', w.metadata.namespace) as Pod[]).filter(owns);
}

function deletePods(state: ClusterState, pods: Pod[]): void {
  for (const pod of pods) state.remove(podDef, pod.metadata.namespace, pod.metadata.name);
}

/** Unready pods go first, then the newest, as the ReplicaSet controller picks them. */
function pickForDeletion(pods: Pod[], count: number): Pod[] {
  const ranked = [...pods].sort(
    (a, b) =>
      Number(isPodReady(a)) - Number(isPodReady(b)) ||
      (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
  );
  return ranked.slice(0, Math.max(0, count));
}

function resolveIntOrPercent(
  value: number | string | undefined,
  total: number,
  roundUp: boolean,
  fallback: string,
): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return v;
  const percent = Number.parseInt(v, 10);
  const scaled = (percent * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

function condition(
  type: string,
  status: boolean,
  reason: string,
  message: string,
  previous: unknown,
): Record<string, string> {
  const old = ((previous as Record<string, string>[] | undefined) ?? []).find((c) => c.type === type);
  const s = status ? 'True' : 'False';
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  if (old && old.status === s && old.reason === reason) return old;
  return {
    type,
    status: s,
    lastUpdateTime: now,
    lastTransitionTime: old?.status === s ? old.lastTransitionTime : now,
    reason,
    message,
  };
}

/** Drops zero counts, as the `omitempty` fields of the real status do. */
function compact(status: Record<string, unknown>, keep: string[] = []): Record<string, unknown> {
  return Object.fromEntries(Object.entries(status).filter(([k, v]) => v !== 0 || keep.includes(k)));
}

export function reconcileDeployment(state: ClusterState, d: Workload): void {
  const desired = d.spec.replicas ?? 1;
  const hash = templateHash(d.spec.template);
  const rsName = (pod: Pod) => pod.metadata.ownerReferences?.[0]?.name;
  const owned = podsOf(
    state,
    d,
    (p) =>
      p.metadata.ownerReferences?.[0]?.kind === 'ReplicaSet' &&
      rsName(p) === `${d.metadata.name}-${p.metadata.labels?.['pod-template-hash']}`,
  );
  const active = owned.filter((p) => !isTerminating(p));
  const current = active.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash);
  const old = active.filter((p) => p.metadata.labels?.['pod-template-hash'] !== hash);
  const recreate = d.spec.strategy?.type === 'Recreate';
  const rolling = d.spec.strategy?.rollingUpdate;
  const surge = recreate ? 0 : resolveIntOrPercent(rolling?.maxSurge, desired, true, '25%');
  let unavailable = recreate ? desired : resolveIntOrPercent(rolling?.maxUnavailable, desired, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1;

  const doomed = [...pickForDeletion(current, current.length - desired)];
  doomed.push(...old.filter((p) => !isPodReady(p)));
  let ready = active.filter((p) => isPodReady(p) && !doomed.includes(p)).length;
  for (const pod of old.filter((p) => isPodReady(p))) {
    if (ready - 1 < desired - unavailable) break;
    doomed.push(pod);
    ready--;
  }
  deletePods(state, doomed);
  const blocked = recreate && owned.some((p) => p.metadata.labels?.['pod-template-hash'] !== hash);
  let live = active.length - doomed.length;
  let fresh = current.length - doomed.filter((p) => current.includes(p)).length;
  while (!blocked && fresh < desired && live < desired + surge) {
    const pod = newPod(
      d,
      `${d.metadata.name}-${hash}-${randomSuffix()}`,
      { 'pod-template-hash': hash },
      ownerOfDeploymentPod(d, hash),
    );
    state.create(podDef, d.metadata.namespace, pod);
    fresh++;
    live++;
  }
  writeDeploymentStatus(state, d, hash);
}

function writeDeploymentStatus(state: ClusterState, d: Workload, hash: string): void {
  const desired = d.spec.replicas ?? 1;
  const owned = (state.list('Pod', d.metadata.namespace) as Pod[]).filter(
    (p) =>
      !isTerminating(p) &&
      p.metadata.ownerReferences?.[0]?.name ===
        `${d.metadata.name}-${p.metadata.labels?.['pod-template-hash']}`,
  );
  const updated = owned.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash);
  const readyCount = owned.filter(isPodReady).length;
  const unavailableMax = resolveIntOrPercent(
    d.spec.strategy?.rollingUpdate?.maxUnavailable,
    desired,
    false,
    '25%',
  );
  const complete = updated.length === desired && owned.length === desired && readyCount === desired;
  const rs = `${d.metadata.name}-${hash}`;
  const previous = d.status?.conditions;
  const status = compact({
    observedGeneration: d.metadata.generation,
    replicas: owned.length,
    updatedReplicas: updated.length,
    readyReplicas: readyCount,
    availableReplicas: readyCount,
    unavailableReplicas: Math.max(0, desired - readyCount),
    conditions: [
      readyCount >= desired - unavailableMax
        ? condition(
            'Available',
            true,
            'MinimumReplicasAvailable',
            'Deployment has minimum availability.',
            previous,
          )
        : condition(
            'Available',
            false,
            'MinimumReplicasUnavailable',
            'Deployment does not have minimum availability.',
            previous,
          ),
      complete
        ? condition(
            'Progressing',
            true,
            'NewReplicaSetAvailable',
            `ReplicaSet "${rs}" has successfully progressed.`,
            previous,
          )
        : condition('Progressing', true, 'ReplicaSetUpdated', `ReplicaSet "${rs}" is progressing.`, previous),
    ],
  });
  state.writeStatus('Deployment', d.metadata.namespace, d.metadata.name, status);
}

export function reconcileRc(state: ClusterState, rc: Workload): void {
  const desired = rc.spec.replicas ?? 1;
  const owns = (p: Pod) => p.metadata.ownerReferences?.[0]?.uid === rc.metadata.uid;
  const active = podsOf(state, rc, owns).filter((p) => !isTerminating(p));
  deletePods(state, pickForDeletion(active, active.length - desired));
  for (let i = active.length; i < desired; i++) {
    state.create(
      podDef,
      rc.metadata.namespace,
      newPod(rc, `${rc.metadata.name}-${randomSuffix()}`, {}, ownerOfRcPod(rc)),
    );
  }
  const now = podsOf(state, rc, owns).filter((p) => !isTerminating(p));
  const readyCount = now.filter(isPodReady).length;
  const status = compact(
    {
      replicas: now.length,
      fullyLabeledReplicas: now.length,
      readyReplicas: readyCount,
      availableReplicas: readyCount,
      observedGeneration: rc.metadata.generation,
    },
    ['replicas'],
  );
  state.writeStatus('ReplicationController', rc.metadata.namespace, rc.metadata.name, status);
}

/** Pods whose owner is gone terminate (the garbage collector's background propagation). */
export function collectOrphans(state: ClusterState): void {
  const owners = new Set<string>();
  for (const d of state.list('Deployment') as Workload[]) {
    owners.add(`${d.metadata.namespace}/ReplicaSet/${d.metadata.name}-`);
  }
  for (const rc of state.list('ReplicationController'))
    owners.add(`${rc.metadata.namespace}/RC/${rc.metadata.uid}`);
  for (const pod of state.list('Pod') as Pod[]) {
    const ref = pod.metadata.ownerReferences?.[0];
    if (!ref || isTerminating(pod)) continue;
    const hash = pod.metadata.labels?.['pod-template-hash'] ?? '';
    const alive =
      ref.kind === 'ReplicaSet'
        ? owners.has(
            `${pod.metadata.namespace}/ReplicaSet/${ref.name.slice(0, ref.name.length - hash.length)}`,
          )
        : owners.has(`${pod.metadata.namespace}/RC/${ref.uid}`);
    if (!alive) state.remove(podDef, pod.metadata.namespace, pod.metadata.name);
  }
}
