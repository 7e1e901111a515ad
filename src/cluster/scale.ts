import type { KubeApi, WorkloadKind } from './kube.ts';
import { type WaitOptions, waitUntil } from './wait.ts';

/** Pachyderm's workloads (see PACHYDERM.md: names and labels). */
export const PACHD = 'pachd';
export const PACHW = 'pachw';
export const WORKER_SELECTOR = 'suite=pachyderm,component=worker';
const POD_SELECTORS = ['app=pachd', 'app=pachw', WORKER_SELECTOR];

/** Replica counts keyed by `Kind/name`, e.g. `Deployment/pachd`. */
export type ReplicaCounts = Record<string, number>;

/** Reads the replica counts of pachd, pachw and every worker RC; the pause records them before scaling. */
export async function readReplicaCounts(kube: KubeApi): Promise<ReplicaCounts> {
  const counts: ReplicaCounts = {};
  for (const name of [PACHD, PACHW]) {
    const deployment = await kube.getDeployment(name);
    if (deployment) counts[`Deployment/${name}`] = deployment.replicas;
  }
  for (const rc of await kube.listReplicationControllers(WORKER_SELECTOR)) {
    counts[`ReplicationController/${rc.name}`] = rc.replicas;
  }
  return counts;
}

/** Scales every recorded workload to `target(recorded)`; pachd first when stopping, last when starting. */
export async function scaleAll(
  kube: KubeApi,
  counts: ReplicaCounts,
  direction: 'down' | 'up',
): Promise<string[]> {
  const entries = Object.entries(counts);
  const isPachd = ([key]: [string, number]) => key === `Deployment/${PACHD}`;
  const ordered =
    direction === 'down'
      ? [...entries.filter(isPachd), ...entries.filter((e) => !isPachd(e))]
      : [...entries.filter((e) => !isPachd(e)), ...entries.filter(isPachd)];
  const changed: string[] = [];
  for (const [key, recorded] of ordered) {
    const [kind, name] = key.split('/') as [WorkloadKind, string];
    const replicas = direction === 'down' ? 0 : recorded;
    try {
      await kube.scale(kind, name, replicas);
    } catch (error) {
      // A worker RC that disappeared since the pause (pipeline deleted) has nothing to bring back.
      if (
        direction === 'up' &&
        kind === 'ReplicationController' &&
        (error as { code?: string }).code === 'KUBE_NOT_FOUND'
      )
        continue;
      throw error;
    }
    changed.push(`${name} → ${replicas}`);
  }
  return changed;
}

export function waitForPodsGone(kube: KubeApi, options: WaitOptions): Promise<number> {
  return waitUntil(
    'Pachyderm pods to terminate',
    async () => {
      const left: string[] = [];
      for (const selector of POD_SELECTORS) {
        const count = await kube.countPods(selector);
        if (count > 0) left.push(`${count} pod(s) with ${selector}`);
      }
      return left.length ? `${left.join(', ')} still running` : null;
    },
    options,
  );
}

export function waitForPachdReady(kube: KubeApi, expected: number, options: WaitOptions): Promise<number> {
  return waitUntil(
    'pachd to be ready',
    async () => {
      const pachd = await kube.getDeployment(PACHD);
      if (!pachd) return 'Deployment pachd not found';
      const want = Math.max(1, Math.min(expected, pachd.replicas));
      return pachd.readyReplicas >= want ? null : `${pachd.readyReplicas}/${want} pachd replicas ready`;
    },
    options,
  );
}
