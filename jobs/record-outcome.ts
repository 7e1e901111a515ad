// How a phase's run ended: recorded in the state database and the audit, and told in its thread.
import { configSecrets } from '../src/config/secrets.ts';
import { describeError, PachopsError } from '../src/errors.ts';
import type { Logger } from '../src/log.ts';
import { scrubText, secretForms } from '../src/log-redact.ts';
import { type FlowDeps, finishOperation } from '../src/operations/advance.ts';
import type { Operation, PhaseName } from '../src/operations/model.ts';
import type { FailureOffer } from '../src/operations/ports.ts';
import { PhaseAbortedError } from './abort-watch.ts';
import type { PhaseOutcome } from './phases/types.ts';

/** One attempt of one run of a phase. */
export interface PhaseAttempt {
  operationId: string;
  phase: PhaseName;
  /** 1-based; the run is final when attempt ≥ maxAttempts or the error is permanent. */
  attempt: number;
  maxAttempts: number;
}

export async function recordSuccess(deps: FlowDeps, run: PhaseAttempt, outcome: PhaseOutcome, log: Logger) {
  const { store, reporter } = deps;
  await store.updatePhase(run.operationId, run.phase, { status: 'succeeded', summary: outcome.summary });
  if (run.phase === 'resume') await store.setClusterPaused(run.operationId, false);
  const done = (await store.getPhase(run.operationId, run.phase))!;
  const current = (await store.getOperation(run.operationId))!;
  await store.audit({
    operationId: current.id,
    cluster: current.cluster,
    actor: 'pachops',
    action: `${run.phase}.succeeded`,
    details: { summary: outcome.summary },
  });
  log.info({ durationMs: done.durationMs }, 'phase succeeded');
  await reporter.phaseSucceeded(current, run.phase, { ...outcome, durationMs: done.durationMs });
}

/**
 * The final failure of a phase whose job ended without the phase saying how (BullMQ failed it after too
 * many stalls, or before the phase began): recorded and reported as any other, with its ways out.
 */
export function recordJobFailure(
  deps: FlowDeps,
  operationId: string,
  phase: PhaseName,
  reason = 'no reason given',
): Promise<void> {
  const error = new PachopsError('JOB_FAILED', `its job ended without finishing it (${reason})`, {
    permanent: true,
  });
  return recordFailure(deps, { operationId, phase, attempt: 1, maxAttempts: 1 }, error);
}

export async function recordFailure(deps: FlowDeps, run: PhaseAttempt, error: unknown): Promise<void> {
  // A tool's own words go to the thread, the state database and the audit: never a secret among them.
  const message = scrubText(describeError(error), secretForms(configSecrets(deps.config)));
  const final = (error instanceof PachopsError && error.permanent) || run.attempt >= run.maxAttempts;
  const log = deps.log.child({ operationId: run.operationId, phase: run.phase });
  const operation = (await deps.store.getOperation(run.operationId))!;
  const aborted =
    error instanceof PhaseAbortedError
      ? { by: error.request.requestedBy, at: error.request.requestedAt, partial: error.partial }
      : undefined;
  if (operation.state.endAfterResume && run.phase !== 'resume') {
    log.warn({ err: error }, 'phase stopped; the operation ends with the resume');
    return recordStoppedForResume(deps, operation, run.phase, message, aborted);
  }
  if (!final) {
    log.warn({ err: error, attempt: run.attempt }, 'phase attempt failed; retrying');
    deps.reporter.phaseProgress(
      operation,
      run.phase,
      `attempt ${run.attempt} of ${run.maxAttempts} failed (${message}); retrying`,
    );
    // Queued again (not running): the next attempt is a retry, not a worker taking over a dead one's job.
    await deps.store.updatePhase(run.operationId, run.phase, { status: 'queued' });
    return;
  }
  // The plan only reads: when it finds the request cannot be done, nothing has changed (a refusal, not a fault).
  const refused =
    run.phase === 'plan' && error instanceof PachopsError && error.permanent && error.code !== 'JOB_FAILED';
  if (refused)
    log.warn({ code: error.code, reason: message }, 'the plan refused the request; nothing changed');
  else log.error({ err: error }, 'phase failed');
  await deps.store.updatePhase(run.operationId, run.phase, { status: 'failed', error: message });
  if (refused) {
    await deps.reporter.notice(operation, `:no_entry: ${message}`);
    await finishOperation(deps, operation, 'refused');
    return;
  }
  await deps.store.setStatus(run.operationId, 'failed');
  await deps.store.audit({
    operationId: run.operationId,
    cluster: operation.cluster,
    actor: 'pachops',
    action: `${run.phase}.${aborted ? 'aborted' : 'failed'}`,
    details: aborted ? { requestedBy: aborted.by, partial: aborted.partial } : { error: message },
  });
  const paused = operation.clusterPaused;
  // A backup of a cluster whose bucket already lacked objects: whole as it can be, and a retry finds the same
  if (!paused && error instanceof PachopsError && error.code === 'BACKUP_INCONSISTENT') {
    await deps.reporter.phaseFailed(operation, run.phase, message, {
      retry: false,
      resume: false,
      abort: false,
      final: true,
    });
    await finishOperation(deps, operation, 'failed');
    return;
  }
  await deps.reporter.phaseFailed(operation, run.phase, message, {
    retry: true,
    resume: paused,
    abort: !paused,
    aborted,
  });
}

/** Stopped for the resume that ends the operation: recorded and reported, nothing offered, no retry. */
async function recordStoppedForResume(
  deps: FlowDeps,
  operation: Operation,
  phase: PhaseName,
  message: string,
  aborted: FailureOffer['aborted'],
): Promise<void> {
  await deps.store.updatePhase(operation.id, phase, { status: 'failed', error: message });
  await deps.store.audit({
    operationId: operation.id,
    cluster: operation.cluster,
    actor: 'pachops',
    action: `${phase}.stopped-for-resume`,
    details: { error: message },
  });
  await deps.reporter.phaseFailed(operation, phase, message, {
    retry: false,
    resume: false,
    abort: false,
    aborted,
    ending: true,
  });
}
