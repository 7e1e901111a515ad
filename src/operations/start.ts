import { randomBytes, randomUUID } from 'node:crypto';
import { describeError, PachopsError } from '../errors.ts';
import { makeBackupId } from '../storage/layout.ts';
import type { FlowDeps } from './advance.ts';
import type { BackupOptions, Operation, OperationKind } from './model.ts';
import { crossClusterConflict } from './prune-request.ts';

export interface StartInput {
  kind: OperationKind;
  cluster: string;
  requestedBy: string;
  via: 'slack' | 'cli' | 'schedule';
  options: BackupOptions;
  /** A restore names the backup it restores; a backup gets a new id. */
  backupId?: string;
  /** Slack: the channel where the thread starts. */
  channel?: string;
  /** Called once the operation exists, before its first phase runs (the CLI tracks it for Ctrl-C). */
  onCreated?: (operation: Operation) => void;
}

/**
 * Records an operation (the database refuses a second active one on the cluster), audits the request,
 * posts its parent message and starts the read-only plan phase. Shared by Slack and the CLI.
 */
export async function startOperation(deps: FlowDeps, input: StartInput): Promise<Operation> {
  const cluster = deps.config.clusters[input.cluster];
  const drill = input.kind === 'backup' && !input.options.dryRun && cluster?.drill.afterBackup;
  const noPrecopy = input.kind === 'backup' && cluster?.mirror.precopy === false;
  const operation = await deps.store.createOperation({
    id: randomUUID(),
    kind: input.kind,
    cluster: input.cluster,
    requestedBy: input.requestedBy,
    via: input.via,
    options: {
      ...input.options,
      ...(drill ? { drill: true } : {}),
      ...(noPrecopy ? { noPrecopy: true } : {}),
    },
    backupId: input.backupId ?? makeBackupId(input.cluster, new Date(), randomBytes(2).toString('hex')),
  });
  const conflict = await crossClusterConflict(deps.store, operation);
  if (conflict) {
    await deps.store.setStatus(operation.id, 'refused', { finished: true });
    throw new PachopsError('OPERATION_CONFLICT', conflict, { permanent: true });
  }
  input.onCreated?.(operation);
  await deps.store.audit({
    operationId: operation.id,
    cluster: input.cluster,
    actor: input.requestedBy,
    action: 'operation.requested',
    details: { kind: input.kind, ...input.options },
  });
  deps.log.info(
    { operationId: operation.id, kind: input.kind, cluster: input.cluster, by: input.requestedBy },
    'operation requested',
  );
  try {
    await deps.reporter.operationStarted(operation, input.channel ? { channel: input.channel } : undefined);
  } catch (error) {
    // Nothing has touched the cluster yet: release the lock rather than leave a dead operation behind.
    await deps.store.setStatus(operation.id, 'aborted', { finished: true });
    throw new PachopsError('START_FAILED', `could not start the ${input.kind}: ${describeError(error)}`, {
      cause: error,
    });
  }
  // In the CLI this runs the whole operation; a phase's failure is reported there, not thrown here.
  await deps.dispatcher.dispatch(operation.id, 'plan', 'policy:auto').catch(async (error) => {
    if (!(error instanceof PachopsError) || error.code !== 'QUEUE_UNAVAILABLE') throw error;
    await deps.store.setStatus(operation.id, 'aborted', { finished: true });
    throw error;
  });
  return operation;
}
