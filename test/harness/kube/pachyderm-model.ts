/**
 * What pachd itself does to the cluster around a pause: a pachd pod reads MODE from ConfigMap
 * pachd-config when its container starts (`--mode $(MODE)`); one that comes up paused scales every
 * worker RC to 0 (pachd's enterprise server does this on start), and one that comes up in full mode
 * after a pause brings them back (pachd's PPS master restarts the pipelines).
 */
import type { ClusterState } from './cluster-state.ts';
import type { PodHooks } from './controller.ts';
import { findByKind } from './resources.ts';
import type { ConfigMap, Pod, Workload } from './types.ts';

export const workerSelector = { suite: 'pachyderm', component: 'worker' };

export type PachdMode = 'full' | 'paused';

export class PachydermModel implements PodHooks {
  private readonly state: ClusterState;
  /** pachd pod uid → the mode its container started in. */
  private readonly modes = new Map<string, PachdMode>();
  /** namespace → worker RC name → replicas before a paused pachd scaled it to 0. */
  private readonly savedWorkers = new Map<string, Map<string, number>>();

  constructor(state: ClusterState) {
    this.state = state;
  }

  /** The mode pachd-config asks for now in a namespace. */
  configuredMode(namespace: string): PachdMode {
    const cm = this.state.find('ConfigMap', namespace, 'pachd-config') as ConfigMap | undefined;
    return cm?.data?.MODE === 'paused' ? 'paused' : 'full';
  }

  /** The mode a pachd pod runs in (undefined for other pods). */
  modeOf(pod: Pod): PachdMode | undefined {
    return this.modes.get(pod.metadata.uid ?? '');
  }

  onPodCreated(pod: Pod): void {
    if (pod.metadata.labels?.app !== 'pachd') return;
    this.modes.set(pod.metadata.uid ?? '', this.configuredMode(pod.metadata.namespace ?? ''));
  }

  onPodReady(pod: Pod): void {
    if (pod.metadata.labels?.app !== 'pachd') return;
    const namespace = pod.metadata.namespace ?? '';
    if (this.modes.get(pod.metadata.uid ?? '') === 'paused') this.scaleWorkersDown(namespace);
    else this.restoreWorkers(namespace);
  }

  private workers(namespace: string): Workload[] {
    return (this.state.list('ReplicationController', namespace) as Workload[]).filter(
      (rc) =>
        rc.metadata.labels?.suite === workerSelector.suite &&
        rc.metadata.labels?.component === workerSelector.component,
    );
  }

  private scaleWorkersDown(namespace: string): void {
    const saved = this.savedWorkers.get(namespace) ?? new Map<string, number>();
    const rcDef = findByKind('ReplicationController');
    for (const rc of this.workers(namespace)) {
      const replicas = rc.spec.replicas ?? 1;
      if (replicas === 0) continue;
      if (!saved.has(rc.metadata.name)) saved.set(rc.metadata.name, replicas);
      this.state.writeScale(rcDef, namespace, rc.metadata.name, {
        apiVersion: 'autoscaling/v1',
        kind: 'Scale',
        metadata: { name: rc.metadata.name },
        spec: { replicas: 0 },
      });
    }
    this.savedWorkers.set(namespace, saved);
  }

  private restoreWorkers(namespace: string): void {
    const saved = this.savedWorkers.get(namespace);
    if (!saved) return;
    this.savedWorkers.delete(namespace);
    const rcDef = findByKind('ReplicationController');
    for (const rc of this.workers(namespace)) {
      const replicas = saved.get(rc.metadata.name);
      if (replicas === undefined || (rc.spec.replicas ?? 1) !== 0) continue;
      this.state.writeScale(rcDef, namespace, rc.metadata.name, {
        apiVersion: 'autoscaling/v1',
        kind: 'Scale',
        metadata: { name: rc.metadata.name },
        spec: { replicas },
      });
    }
  }
}
