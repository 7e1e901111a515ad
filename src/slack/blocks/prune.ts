import type { ClusterConfig } from '../../config/load.ts';
import { formatBytes, formatCount } from '../../format.ts';
import type { Operation } from '../../operations/model.ts';

/** The parent message's plan section of a prune. */
export function prunePlanText(operation: Operation, cluster: ClusterConfig): string {
  const record = operation.state.prune;
  const rules = cluster.retention
    ? Object.entries(cluster.retention)
        .filter(([, n]) => n)
        .map(([rule, n]) => `${rule} ${n}`)
        .join(', ')
    : 'none configured';
  const lines = [`*Backup bucket* \`${cluster.backup.bucket}\` · *retention* ${rules}`];
  if (!record) lines.push('_reading the backups…_');
  else {
    const { plan, garbage } = record;
    lines.push(
      `*Keep* ${plan.keep.length} backup(s) · *delete* ${plan.prune.length}` +
        ` · ${formatCount(garbage.objects)} mirror objects (${formatBytes(garbage.bytes)}) no kept backup lists`,
    );
  }
  return lines.join('\n');
}

/** The thread's last word on a prune. */
export function pruneFinishedText(operation: Operation): string {
  const deleted = operation.state.prune?.deleted;
  switch (operation.status) {
    case 'succeeded':
      return `:broom: Prune of ${operation.cluster} complete: ${deleted?.backups ?? 0} backup(s) (${formatCount(deleted?.files ?? 0)} files, ${formatBytes(deleted?.fileBytes ?? 0)}) and ${formatCount(deleted?.objects ?? 0)} mirror objects (${formatBytes(deleted?.bytes ?? 0)}) deleted.`;
    case 'planned':
      return ':memo: Dry run: this is the plan. Nothing was deleted; run `/pach prune` without `--dry-run` to do it.';
    case 'refused':
      return ':no_entry: Prune refused; nothing was deleted. The reason is above.';
    case 'rejected':
      return ':no_entry: Prune rejected; nothing was deleted.';
    default:
      return `:octagonal_sign: Prune ${operation.status}. Backups whose manifest is already deleted are no longer listed; a new prune deletes what is left of them.`;
  }
}
