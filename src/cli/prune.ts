import { resolveCluster } from '../config/resolve-cluster.ts';
import { PachopsError } from '../errors.ts';
import { pruneRetention, pruneTag } from '../operations/prune-request.ts';
import { startOperation } from '../operations/start.ts';
import { withRunner } from './backup.ts';
import type { CliContext } from './context.ts';

export interface PruneFlags {
  cluster?: string;
  dryRun: boolean;
  yes: boolean;
}

/** `pachops prune`: the same operation as `/pach prune`, run here; `--yes` approves the deletion. */
export async function runPruneCommand(ctx: CliContext, flags: PruneFlags): Promise<number> {
  const cluster = resolveCluster(ctx.config, flags.cluster);
  pruneRetention(ctx.config, cluster);
  if (!flags.yes && !flags.dryRun)
    throw new PachopsError(
      'APPROVAL_REQUIRED',
      'a prune deletes backups for good: pass --yes to approve it, or --dry-run to see the plan',
      { permanent: true },
    );
  return withRunner(ctx, ['succeeded', 'planned'], async (_store, runner, track) => {
    await startOperation(runner, {
      kind: 'prune',
      cluster: cluster.name,
      requestedBy: ctx.actor,
      via: 'cli',
      backupId: pruneTag(cluster.name),
      options: { skipDatabases: [], dryRun: flags.dryRun },
      onCreated: (operation) => track(operation.id),
    });
  });
}
