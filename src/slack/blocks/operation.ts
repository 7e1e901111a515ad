import type { ClusterConfig } from '../../config/load.ts';
import { formatBytes, formatCount, formatDuration } from '../../format.ts';
import {
  backupInconsistent,
  type Operation,
  type PhaseRecord,
  type PhaseStatus,
  requesterText,
} from '../../operations/model.ts';
import { pruneFinishedText, prunePlanText } from './prune.ts';
import { clock, context, escapeText, header, type KnownBlock, section } from './text.ts';

const ICONS: Record<PhaseStatus, string> = {
  pending: '⬜',
  'awaiting-approval': '🟡',
  queued: '⏳',
  running: '▶️',
  succeeded: '✅',
  failed: '❌',
  skipped: '⏭️',
};

const STATUS_TEXT: Record<Operation['status'], string> = {
  planning: 'estimating sizes',
  'awaiting-approval': 'waiting for approval',
  running: 'running',
  failed: 'failed: see the thread',
  succeeded: 'complete',
  rejected: 'rejected',
  aborted: 'aborted',
  planned: 'dry run: planned only, nothing changed',
  refused: 'refused: nothing was changed',
};

/** The parent message: what will happen, and a checklist updated in place as phases finish. */
export function operationMessage(
  operation: Operation,
  phases: PhaseRecord[],
  cluster: ClusterConfig,
): { text: string; blocks: KnownBlock[] } {
  const dry = operation.options.dryRun ? 'Dry run: ' : '';
  const title =
    operation.kind === 'restore'
      ? `Restore of ${operation.cluster} from ${operation.backupId}`
      : operation.kind === 'prune'
        ? `${dry}Prune of ${operation.cluster}'s backups`
        : `${dry ? 'Dry run: backup' : 'Backup'} of ${operation.cluster}`;
  const text = `${title}: ${STATUS_TEXT[operation.status]}`;
  const blocks: KnownBlock[] = [
    header(title),
    section(planSection(operation, cluster)),
    section(phases.map(checklistLine).join('\n')),
    context(
      `Requested by ${requesterText(operation)} at ${clock(operation.createdAt)} · *${STATUS_TEXT[operation.status]}*` +
        (operation.clusterPaused ? ' · :double_vertical_bar: *cluster paused*' : '') +
        ` · operation \`${operation.id}\``,
    ),
  ];
  return { text, blocks };
}

function planSection(operation: Operation, cluster: ClusterConfig): string {
  if (operation.kind === 'restore') return restorePlanText(operation, cluster);
  if (operation.kind === 'prune') return prunePlanText(operation, cluster);
  return planText(operation, cluster);
}

function planText(operation: Operation, cluster: ClusterConfig): string {
  const plan = operation.state.plan;
  const databases = cluster.postgres.databases
    .filter((name) => !operation.options.skipDatabases.includes(name))
    .map((name) => {
      const size = plan?.databases.find((d) => d.name === name)?.bytes;
      return size === undefined ? name : `${name} (${formatBytes(size)})`;
    });
  const lines = [
    `*Cluster* ${operation.cluster} · namespace \`${cluster.kubernetes.namespace}\` · pause by *${cluster.pause.mode === 'scale' ? 'scaling to 0' : 'pachctl enterprise pause'}*`,
    `*Databases* ${databases.join(', ')}${operation.options.skipDatabases.length ? ` (skipping ${operation.options.skipDatabases.join(', ')})` : ''}`,
    `*Bucket* \`${cluster.objectStore.bucket}\` → backup bucket \`${cluster.backup.bucket}\`` +
      (plan
        ? ` · ${formatCount(plan.objects)} objects, ${formatBytes(plan.objectBytes)}`
        : ' · _sizes being estimated…_'),
    `*Backup id* \`${operation.backupId}\``,
  ];
  if (operation.options.note) lines.push(`*Note* ${escapeText(operation.options.note)}`);
  return lines.join('\n');
}

function restorePlanText(operation: Operation, cluster: ClusterConfig): string {
  const restore = operation.options.restore!;
  const found = operation.state.restore?.manifest;
  const databases = restore.databases.map(
    (d) => `${d.source} → \`${d.target}\`${d.overwrite ? ' :warning: *overwritten*' : ''}`,
  );
  const lines = [
    `*Backup* \`${restore.backupId}\` of ${restore.fromCluster}` +
      (found
        ? ` · taken ${found.createdAt.slice(0, 16).replace('T', ' ')} UTC · pachd ${found.pachd}`
        : ' · _being checked…_'),
    `*Databases* ${databases.join(', ')} on ${cluster.postgres.host}`,
    restore.bucket.reuseBackupBucket
      ? `*Bucket* the backup bucket \`${restore.bucket.name}\` itself :warning: _it stops being a backup_`
      : `*Bucket* new \`${restore.bucket.name}\`${found ? ` · ${formatCount(found.objects)} objects, ${formatBytes(found.objectBytes)} to copy` : ''}`,
    restore.deploy
      ? `*Deploy* Helm release \`${cluster.helm.release}\` in \`${cluster.helm.namespace}\`${found?.chartVersion ? ` · chart ${found.chartVersion}` : ''} · *the cluster is paused meanwhile*`
      : '*Deploy* no: databases and bucket only',
  ];
  if (restore.safetyBackup) lines.push('*Safety backup* first, of what will be replaced');
  return lines.join('\n');
}

function checklistLine(phase: PhaseRecord): string {
  const extra =
    phase.status === 'succeeded' && phase.durationMs !== undefined
      ? ` — ${formatDuration(phase.durationMs)}${phase.summary ? `: ${escapeText(phase.summary)}` : ''}`
      : phase.status === 'awaiting-approval'
        ? ' — waiting for approval'
        : phase.status === 'failed'
          ? ` — failed: ${escapeText(phase.error ?? '')}`
          : phase.status === 'running'
            ? ' — running'
            : '';
  return `${ICONS[phase.status]} *${phase.name}*${extra}`.slice(0, 600);
}

/** The thread's last word on an operation. */
export function finishedText(operation: Operation, cluster: ClusterConfig): string {
  if (operation.kind === 'restore') return restoreFinishedText(operation);
  if (operation.kind === 'prune') return pruneFinishedText(operation);
  const where = `s3://${cluster.backup.bucket}/.pachops/backups/${operation.backupId}/`;
  const downtime =
    operation.state.downtimeMs !== undefined
      ? ` Downtime: ${formatDuration(operation.state.downtimeMs)}.`
      : '';
  if (backupInconsistent(operation)) {
    const missing = formatCount(operation.state.mirror!.consistency!.missing);
    return `:warning: Backup \`${operation.backupId}\` is written (\`${where}\`) but FAILED verification: the cluster's own bucket lacks ${missing} chunk object(s) its database references (above). It is listed as VERIFY FAILED; \`prune\` keeps the newest verified backup.${downtime}`;
  }
  switch (operation.status) {
    case 'succeeded':
      return `:tada: Backup \`${operation.backupId}\` is complete and verified: \`${where}\`.${downtime}`;
    case 'planned':
      return ':memo: Dry run: this is the plan. Nothing was changed; run `/pach backup` without `--dry-run` to do it.';
    case 'rejected':
      return `:no_entry: Backup rejected; nothing more will run.${downtime}`;
    case 'refused':
      return ':no_entry: Backup refused; nothing was changed. The reason is above.';
    default:
      return `:octagonal_sign: Backup ${operation.status}; nothing more will run.${downtime} Partial files under \`${where}\` have no manifest and are not listed as a backup.`;
  }
}

function restoreFinishedText(operation: Operation): string {
  const restore = operation.options.restore!;
  const downtime =
    operation.state.downtimeMs !== undefined
      ? ` Downtime: ${formatDuration(operation.state.downtimeMs)}.`
      : '';
  switch (operation.status) {
    case 'succeeded': {
      const health = operation.state.restore?.health;
      const checked = health
        ? ` All ${formatCount(health.referenced)} chunk objects the restored metadata references are in \`${restore.bucket.name}\`.`
        : '';
      return `:tada: Restore of ${operation.cluster} from \`${restore.backupId}\` is complete.${checked}${downtime}`;
    }
    case 'refused':
      return ':no_entry: Restore refused; nothing was changed. The reason is above.';
    case 'rejected':
      return `:no_entry: Restore rejected; nothing more will run.${downtime}`;
    default:
      return `:octagonal_sign: Restore ${operation.status}; nothing more will run.${downtime} What was already restored stays as it is.`;
  }
}

/** For the users' channels: Pachyderm is back, restored from which backup, and where the details are. */
export function allClearText(operation: Operation, permalink?: string): string {
  const found = operation.state.restore?.manifest;
  const taken = found ? ` (taken ${found.createdAt.slice(0, 16).replace('T', ' ')} UTC)` : '';
  const downtime =
    operation.state.downtimeMs !== undefined
      ? ` It was down for ${formatDuration(operation.state.downtimeMs)}.`
      : '';
  const details = permalink ? ` Details: <${permalink}|the ops thread>.` : '';
  return `:white_check_mark: *Pachyderm ${operation.cluster} is back*, restored from backup \`${operation.backupId}\`${taken}. Data written after that backup is not in it.${downtime}${details}`;
}
