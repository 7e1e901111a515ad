/** The kubelet and controller-manager of the stand-in: pods start, stop, and follow their workloads. */
import type { ClusterState } from './cluster-state.ts';
import { runningPod } from './pod-factory.ts';
import { findByKind } from './resources.ts';
import { parseLabelSelector, type Selector } from './selectors.ts';
import type { StoreEvent } from './store.ts';
import { isTerminating, type Pod, type Workload } from './types.ts';
import { collectOrphans, reconcileDeployment, reconcileRc } from './workloads.ts';

export interface ControllerOptions {
  podStartMs: number;
  podStopMs: number;
}

export interface PodHooks {
  /** A pod was created (before it starts). */
  onPodCreated(pod: Pod): void;
  /** A pod became Running and Ready. */
  onPodReady(pod: Pod): void;
}

const podDef = findByKind('Pod');

export class Controller {
  private readonly state: ClusterState;
  private readonly options: ControllerOptions;
  private readonly hooks: PodHooks;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stuck = new Map<number, Selector>();
  /** Pods whose stop time has come but that a stuck selector holds back: `namespace/name`. */
  private readonly heldBack = new Set<string>();
  private nextStuckId = 1;
  private pending = false;
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(state: ClusterState, options: ControllerOptions, hooks: PodHooks) {
    this.state = state;
    this.options = options;
    this.hooks = hooks;
    this.unsubscribe = state.store.subscribe((event) => this.onEvent(event));
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Pods matching `selector` never finish terminating until the returned release is called. */
  holdPods(selector: string): () => void {
    const id = this.nextStuckId++;
    this.stuck.set(id, parseLabelSelector(selector));
    return () => {
      this.stuck.delete(id);
      for (const key of [...this.heldBack]) {
        const [namespace, name] = key.split('/');
        const pod = this.state.store.get(podDef, namespace, name) as Pod | undefined;
        if (pod && this.isHeld(pod)) continue;
        this.heldBack.delete(key);
        this.finishPod(namespace, name);
      }
    };
  }

  private isHeld(pod: Pod): boolean {
    return [...this.stuck.values()].some((selector) => selector(pod.metadata.labels));
  }

  private later(ms: number, fn: () => void): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) fn();
    }, ms);
    this.timers.add(timer);
  }

  private onEvent(event: StoreEvent): void {
    if (event.resource === 'pods') this.onPodEvent(event);
    if (
      ['pods', 'deployments', 'replicationcontrollers', 'configmaps', 'namespaces'].includes(event.resource)
    )
      this.reconcileSoon();
  }

  private onPodEvent(event: StoreEvent): void {
    const pod = event.object as Pod;
    const { namespace, name } = pod.metadata;
    if (event.type === 'ADDED' && pod.status.phase === 'Pending' && !isTerminating(pod)) {
      this.hooks.onPodCreated(pod);
      this.later(this.options.podStartMs, () => this.startPod(namespace ?? '', name));
    }
    if (event.type === 'MODIFIED' && isTerminating(pod) && event.previous && !isTerminating(event.previous)) {
      this.later(this.options.podStopMs, () => this.finishPod(namespace ?? '', name));
    }
  }

  private startPod(namespace: string, name: string): void {
    const pod = this.state.store.get(podDef, namespace, name) as Pod | undefined;
    if (!pod || isTerminating(pod) || pod.status.phase !== 'Pending') return;
    const started = this.state.writeSystem('Pod', runningPod(pod)) as Pod;
    this.hooks.onPodReady(started);
  }

  private finishPod(namespace: string, name: string): void {
    const pod = this.state.store.get(podDef, namespace, name) as Pod | undefined;
    if (!pod) return;
    if (this.isHeld(pod)) {
      this.heldBack.add(`${namespace}/${name}`);
      return;
    }
    this.state.store.remove(podDef, namespace, name);
  }

  /** Coalesces the reconciles that a burst of events asks for into one, on the next turn. */
  reconcileSoon(): void {
    if (this.pending || this.closed) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      if (!this.closed) this.reconcile();
    });
  }

  private reconcile(): void {
    for (const d of this.state.list('Deployment') as Workload[]) reconcileDeployment(this.state, d);
    for (const rc of this.state.list('ReplicationController') as Workload[]) reconcileRc(this.state, rc);
    collectOrphans(this.state);
  }
}
