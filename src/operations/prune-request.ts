import type { ClusterConfig, Config } from '../config/load.ts';
import type { Retention } from '../config/schema.ts';
import { PachopsError } from '../errors.ts';
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
 * Before a real prune starts: retention is set, and no restore is reading this cluster's backups (a
 * restore into another cluster holds that cluster's lock, not this one's).
 */
export async function checkPruneRequest(
  deps: { config: Config; store: StateStore },
  cluster: ClusterConfig,
): Promise<void> {
  pruneRetention(deps.config, cluster);
  const active = await deps.store.listOperations({ active: true, limit: 1000 });
  const restoring = active.find(
    (op) => op.kind === 'restore' && op.options.restore?.fromCluster === cluster.name && !op.options.dryRun,
  );
  if (restoring)
    refuse(
      `a restore of ${restoring.cluster} from ${cluster.name}'s backup ${restoring.backupId} is in progress (operation ${restoring.id}); prune when it has ended`,
    );
}
