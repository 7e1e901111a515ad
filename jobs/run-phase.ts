import type { ClusterConfig } from '../src/config/load.ts';
import { PachopsError } from '../src/errors.ts';
import { type Logger, withLogContext } from '../src/log.ts';
import { stopPhasesUnderWay } from '../src/operations/abort-phase.ts';
import { AbortRequestStore } from '../src/operations/abort-requests.ts';
import { advance, type FlowDeps } from '../src/operations/advance.ts';
import { mention } from '../src/operations/approval-policy.ts';
import { loadPhaseHistory } from '../src/operations/history.ts';
import type { Operation } from '../src/operations/model.ts';
import { PhaseAbortedError, watchForAbort } from './abort-watch.ts';
import type { ShardFanOut } from './mirror-shards/fan-out.ts';
import { phaseOf } from './phases/index.ts';
import type { ClusterServices, PhaseContext, PhaseOutcome } from './phases/types.ts';
import { type PhaseAttempt, recordFailure, recordSuccess } from './record-outcome.ts';

/** How long a resume that ends the operation waits for the phases it asked to stop. */
export const STOP_BEFORE_RESUME_MS = 60_000;

export interface RunnerDeps extends FlowDeps {
  services: (cluster: ClusterConfig) => ClusterServices;
  /** Sharded mirrors on the queue (the worker has it; the CLI runs every mirror in-process). */
  shards?: ShardFanOut;
}

export interface PhaseRun extends PhaseAttempt {
  signal?: AbortSignal;
}

/**
 * Runs one phase of one operation: the body of every phase job. Safe to deliver twice: a phase that
 * already succeeded is not run again. On the final failure the thread is told and offered a way out.
 * While the phase runs, an [Abort] recorded for this run in the state database stops it.
 */
export function runPhase(deps: RunnerDeps, run: PhaseRun): Promise<void> {
  // Every line written while the phase runs carries its operation and phase, whoever writes it.
  const fields = { operationId: run.operationId, phase: run.phase, attempt: run.attempt };
  return withLogContext(deps.log, fields, () => runPhaseInContext(deps, run));
}

async function runPhaseInContext(deps: RunnerDeps, run: PhaseRun): Promise<void> {
  const { store, reporter } = deps;
  const taken = await takeUp(deps, run);
  if (!taken) return;
  const { operation, log } = taken;
  await store.updatePhase(operation.id, run.phase, { status: 'running' });
  await reporter.phaseStarted(operation, run.phase);
  log.info('phase started');
  await store.audit({
    operationId: operation.id,
    cluster: operation.cluster,
    actor: 'pachops',
    action: `${run.phase}.started`,
    details: { run: run.attempt },
  });

  // Polls from here until the phase returns; both ways out stop it.
  const watch = watchForAbort({
    requests: new AbortRequestStore(store.pool),
    key: { operationId: operation.id, phase: run.phase, run: taken.runNumber },
    parent: run.signal,
    log,
  });
  let lastProgress: string | undefined;
  let outcome: PhaseOutcome;
  try {
    const ctx = phaseContext(deps, run, taken, watch.signal, (text) => {
      lastProgress = text;
    });
    outcome = await phaseOf(operation.kind, run.phase).run(ctx);
  } catch (error) {
    await watch.stop();
    const request = watch.request();
    // Whatever the phase threw once its signal was aborted on request, it stopped because it was asked to.
    const failure = request ? new PhaseAbortedError(request, lastProgress, error) : error;
    await recordFailure(deps, run, failure);
    throw failure;
  }
  const late = await watch.stop({ lookAgain: true });
  await recordSuccess(deps, run, outcome, log);
  if (late)
    await reporter.notice(
      operation,
      `:information_source: ${mention(late.requestedBy)} asked *${run.phase}* to stop, but it had already finished.`,
    );
  await advance(deps, operation.id);
}

/** What the phase is given: its operation, cluster and services, the signal, progress, state. */
function phaseContext(
  deps: RunnerDeps,
  run: PhaseRun,
  taken: { operation: Operation; cluster: ClusterConfig; log: Logger; runNumber: number },
  signal: AbortSignal,
  onProgress: (text: string) => void,
): PhaseContext {
  const { operation, cluster, log } = taken;
  const ctx: PhaseContext = {
    operation,
    cluster,
    config: deps.config,
    services: deps.services(cluster),
    servicesOf: deps.services,
    announcer: deps.announcer,
    // One flow per run and attempt: a worker taking over a crashed phase finds the same flow, not a second
    shards: deps.shards && {
      mirror: (input) =>
        deps.shards!.mirror(ctx, {
          ...input,
          phase: run.phase,
          flowId: `${operation.id}.${run.phase}.r${taken.runNumber}.a${run.attempt}`,
        }),
    },
    history: () => loadPhaseHistory(deps.store.pool, operation.cluster, operation.id),
    log,
    signal,
    progress: (text, fraction) => {
      onProgress(text);
      deps.reporter.phaseProgress(ctx.operation, run.phase, text, fraction);
    },
    saveState: async (patch) => {
      ctx.operation = { ...ctx.operation, state: await deps.store.patchState(operation.id, patch) };
    },
  };
  return ctx;
}

/**
 * Loads what the run needs and says whether to run it: not when the phase already succeeded or the
 * operation ended. A phase still marked running was a dead worker's: the thread hears it is taken up.
 */
async function takeUp(deps: RunnerDeps, run: PhaseRun) {
  const { store, reporter } = deps;
  let operation = await store.getOperation(run.operationId);
  if (!operation)
    throw new PachopsError('OPERATION_UNKNOWN', `no operation ${run.operationId}`, { permanent: true });
  const record = await store.getPhase(operation.id, run.phase);
  if (operation.finishedAt || record?.status === 'succeeded') {
    deps.log.warn(
      { operationId: operation.id, phase: run.phase },
      'phase already done or operation ended; not run again',
    );
    return undefined;
  }
  const cluster = deps.config.clusters[operation.cluster];
  if (!cluster)
    throw new PachopsError('CLUSTER_UNKNOWN', `cluster ${operation.cluster} is no longer configured`, {
      permanent: true,
    });
  const log = deps.log.child({ operationId: operation.id, phase: run.phase, attempt: run.attempt });
  if (operation.state.endAfterResume) {
    if (run.phase !== 'resume') {
      // The operation ends with the resume: nothing else starts on the cluster (a retry, a late auto phase).
      log.warn('the operation ends with the resume; phase not run');
      await store.updatePhase(operation.id, run.phase, { status: 'skipped' });
      return undefined;
    }
    operation = await stopTheRest(deps, operation, record?.approvedBy ?? 'pachops', log);
  }
  if (run.phase === 'pause') await store.setClusterPaused(operation.id, true);
  if (record?.status === 'running') {
    // Marked running by a worker that is gone (killed, node lost): say so, then carry on from its record.
    log.warn('phase was running on a worker that stopped; taking it up');
    await store.audit({
      operationId: operation.id,
      cluster: operation.cluster,
      actor: 'pachops',
      action: `${run.phase}.taken-over`,
    });
    await reporter.notice(
      operation,
      `:recycle: The worker running *${run.phase}* stopped before it finished; another worker took it up and continues from where it was.`,
    );
  }
  // The run counted when the phase was queued (a Retry is a new run): abort requests are per run.
  return { operation, cluster, log, runNumber: record?.runs ?? 0 };
}

/** A resume that ends the operation first stops whatever else of it runs, then works from its latest state. */
async function stopTheRest(
  deps: RunnerDeps,
  operation: Operation,
  requestedBy: string,
  log: Logger,
): Promise<Operation> {
  const still = await stopPhasesUnderWay(deps.store, operation, {
    requestedBy,
    waitMs: STOP_BEFORE_RESUME_MS,
    onStopping: (phases) =>
      deps.reporter.notice(
        operation,
        `:octagonal_sign: Stopping *${phases.join('*, *')}* first: nothing else runs on the cluster while it is brought back.`,
      ),
  });
  if (still.length) {
    log.warn({ still }, 'phases did not stop before the resume; resuming anyway');
    await deps.reporter.notice(
      operation,
      `:warning: *${still.join('*, *')}* did not stop within ${STOP_BEFORE_RESUME_MS / 1000} s; the cluster is resumed anyway, and nothing it still does completes this ${operation.kind}.`,
    );
  }
  return (await deps.store.getOperation(operation.id))!;
}
