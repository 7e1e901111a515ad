import { resolveCluster } from '../../config/resolve-cluster.ts';
import { PachopsError } from '../../errors.ts';
import { requesterText } from '../../operations/model.ts';
import { formatBackupDetail, formatBackupTable } from '../../storage/backup-summary.ts';
import { clusterOfBackup, isBackupId } from '../../storage/layout.ts';
import { listBackups, readManifest } from '../../storage/manifest.ts';
import type { BotDeps, CommandRequest } from '../deps.ts';
import { USAGE } from './parse.ts';

/** `/pach status`: operations in progress, where they stand, whether a cluster is paused. */
export async function handleStatus(deps: BotDeps, request: CommandRequest): Promise<void> {
  const active = await deps.store.listOperations({ active: true });
  if (!active.length) return request.reply('No operation is in progress.');
  const lines = [];
  for (const operation of active) {
    const phases = await deps.store.getPhases(operation.id);
    const current = phases.find((p) => !['succeeded', 'pending', 'skipped'].includes(p.status));
    lines.push(
      `• *${operation.cluster}*: ${operation.kind} \`${operation.backupId}\` — ${operation.status}` +
        (current ? ` (${current.name}: ${current.status})` : '') +
        (operation.clusterPaused ? ' · :double_vertical_bar: *cluster paused*' : '') +
        ` · requested by ${requesterText(operation)}`,
    );
  }
  return request.reply(lines.join('\n'));
}

/** `/pach list [cluster]`: complete backups (those with a manifest), newest first. */
export async function handleList(
  deps: BotDeps,
  request: CommandRequest,
  clusterName?: string,
): Promise<void> {
  const clusters = clusterName
    ? [resolveCluster(deps.config, clusterName)]
    : Object.values(deps.config.clusters);
  const parts = [];
  for (const cluster of clusters) {
    const manifests = await listBackups(deps.backupBucket(cluster), { cluster: cluster.name });
    parts.push(
      `*${cluster.name}* (\`${cluster.backup.bucket}\`)\n\`\`\`${formatBackupTable(manifests)}\`\`\``,
    );
  }
  return request.reply(parts.join('\n'));
}

/** `/pach show <backup-id>`. */
export async function handleShow(deps: BotDeps, request: CommandRequest, backupId: string): Promise<void> {
  if (!isBackupId(backupId))
    throw new PachopsError(
      'BAD_REQUEST',
      `\`${backupId}\` is not a backup id (they look like prod-20261124t120000z-ab12)`,
      { permanent: true },
    );
  const cluster = clusterOfBackup(deps.config.clusters, backupId);
  if (!cluster)
    throw new PachopsError('BAD_REQUEST', `no configured cluster owns backup ${backupId}`, {
      permanent: true,
    });
  const bucket = deps.backupBucket(cluster);
  const manifest = await readManifest(bucket, backupId);
  if (!manifest)
    return request.reply(
      `No complete backup \`${backupId}\` in \`${bucket.name}\` (an incomplete one has no manifest).`,
    );
  return request.reply(`\`\`\`${formatBackupDetail(manifest, bucket.name)}\`\`\``);
}

export function handleHelp(request: CommandRequest): Promise<void> {
  return request.reply(`*pachops* backs up Pachyderm; every phase waits for an approver.\n${USAGE}`);
}
