import type { PhaseSample } from '../../src/announce/estimate.ts';
import type { Helm } from '../../src/cluster/helm.ts';
import type { KubeApi } from '../../src/cluster/kube.ts';
import type { Pachctl } from '../../src/cluster/pachctl.ts';
import type { ClusterConfig, Config } from '../../src/config/load.ts';
import type { Logger } from '../../src/log.ts';
import type { Operation, OperationState, PhaseName } from '../../src/operations/model.ts';
import type { Announcer } from '../../src/operations/ports.ts';
import type { Bucket } from '../../src/storage/s3.ts';
import type { ShardedMirrorInput, ShardedMirrorResult } from '../mirror-shards/shard-jobs.ts';

/** The cluster-facing services a phase may use; nothing in here knows about Slack. */
export interface ClusterServices {
  kube: KubeApi;
  /** Bound to the Helm release's namespace (the same client when it is the cluster's namespace). */
  helmKube: KubeApi;
  pachctl: Pachctl;
  helm: Helm;
  /** Pachyderm's own bucket. */
  source: Bucket;
  backup: Bucket;
}

export interface PhaseContext {
  operation: Operation;
  cluster: ClusterConfig;
  config: Config;
  services: ClusterServices;
  /** Another cluster's services (a restore reads the backup bucket of the cluster it was taken of). */
  servicesOf(cluster: ClusterConfig): ClusterServices;
  log: Logger;
  /** The users' channels (outage notice, all-clear). */
  announcer: Announcer;
  /** The cluster's earlier backups' measured phases, for the downtime estimate. */
  history(): Promise<PhaseSample[]>;
  signal: AbortSignal;
  /**
   * A line of progress for the thread (the reporter throttles it), and how far the phase is (0–1) when
   * it knows: done and remaining objects and bytes, rate, ETA in `text`; the fraction draws the CLI's bar.
   */
  progress(text: string, fraction?: number): void;
  /** Mirrors as a flow of shard jobs on the queue (`mirror.shards` > 1); absent outside a worker (CLI). */
  shards?: { mirror(input: Omit<ShardedMirrorInput, 'flowId' | 'phase'>): Promise<ShardedMirrorResult> };
  /** Persists part of the operation's state, so that a retry continues where this run stopped. */
  saveState(patch: Partial<OperationState>): Promise<void>;
}

export interface PhaseOutcome {
  /** One line for the thread and the checklist. */
  summary: string;
  /** Further lines for the thread report. */
  details?: string[];
}

export interface Phase {
  name: PhaseName;
  run(ctx: PhaseContext): Promise<PhaseOutcome>;
}
