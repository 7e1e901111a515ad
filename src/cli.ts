#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { runAbortCommand, runBackupCommand, runRetryCommand } from './cli/backup.ts';
import { type CliContext, createCliContext, EXIT } from './cli/context.ts';
import { runPruneCommand } from './cli/prune.ts';
import { runListCommand, runShowCommand, runStatusCommand, runVerifyCommand } from './cli/read-only.ts';
import { runRestoreCommand } from './cli/restore.ts';
import { runAuditCommand, runResumeCommand } from './cli/safety.ts';
import { ConfigError, describeError, PachopsError } from './errors.ts';
import { limitHeapGrowth } from './lifecycle.ts';

const collect = (value: string, all: string[]) => [...all, value];

/** `pachops`: the bot's operations without Slack, for when Slack itself is down. */
export function buildProgram(run: (action: (ctx: CliContext) => Promise<number>) => Promise<void>): Command {
  const program = new Command('pachops')
    .description(
      'Back up Pachyderm clusters (the same phases as the Slack bot). Configuration: PACHOPS_CONFIG.',
    )
    .exitOverride()
    .showHelpAfterError();
  program
    .command('backup')
    .description('pause the cluster, dump its databases, mirror its bucket, resume, verify')
    .addOption(new Option('--cluster <name>', 'cluster to back up (default: the only one configured)'))
    .option('--note <text>', 'a note stored in the manifest')
    .option('--skip-db <name>', 'leave a database out (repeatable)', collect, [])
    .option('--dry-run', 'show the plan and change nothing', false)
    .option('--yes', 'approve every phase (required: a backup pauses the cluster)', false)
    .action((o) =>
      run((ctx) =>
        runBackupCommand(ctx, {
          cluster: o.cluster,
          note: o.note,
          skipDb: o.skipDb,
          dryRun: o.dryRun,
          yes: o.yes,
        }),
      ),
    );
  program
    .command('restore')
    .description('restore a backup into new databases and a new bucket, and redeploy Pachyderm with Helm')
    .argument('<backup-id>')
    .option('--to-cluster <name>', 'deploy to this cluster (default: the one backed up)')
    .option('--db-suffix <suffix>', 'new database names: <name><suffix> (default _restored_<yyyymmdd>)')
    .option('--db <source=target>', 'name one target database (repeatable)', collect, [])
    .option('--overwrite <database>', 'allow replacing this existing database (repeatable)', collect, [])
    .option('--bucket <name>', 'the new bucket (default <cluster bucket>-restored-<yyyymmdd>)')
    .option(
      '--reuse-backup-bucket',
      'no copy: Pachyderm uses the backup bucket, which stops being a backup',
      false,
    )
    .option('--no-deploy', 'restore databases and bucket only; leave the cluster alone')
    .option(
      '--safety-backup',
      'back up what will be replaced first (default: when a live database is overwritten)',
    )
    .option('--no-safety-backup', 'skip the safety backup')
    .option('--yes', 'approve every phase (required)', false)
    .action((id, o) =>
      run((ctx) =>
        runRestoreCommand(ctx, id, {
          toCluster: o.toCluster,
          dbSuffix: o.dbSuffix,
          db: o.db,
          overwrite: o.overwrite,
          bucket: o.bucket,
          reuseBackupBucket: o.reuseBackupBucket,
          deploy: o.deploy,
          safetyBackup: o.safetyBackup,
          yes: o.yes,
        }),
      ),
    );
  program
    .command('prune')
    .description('delete the backups the retention rules do not keep, and the mirror objects only they list')
    .addOption(
      new Option('--cluster <name>', 'cluster whose backups to prune (default: the only one configured)'),
    )
    .option('--dry-run', 'show the plan (kept, deleted, mirror objects) and delete nothing', false)
    .option('--yes', 'approve the deletion (required unless --dry-run)', false)
    .action((o) => run((ctx) => runPruneCommand(ctx, { cluster: o.cluster, dryRun: o.dryRun, yes: o.yes })));
  program
    .command('list')
    .description('complete backups, newest first')
    .option('--cluster <name>')
    .action((o) => run((ctx) => runListCommand(ctx, o.cluster)));
  program
    .command('show')
    .description('one backup in detail')
    .argument('<backup-id>')
    .action((id) => run((ctx) => runShowCommand(ctx, id)));
  program
    .command('verify')
    .description(
      'check a backup: dump checksums and archives, every object; --drill also restores it into scratch databases',
    )
    .argument('<backup-id>')
    .option(
      '--drill',
      'restore the dumps into scratch databases, check every chunk key against the bucket, drop them',
      false,
    )
    .action((id, o) => run((ctx) => runVerifyCommand(ctx, id, { drill: o.drill })));
  program
    .command('status')
    .description('operations in progress')
    .action(() => run((ctx) => runStatusCommand(ctx)));
  program
    .command('retry')
    .description('run the failed phase of an operation again, then the rest')
    .argument('<operation-id>')
    .option('--yes', 'approve the retry and what follows', false)
    .action((id, o) => run((ctx) => runRetryCommand(ctx, id, o.yes)));
  program
    .command('resume')
    .description('emergency: bring a cluster pachops paused back now; its operation ends as aborted')
    .argument('[cluster]')
    .option('--yes', 'confirm', false)
    .action((cluster, o) => run((ctx) => runResumeCommand(ctx, cluster, o.yes)));
  program
    .command('audit')
    .description('who requested, approved and ran what, newest first')
    .option('--cluster <name>')
    .option('--limit <n>', 'entries to show', (v: string) => Number(v), 50)
    .action((o) => run((ctx) => runAuditCommand(ctx, { cluster: o.cluster, limit: o.limit })));
  program
    .command('abort')
    .description(
      'stop its running phase (as [Abort] does) and end the operation; a paused cluster is resumed first',
    )
    .argument('<operation-id>')
    .option('--yes', 'confirm', false)
    .action((id, o) => run((ctx) => runAbortCommand(ctx, id, o.yes)));
  return program;
}

export async function main(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(async (action) => {
    code = await action(await createCliContext(env, process.stdout));
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    process.stderr.write(`pachops: ${describeError(error)}\n`);
    if (error instanceof ConfigError) return EXIT.usage;
    if (
      error instanceof PachopsError &&
      ['OPERATION_ACTIVE', 'APPROVAL_REQUIRED', 'FORBIDDEN', 'PRUNE_REFUSED', 'OPERATION_CONFLICT'].includes(
        error.code,
      )
    )
      return EXIT.refused;
    return error instanceof PachopsError && error.code === 'BAD_REQUEST' ? EXIT.usage : EXIT.failed;
  }
  return code;
}

// Exit explicitly: idle keep-alive sockets (S3) and pools must not keep a finished command alive.
if (import.meta.main) {
  limitHeapGrowth();
  process.exit(await main(process.argv.slice(2)));
}
