import { resolveCluster } from '../config/resolve-cluster.ts';
import { PachopsError } from '../errors.ts';
import { advance, finishOperation, resumeThenEnd } from '../operations/advance.ts';
import type { Operation, OperationStatus } from '../operations/model.ts';
import { startOperation } from '../operations/start.ts';
import type { StateStore } from '../operations/store.ts';
import { createCliPorts } from './cli-reporter.ts';
import { type CliContext, EXIT } from './context.ts';
import { createLocalRunner } from './run-local.ts';
import { stopRunningPhase } from './stop-running.ts';

export interface BackupFlags {
  cluster?: string;
  note?: string;
  skipDb: string[];
  dryRun: boolean;
  yes: boolean;
}

/** `pachops backup`: the same phases as Slack, run here, every approval given by `--yes`. */
export async function runBackupCommand(ctx: CliContext, flags: BackupFlags): Promise<number> {
  const cluster = resolveCluster(ctx.config, flags.cluster);
  if (!flags.yes && !flags.dryRun) {
    throw new PachopsError(
      'APPROVAL_REQUIRED',
      'a backup pauses the cluster: pass --yes to approve every phase, or --dry-run to see the plan',
      { permanent: true },
    );
  }
  const unknown = flags.skipDb.filter((db) => !cluster.postgres.databases.includes(db));
  if (unknown.length)
    throw new PachopsError(
      'BAD_REQUEST',
      `--skip-db ${unknown.join(', ')}: not a database of ${cluster.name}`,
      { permanent: true },
    );
  return withRunner(ctx, ['succeeded', 'planned'], async (_store, runner, track) => {
    await startOperation(runner, {
      kind: 'backup',
      cluster: cluster.name,
      requestedBy: ctx.actor,
      via: 'cli',
      options: { note: flags.note, skipDatabases: flags.skipDb, dryRun: flags.dryRun },
      onCreated: (operation) => track(operation.id),
    });
  });
}

/** `pachops retry <operation>`: runs the failed phase again, then the rest. */
export async function runRetryCommand(ctx: CliContext, operationId: string, yes: boolean): Promise<number> {
  if (!yes)
    throw new PachopsError('APPROVAL_REQUIRED', 'pass --yes to approve the retry and the phases after it', {
      permanent: true,
    });
  return withRunner(ctx, ['succeeded', 'planned'], async (store, runner, track) => {
    const operation = await activeOperation(store, operationId);
    track(operation.id);
    // An operation ending with a resume (emergency resume, Reject while paused) goes on only with it.
    const failed = operation.state.endAfterResume
      ? (await store.getPhase(operation.id, 'resume'))!
      : (await store.getPhases(operation.id)).find((p) => p.status === 'failed');
    await store.audit({
      operationId,
      cluster: operation.cluster,
      actor: ctx.actor,
      action: `${failed?.name ?? 'next'}.retry`,
    });
    // The thread's open prompts (a Slack operation's [Retry], [Resume cluster]) no longer start anything.
    await runner.prompts.supersede(operation.id);
    if (failed) await runner.dispatcher.dispatch(operation.id, failed.name, ctx.actor);
    else await advance(runner, operation.id);
  });
}

/** `pachops abort <operation>`: stops a running phase, ends the operation; a paused cluster is resumed first. */
export async function runAbortCommand(ctx: CliContext, operationId: string, yes: boolean): Promise<number> {
  if (!yes)
    throw new PachopsError('APPROVAL_REQUIRED', 'pass --yes to abort (a paused cluster is resumed first)', {
      permanent: true,
    });
  return withRunner(ctx, ['aborted'], async (store, runner, track) => {
    let operation = await activeOperation(store, operationId);
    await stopRunningPhase(ctx, store, operation);
    operation = await activeOperation(store, operationId);
    track(operation.id);
    await store.audit({
      operationId,
      cluster: operation.cluster,
      actor: ctx.actor,
      action: 'operation.abort',
    });
    await runner.prompts.supersede(operation.id);
    if (operation.clusterPaused) await resumeThenEnd(runner, operation.id, 'aborted', ctx.actor);
    else await finishOperation(runner, operation, 'aborted');
  });
}

async function activeOperation(store: StateStore, id: string): Promise<Operation> {
  const operation = await store.getOperation(id);
  if (!operation)
    throw new PachopsError('BAD_REQUEST', `no operation ${id}; \`pachops status\` lists the active ones`, {
      permanent: true,
    });
  if (operation.finishedAt)
    throw new PachopsError('BAD_REQUEST', `operation ${id} has already ended (${operation.status})`, {
      permanent: true,
    });
  return operation;
}

/** Opens the store and a local runner; Ctrl-C stops the running phase (and a paused cluster is resumed). */
export async function withRunner(
  ctx: CliContext,
  success: OperationStatus[],
  body: (
    store: StateStore,
    runner: ReturnType<typeof createLocalRunner>,
    track: (operationId: string) => void,
  ) => Promise<void>,
): Promise<number> {
  const store = await ctx.openStore();
  const controller = new AbortController();
  const onSignal = () => {
    ctx.out.write('interrupted: stopping the running phase (a paused cluster will be resumed)…\n');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  const { reporter, announcer } = createCliPorts(ctx, store);
  const runner = createLocalRunner({
    config: ctx.config,
    store,
    reporter,
    announcer,
    log: ctx.log,
    signal: controller.signal,
    actor: ctx.actor,
  });
  let operationId: string | undefined;
  try {
    try {
      await body(store, runner, (id) => {
        operationId = id;
      });
    } catch (error) {
      // Before an operation exists, the error is the answer; after, a phase failed and the reporter said so.
      if (!operationId) throw error;
    } finally {
      process.removeListener('SIGINT', onSignal);
    }
    let operation = (await store.getOperation(operationId!))!;
    if (controller.signal.aborted && operation.clusterPaused && !operation.finishedAt) {
      const resumer = createLocalRunner({
        config: ctx.config,
        store,
        reporter,
        announcer,
        log: ctx.log,
        signal: new AbortController().signal,
        actor: ctx.actor,
      });
      await resumeThenEnd(resumer, operation.id, 'aborted', ctx.actor);
      operation = (await store.getOperation(operation.id))!;
    }
    return success.includes(operation.status) ? EXIT.ok : EXIT.failed;
  } finally {
    await store.close();
  }
}
