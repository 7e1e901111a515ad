import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Aggregates } from './aggregates.ts';
import { AggregateHistogram } from './histogram.ts';

export interface MetricsRegistryOptions {
  /** The state database's totals, read once per scrape (concurrent reads share one). */
  read: () => Promise<Aggregates>;
  /** Configured clusters: each gets a last-backup timestamp, 0 when it has none yet. */
  clusters: readonly string[];
  /** Node's process metrics (CPU, memory, event loop, GC), prefixed `pachops_`. */
  defaultMetrics?: boolean;
}

/** `succeeded` is what a person calls a completed operation; the other final statuses keep their names. */
function outcomeOf(status: string): string {
  return status === 'succeeded' ? 'completed' : status;
}

/**
 * pachops' metrics, each computed at scrape time from the state database (every worker replica writes
 * there), so that the numbers are the same whichever bot answers and survive restarts.
 */
export function createMetricsRegistry(options: MetricsRegistryOptions): Registry {
  const registry = new Registry();
  registerOperations(registry, options);
  registerDurations(registry, options);
  registerCopied(registry, options);
  registerClusterGauges(registry, options);
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'pachops_' });
  return registry;
}

function registerOperations(registry: Registry, { read }: MetricsRegistryOptions): void {
  const registers = [registry];
  new Counter({
    name: 'pachops_operations_total',
    help: 'Finished operations by cluster, kind (backup, restore) and outcome (completed, failed, aborted, rejected, refused, planned: a dry run).',
    labelNames: ['cluster', 'kind', 'outcome'],
    registers,
    async collect() {
      const { operations } = await read();
      this.reset();
      for (const row of operations.filter((r) => r.finished))
        this.inc({ cluster: row.cluster, kind: row.kind, outcome: outcomeOf(row.status) }, row.count);
    },
  });
  new Gauge({
    name: 'pachops_operations_active',
    help: 'Operations not yet finished by cluster, kind and status (planning, awaiting-approval, running, failed: waiting for Retry, Resume or Abort).',
    labelNames: ['cluster', 'kind', 'status'],
    registers,
    async collect() {
      const { operations } = await read();
      this.reset();
      for (const row of operations.filter((r) => !r.finished))
        this.set({ cluster: row.cluster, kind: row.kind, status: row.status }, row.count);
    },
  });
}

function registerClusterGauges(registry: Registry, options: MetricsRegistryOptions): void {
  const registers = [registry];
  const { read } = options;
  new Gauge({
    name: 'pachops_cluster_paused',
    help: '1 while an operation holds the cluster paused (from pause until resume has brought it back).',
    labelNames: ['cluster'],
    registers,
    async collect() {
      const { paused } = await read();
      this.reset();
      for (const cluster of options.clusters) this.set({ cluster }, 0);
      for (const row of paused) this.set({ cluster: row.cluster }, 1);
    },
  });
  new Gauge({
    name: 'pachops_last_complete_backup_timestamp_seconds',
    help: "When the cluster's newest complete backup (mirrored, manifest written, verified) was written, in Unix seconds; 0: none yet. Alert on time() minus this.",
    labelNames: ['cluster'],
    registers,
    async collect() {
      const { lastBackup } = await read();
      this.reset();
      for (const cluster of options.clusters) this.set({ cluster }, 0);
      for (const row of lastBackup) this.set({ cluster: row.cluster }, row.at);
    },
  });
}

function registerDurations(registry: Registry, { read }: MetricsRegistryOptions): void {
  const registers = [registry];
  new AggregateHistogram({
    name: 'pachops_phase_duration_seconds',
    help: 'How long each phase took when it succeeded, by cluster, kind and phase.',
    labelNames: ['cluster', 'kind', 'phase'],
    registers,
    read: async () => (await read()).phaseSeconds,
  });
  new AggregateHistogram({
    name: 'pachops_downtime_seconds',
    help: 'How long the cluster was paused by a backup or restore, from the start of pause to the end of resume.',
    labelNames: ['cluster', 'kind'],
    registers,
    read: async () => (await read()).downtimeSeconds,
  });
}

function registerCopied(registry: Registry, options: MetricsRegistryOptions): void {
  const copied = (name: string, help: string, field: 'objects' | 'bytes') =>
    new Counter({
      name,
      help,
      labelNames: ['cluster', 'phase'],
      registers: [registry],
      async collect() {
        const rows = (await options.read()).copied;
        this.reset();
        for (const row of rows) this.inc({ cluster: row.cluster, phase: row.phase }, row[field]);
      },
    });
  copied(
    'pachops_mirror_copied_objects_total',
    'Objects copied into the backup bucket (precopy, mirror) or the restore bucket (restore-bucket), by cluster and phase.',
    'objects',
  );
  copied(
    'pachops_mirror_copied_bytes_total',
    'Bytes copied into the backup bucket (precopy, mirror) or the restore bucket (restore-bucket), by cluster and phase.',
    'bytes',
  );
}
