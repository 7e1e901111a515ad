import type { ClusterConfig } from '../../config/load.ts';
import { formatBytes, formatCount, formatDuration } from '../../format.ts';
import type { Operation, PhaseRecord, PhaseStatus } from '../../operations/model.ts';
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
};

/** The parent message: what will happen, and a checklist updated in place as phases finish. */
export function operationMessage(
  operation: Operation,
  phases: PhaseRecord[],
  cluster: ClusterConfig,
): { text: string; blocks: KnownBlock[] } {
  const title = `${operation.options.dryRun ? 'Dry run: backup' : 'Backup'} of ${operation.cluster}`;
  const text = `${title}: ${STATUS_TEXT[operation.status]}`;
  const blocks: KnownBlock[] = [
    header(title),
    section(planText(operation, cluster)),
    section(phases.map(checklistLine).join('\n')),
    context(
      `Requested by <@${operation.requestedBy}> at ${clock(operation.createdAt)} · *${STATUS_TEXT[operation.status]}*` +
        (operation.clusterPaused ? ' · :double_vertical_bar: *cluster paused*' : '') +
        ` · operation \`${operation.id}\``,
    ),
  ];
  return { text, blocks };
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
  const where = `s3://${cluster.backup.bucket}/.pachops/backups/${operation.backupId}/`;
  const downtime =
    operation.state.downtimeMs !== undefined
      ? ` Downtime: ${formatDuration(operation.state.downtimeMs)}.`
      : '';
  switch (operation.status) {
    case 'succeeded':
      return `:tada: Backup \`${operation.backupId}\` is complete and verified: \`${where}\`.${downtime}`;
    case 'planned':
      return ':memo: Dry run: this is the plan. Nothing was changed; run `/pach backup` without `--dry-run` to do it.';
    case 'rejected':
      return `:no_entry: Backup rejected; nothing more will run.${downtime}`;
    default:
      return `:octagonal_sign: Backup ${operation.status}; nothing more will run.${downtime} Partial files under \`${where}\` have no manifest and are not listed as a backup.`;
  }
}
