import type { types } from '@slack/bolt';
import { z } from 'zod';
import { formatBytes, formatCount, formatDuration } from '../../format.ts';
import { restoreDate } from '../../operations/restore-request.ts';
import type { Manifest } from '../../storage/manifest.ts';
import type { RestorePrefill } from '../commands/parse.ts';

export const RESTORE_VIEW = 'pachops:restore';
type View = types.ModalView;
type Option = types.PlainTextOption;

const text = (value: string) => ({ type: 'plain_text' as const, text: value.slice(0, 150) });
const option = (label: string, value: string, description?: string): Option => ({
  text: text(label.slice(0, 75)),
  value,
  ...(description ? { description: text(description.slice(0, 75)) } : {}),
});

/** Shown at once (the trigger id lives 3 s), replaced when the backups have been listed. */
export function loadingView(channelId: string): View {
  return {
    type: 'modal',
    callback_id: RESTORE_VIEW,
    private_metadata: JSON.stringify({ channelId }),
    title: text('Restore Pachyderm'),
    close: text('Cancel'),
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: ':hourglass: Listing complete backups…' } }],
  };
}

/** The restore form: which backup, where to, into which databases and bucket, and whether to deploy. */
export function restoreModal(input: {
  channelId: string;
  backups: Manifest[];
  clusters: string[];
  prefill: RestorePrefill;
  now?: Date;
}): View {
  const { backups, prefill } = input;
  const now = input.now ?? new Date();
  if (!backups.length) return emptyView(input.channelId);
  const options = backups.slice(0, 100).map((m) => backupOption(m, now));
  const chosen = options.find((o) => o.value === prefill.backupId);
  const clusterOptions = input.clusters.map((c) => option(c, c));
  const toCluster = clusterOptions.find((o) => o.value === prefill.toCluster);
  const checkbox = (value: string, label: string, description: string) => option(label, value, description);
  const overwriteOk = checkbox(
    'overwrite',
    'Yes, replace the databases named above',
    'Their current contents are lost',
  );
  const reuse = checkbox('reuse', 'Reuse the backup bucket', 'No copy; the bucket then stops being a backup');
  const deploy = checkbox(
    'deploy',
    'Redeploy Pachyderm with Helm',
    'With the saved values, pointed at the restore',
  );
  return {
    type: 'modal',
    callback_id: RESTORE_VIEW,
    private_metadata: JSON.stringify({ channelId: input.channelId }),
    title: text('Restore Pachyderm'),
    submit: text('Plan the restore'),
    close: text('Cancel'),
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: 'Nothing changes when you submit: a plan is posted first, and each phase waits for an approver.',
        },
      },
      selectInput('backup', 'Backup (newest first)', options, chosen),
      selectInput(
        'cluster',
        'Deploy to cluster (default: the one backed up)',
        clusterOptions,
        toCluster,
        true,
      ),
      textInput(
        'db_suffix',
        'New database names: suffix',
        prefill.dbSuffix ?? `_restored_${restoreDate(now)}`,
      ),
      textInput('db_targets', 'Or name them (one per line: source=target)', undefined, true, true),
      textInput(
        'overwrite',
        'Overwrite existing databases: name them again (comma-separated)',
        undefined,
        true,
      ),
      checkboxInput('overwrite_ok', [overwriteOk], []),
      textInput('bucket', 'New bucket (default: <cluster bucket>-restored-<date>)', prefill.bucket, true),
      checkboxInput('reuse', [reuse], prefill.reuseBackupBucket ? [reuse] : []),
      checkboxInput('deploy', [deploy], prefill.deploy ? [deploy] : []),
    ] as types.KnownBlock[],
  };
}

function backupOption(m: Manifest, now: Date): Option {
  const age = formatDuration(now.getTime() - Date.parse(m.completedAt));
  const dbBytes = m.databases.reduce((sum, d) => sum + d.bytes, 0);
  const verified = m.verification ? (m.verification.ok ? 'verified' : 'VERIFY FAILED') : 'not verified';
  return option(
    `${m.backupId} · ${age} ago`,
    m.backupId,
    `pachd ${m.pachd.version} · dbs ${formatBytes(dbBytes)} · ${formatCount(m.objects.count)} objects · ${verified}`,
  );
}

function emptyView(channelId: string): View {
  return {
    ...loadingView(channelId),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: 'There is no complete backup to restore yet.' } },
    ],
  };
}

function selectInput(id: string, label: string, options: Option[], initial?: Option, optional = false) {
  return {
    type: 'input',
    block_id: id,
    optional,
    label: text(label),
    element: {
      type: 'static_select',
      action_id: id,
      options,
      ...(initial ? { initial_option: initial } : {}),
    },
  };
}

function textInput(id: string, label: string, initial?: string, optional = false, multiline = false) {
  return {
    type: 'input',
    block_id: id,
    optional,
    label: text(label),
    element: {
      type: 'plain_text_input',
      action_id: id,
      multiline,
      ...(initial ? { initial_value: initial } : {}),
    },
  };
}

function checkboxInput(id: string, options: Option[], initial: Option[]) {
  return {
    type: 'input',
    block_id: id,
    optional: true,
    label: text(' '),
    element: {
      type: 'checkboxes',
      action_id: id,
      options,
      ...(initial.length ? { initial_options: initial } : {}),
    },
  };
}

const Selected = z.object({ selected_option: z.object({ value: z.string() }).nullish() }).partial();
const Typed = z.object({ value: z.string().nullish() }).partial();
const Checked = z.object({ selected_options: z.array(z.object({ value: z.string() })).nullish() }).partial();
const StateValues = z.record(z.string(), z.record(z.string(), z.unknown()));

export interface RestoreSubmission {
  backupId?: string;
  toCluster?: string;
  dbSuffix?: string;
  targets: Record<string, string>;
  overwrite: string[];
  bucket?: string;
  reuseBackupBucket: boolean;
  deploy: boolean;
  channelId: string;
}

/** The form's state, read through zod; `db_targets` lines that are not `a=b` are a field error. */
export function readRestoreSubmission(view: {
  state: { values: unknown };
  private_metadata?: string;
}): { ok: true; value: RestoreSubmission } | { ok: false; errors: Record<string, string> } {
  const values = StateValues.parse(view.state.values);
  const field = (id: string) => values[id]?.[id];
  const typed = (id: string) => Typed.parse(field(id) ?? {}).value?.trim() || undefined;
  const checked = (id: string) => (Checked.parse(field(id) ?? {}).selected_options ?? []).map((o) => o.value);
  const targets: Record<string, string> = {};
  for (const line of (typed('db_targets') ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)) {
    const match = /^([A-Za-z0-9_]+)\s*=\s*([A-Za-z0-9_]+)$/.exec(line);
    if (!match) return { ok: false, errors: { db_targets: `"${line}" is not source=target` } };
    targets[match[1]] = match[2];
  }
  const overwrite = (typed('overwrite') ?? '').split(/[\s,]+/).filter(Boolean);
  if (overwrite.length && !checked('overwrite_ok').includes('overwrite')) {
    return { ok: false, errors: { overwrite_ok: 'tick this to replace the databases you named' } };
  }
  const { channelId } = z.object({ channelId: z.string() }).parse(JSON.parse(view.private_metadata ?? '{}'));
  return {
    ok: true,
    value: {
      backupId: Selected.parse(field('backup') ?? {}).selected_option?.value,
      toCluster: Selected.parse(field('cluster') ?? {}).selected_option?.value,
      dbSuffix: typed('db_suffix'),
      targets,
      overwrite,
      bucket: typed('bucket'),
      reuseBackupBucket: checked('reuse').includes('reuse'),
      deploy: checked('deploy').includes('deploy'),
      channelId,
    },
  };
}
