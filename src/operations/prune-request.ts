import type { ClusterConfig, Config } from '../config/load.ts';
import type { Retention } from '../config/schema.ts';
import { PachopsError } from '../errors.ts';
import type { Operation } from './model.ts';
import type { StateStore } from './store.ts';

/** A prune's tag in the operations table (its `backup_id` column): never a backup id. */
export function pruneTag(cluster: string, at = new Date()): string {
  return `${cluster}-prune-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'z')
    .toLowerCase()}`;
}

function refuse(message: string): never {
  throw new PachopsError('PRUNE_REFUSED', message, { permanent: true });
}

/**
 * The cluster's retention rules, or a refusal naming the key to set; and a refusal when another cluster
 * backs up into the same bucket (its objects are in no list of this cluster's, and would look unneeded).
 */
export function pruneRetention(config: Config, cluster: ClusterConfig): Retention {
  if (!cluster.retention)
    refuse(
      `no retention configured for ${cluster.name}: set clusters.${cluster.name}.retention (e.g. { keepLast: 7, keepDaily: 14, keepWeekly: 8 }) to say which backups prune keeps`,
    );
  const sharing = Object.values(config.clusters).find(
    (other) =>
      other.name !== cluster.name &&
      other.backup.bucket === cluster.backup.bucket &&
      (other.backup.endpoint ?? '') === (cluster.backup.endpoint ?? ''),
  );
  if (sharing)
    refuse(
      `${sharing.name} backs up into the same bucket ${cluster.backup.bucket} as ${cluster.name}: prune only a backup bucket that one cluster uses`,
    );
  return cluster.retention;
}

/**
 * A prune of cluster A and a restore from A's backups into another cluster B hold different locks (A's
 * and B's), so each checks for the other once its own operation is recorded: whichever looks second
 * sees the first and is refused (both may be, never neither). Returns why, or undefined.
 */
export async function crossClusterConflict(
  store: StateStore,
  operation: Operation,
): Promise<string | undefined> {
  if (operation.options.dryRun) return undefined;
  const from = operation.options.restore?.fromCluster;
  if (operation.kind !== 'prune' && !(operation.kind === 'restore' && from && from !== operation.cluster))
    return undefined;
  const active = await store.listOperations({ active: true, limit: 1000 });
  const other = active.find((op) =>
    op.id === operation.id || op.options.dryRun
      ? false
      : operation.kind === 'prune'
        ? op.kind === 'restore' && op.options.restore?.fromCluster === operation.cluster
        : op.kind === 'prune' && op.cluster === from,
  );
  if (!other) return undefined;
  return operation.kind === 'prune'
    ? `a restore of ${other.cluster} from ${operation.cluster}'s backup ${other.backupId} is in progress (operation ${other.id}); prune when it has ended`
    : `a prune of ${from}'s backups is in progress (operation ${other.id}); restore from them when it has ended`;
}
