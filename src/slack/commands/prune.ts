import { resolveCluster } from '../../config/resolve-cluster.ts';
import { PachopsError } from '../../errors.ts';
import { pruneRetention, pruneTag } from '../../operations/prune-request.ts';
import type { BotDeps, CommandRequest } from '../deps.ts';
import type { PachCommand } from './parse.ts';
import { startFromSlack } from './start.ts';

/**
 * `/pach prune [cluster] [--dry-run]`: a dry run (anyone who may request) posts the plan and ends; a real
 * prune (approvers only) posts the plan, then waits for an approval before deleting anything. Either way
 * it is an operation: a real one holds the cluster's lock, so no backup runs meanwhile.
 */
export async function handlePrune(
  deps: BotDeps,
  request: CommandRequest,
  command: Extract<PachCommand, { name: 'prune' }>,
): Promise<void> {
  const cluster = resolveCluster(deps.config, command.cluster);
  pruneRetention(deps.config, cluster);
  if (!command.dryRun) {
    if (!(await deps.isApprover(cluster.name, request.userId)))
      throw new PachopsError(
        'FORBIDDEN',
        `only approvers of ${cluster.name} can prune its backups; \`/pach prune --dry-run\` shows the plan to anyone`,
        { permanent: true },
      );
  }
  await startFromSlack(deps, {
    kind: 'prune',
    cluster: cluster.name,
    requestedBy: request.userId,
    channel: request.channelId,
    backupId: pruneTag(cluster.name),
    options: { skipDatabases: [], dryRun: command.dryRun },
  });
}
