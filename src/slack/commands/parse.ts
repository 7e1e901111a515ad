import { parseArgs } from 'node:util';
import { parseArgsStringToArgv } from 'string-argv';

export type PachCommand =
  | { name: 'backup'; cluster?: string; note?: string; skipDatabases: string[]; dryRun: boolean }
  | { name: 'prune'; cluster?: string; dryRun: boolean }
  | { name: 'status' }
  | { name: 'list'; cluster?: string }
  | { name: 'show'; backupId: string }
  | { name: 'restore'; prefill: RestorePrefill }
  | { name: 'resume'; cluster?: string }
  | { name: 'schedule-backup'; cluster: string; cron: string; tz: string; note?: string }
  | { name: 'schedule-list' }
  | { name: 'schedule-delete'; id: string }
  | { name: 'audit'; cluster?: string }
  | { name: 'help' };

/** What `/pach restore <backup-id> [--to-cluster X] …` fills into the restore modal. */
export interface RestorePrefill {
  backupId?: string;
  toCluster?: string;
  dbSuffix?: string;
  bucket?: string;
  reuseBackupBucket: boolean;
  deploy: boolean;
}

export class UsageError extends Error {}

export const USAGE = [
  '`/pach backup [cluster] [--note "…"] [--skip-db NAME]… [--dry-run]` — back up a cluster (name it when several are configured; each phase waits for approval)',
  '`/pach status` — operations in progress',
  '`/pach list [cluster]` — complete backups, newest first',
  '`/pach show <backup-id>` — one backup in detail',
  '`/pach restore [backup-id] [--to-cluster X] [--db-suffix S] [--bucket B] [--reuse-backup-bucket] [--no-deploy]` — opens the restore form, pre-filled',
  '`/pach schedule backup <cluster> "<cron>" [--tz Europe/Berlin] [--note "…"]`, `/pach schedule list`, `/pach schedule delete <id>` — scheduled backups (approvers)',
  '`/pach prune [cluster] [--dry-run]` — delete the backups the retention rules do not keep (approvers; `--dry-run`: the plan only, anyone)',
  '`/pach resume [cluster]` — emergency: bring a cluster pachops paused back now (approvers)',
  '`/pach audit [cluster]` — who requested, approved and ran what, newest first',
  '`/pach help` — this text',
].join('\n');

/** Slack turns typed quotes into typographic ones; the parser wants ASCII. */
function normalizeQuotes(text: string): string {
  return text.replace(/[\u201C\u201D\u201E\u00AB\u00BB]/g, '"').replace(/[\u2018\u2019\u201A]/g, "'");
}

/** `/pach` text → a command, or a UsageError saying what is wrong. */
export function parsePachCommand(text: string): PachCommand {
  const argv = parseArgsStringToArgv(normalizeQuotes(text.trim()));
  const [name, ...rest] = argv;
  try {
    switch (name) {
      case undefined:
      case 'help':
        return { name: 'help' };
      case 'backup':
        return parseBackup(rest);
      case 'prune': {
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          strict: true,
          options: { 'dry-run': { type: 'boolean', default: false } },
        });
        expectPositionals(positionals, 1, 'prune');
        return { name: 'prune', cluster: positionals[0], dryRun: values['dry-run'] ?? false };
      }
      case 'status':
        expectPositionals(
          parseArgs({ args: rest, allowPositionals: true, strict: true }).positionals,
          0,
          'status',
        );
        return { name: 'status' };
      case 'list': {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, strict: true });
        expectPositionals(positionals, 1, 'list');
        return { name: 'list', cluster: positionals[0] };
      }
      case 'show': {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, strict: true });
        if (positionals.length !== 1) throw new UsageError('`/pach show` takes one backup id');
        return { name: 'show', backupId: positionals[0] };
      }
      case 'restore':
        return parseRestore(rest);
      case 'schedule':
        return parseSchedule(rest);
      case 'resume':
      case 'audit': {
        const { positionals } = parseArgs({ args: rest, allowPositionals: true, strict: true });
        expectPositionals(positionals, 1, name);
        return { name, cluster: positionals[0] };
      }
      default:
        throw new UsageError(`unknown command \`${name}\``);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    // node:util parseArgs errors name the bad option ("Unknown option '--foo'").
    throw new UsageError((error as Error).message.replace(/\. To specify a positional.*$/, ''));
  }
}

function parseBackup(args: string[]): PachCommand {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      note: { type: 'string' },
      'skip-db': { type: 'string', multiple: true },
      'dry-run': { type: 'boolean', default: false },
    },
  });
  expectPositionals(positionals, 1, 'backup');
  if (values.note !== undefined && values.note.length > 500)
    throw new UsageError('--note is limited to 500 characters');
  return {
    name: 'backup',
    cluster: positionals[0],
    note: values.note,
    skipDatabases: values['skip-db'] ?? [],
    dryRun: values['dry-run'] ?? false,
  };
}

function parseSchedule(args: string[]): PachCommand {
  const [verb, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    strict: true,
    options: { tz: { type: 'string' }, note: { type: 'string' } },
  });
  if (verb === 'list' && !positionals.length) return { name: 'schedule-list' };
  if (verb === 'delete' && positionals.length === 1) return { name: 'schedule-delete', id: positionals[0] };
  if (verb === 'backup' && positionals.length === 2) {
    return {
      name: 'schedule-backup',
      cluster: positionals[0],
      cron: positionals[1],
      tz: values.tz ?? 'UTC',
      note: values.note,
    };
  }
  throw new UsageError(
    '`/pach schedule backup <cluster> "<cron>" [--tz Zone]`, `/pach schedule list` or `/pach schedule delete <id>`',
  );
}

function parseRestore(args: string[]): PachCommand {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      'to-cluster': { type: 'string' },
      'db-suffix': { type: 'string' },
      bucket: { type: 'string' },
      'reuse-backup-bucket': { type: 'boolean', default: false },
      'no-deploy': { type: 'boolean', default: false },
    },
  });
  expectPositionals(positionals, 1, 'restore');
  return {
    name: 'restore',
    prefill: {
      backupId: positionals[0],
      toCluster: values['to-cluster'],
      dbSuffix: values['db-suffix'],
      bucket: values.bucket,
      reuseBackupBucket: values['reuse-backup-bucket'] ?? false,
      deploy: !values['no-deploy'],
    },
  };
}

function expectPositionals(positionals: string[], max: number, command: string): void {
  if (positionals.length > max)
    throw new UsageError(`\`/pach ${command}\` does not take \`${positionals.slice(max).join(' ')}\``);
}
