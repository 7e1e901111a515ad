import { resolveCluster } from '../../config/resolve-cluster.ts';
import { PachopsError } from '../../errors.ts';
import type { BotDeps, CommandRequest } from '../deps.ts';
import { clusterChoice } from './channels.ts';
import type { PachCommand } from './parse.ts';
import { startFromSlack } from './start.ts';

/**
 * `/pach backup`: validate, authorise, record the operation (the database refuses a second active one),
 * post the parent message, and start the read-only plan phase. The first approval prompt follows it.
 */
export async function handleBackup(
  deps: BotDeps,
  request: CommandRequest,
  command: Extract<PachCommand, { name: 'backup' }>,
) {
  if (!command.cluster && Object.keys(deps.config.clusters).length > 1)
    return request.reply(clusterChoice(deps.config, request.channelId));
  const cluster = resolveCluster(deps.config, command.cluster);
  const unknown = command.skipDatabases.filter((name) => !cluster.postgres.databases.includes(name));
  if (unknown.length)
    throw new PachopsError(
      'BAD_REQUEST',
      `--skip-db ${unknown.join(', ')}: not a database of ${cluster.name} (${cluster.postgres.databases.join(', ')})`,
      { permanent: true },
    );
  if (command.skipDatabases.length >= cluster.postgres.databases.length)
    throw new PachopsError('BAD_REQUEST', 'a backup needs at least one database', { permanent: true });
  await startFromSlack(deps, {
    kind: 'backup',
    cluster: cluster.name,
    requestedBy: request.userId,
    channel: request.channelId,
    options: { note: command.note, skipDatabases: command.skipDatabases, dryRun: command.dryRun },
  });
}
