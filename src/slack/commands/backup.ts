import { randomBytes, randomUUID } from 'node:crypto';
import { resolveCluster } from '../../config/resolve-cluster.ts';
import { describeError, PachopsError } from '../../errors.ts';
import { makeBackupId } from '../../storage/layout.ts';
import type { BotDeps, CommandRequest } from '../deps.ts';
import type { PachCommand } from './parse.ts';

/**
 * `/pach backup`: validate, authorise, record the operation (the database refuses a second active one),
 * post the parent message, and start the read-only plan phase. The first approval prompt follows it.
 */
export async function handleBackup(
  deps: BotDeps,
  request: CommandRequest,
  command: Extract<PachCommand, { name: 'backup' }>,
) {
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
  if (!(await deps.isRequester(request.userId))) {
    throw new PachopsError('FORBIDDEN', 'you are not allowed to request operations (slack.requesters)', {
      permanent: true,
    });
  }
  const operation = await deps.store
    .createOperation({
      id: randomUUID(),
      kind: 'backup',
      cluster: cluster.name,
      requestedBy: request.userId,
      via: 'slack',
      options: { note: command.note, skipDatabases: command.skipDatabases, dryRun: command.dryRun },
      backupId: makeBackupId(cluster.name, new Date(), randomBytes(2).toString('hex')),
    })
    .catch(async (error) => {
      if (error instanceof PachopsError && error.code === 'OPERATION_ACTIVE')
        throw await activeRefusal(deps, cluster.name);
      throw error;
    });
  await deps.store.audit({
    operationId: operation.id,
    cluster: cluster.name,
    actor: request.userId,
    action: 'operation.requested',
    details: { kind: 'backup', ...operation.options },
  });
  deps.log.info(
    { operationId: operation.id, slackUser: request.userId, cluster: cluster.name },
    'backup requested',
  );
  try {
    await deps.reporter.operationStarted(operation, { channel: request.channelId });
    await deps.dispatcher.dispatch(operation.id, 'plan', 'policy:auto');
  } catch (error) {
    // Nothing has touched the cluster yet: release the lock rather than leave a dead operation behind.
    await deps.store.setStatus(operation.id, 'aborted', { finished: true });
    throw new PachopsError('START_FAILED', `could not start the backup: ${describeError(error)}`, {
      cause: error,
    });
  }
}

/** The refusal for a second operation, in Slack's terms: who started the active one and where it is. */
async function activeRefusal(deps: BotDeps, cluster: string): Promise<PachopsError> {
  const active = await deps.store.activeOperation(cluster);
  const where = active?.thread ? ` (its thread is in <#${active.thread.channel}>)` : '';
  const what = active
    ? `: ${active.kind} \`${active.backupId}\`, ${active.status}, requested by ${active.via === 'slack' ? `<@${active.requestedBy}>` : active.requestedBy}${where}`
    : '';
  return new PachopsError('OPERATION_ACTIVE', `${cluster} already has an active operation${what}`, {
    permanent: true,
    hint: 'only one operation per cluster runs at a time; finish or abort that one first',
  });
}
