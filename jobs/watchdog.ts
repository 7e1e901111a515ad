import { setTimeout } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import { approversFor } from '../src/config/cluster-slack.ts';
import { formatDuration } from '../src/format.ts';
import { resumeThenEnd } from '../src/operations/advance.ts';
import { mention } from '../src/operations/approval-policy.ts';
import type { Operation } from '../src/operations/model.ts';
import { recordJobFailure } from './record-outcome.ts';
import type { RunnerDeps } from './run-phase.ts';

/**
 * The safety net, run every `jobs.watchdogIntervalSeconds` on its own repeatable job, independent of any
 * operation's jobs: a cluster pachops paused is never left so without people being told, and a phase
 * whose job was lost (Redis restarted without its data) is started again.
 */
export async function runWatchdog(deps: RunnerDeps, queue: Queue, now = new Date()): Promise<void> {
  for (const operation of await deps.store.listOperations({ active: true, limit: 100 })) {
    if (operation.options.dryRun) continue;
    try {
      await restartLostJobs(deps, queue, operation);
      if (operation.clusterPaused && operation.state.pause) await watchPause(deps, operation, now);
    } catch (error) {
      // One operation's trouble (Slack refusing a reminder) does not keep the others unwatched.
      deps.log.warn({ err: error, operationId: operation.id }, 'watchdog: will look again next time');
    }
  }
}

async function watchPause(deps: RunnerDeps, operation: Operation, now: Date): Promise<void> {
  const cluster = deps.config.clusters[operation.cluster];
  if (!cluster) return;
  const { reminderMarginMinutes, escalateAfterMinutes, autoResumeAfterMinutes } = cluster.watchdog;
  const pausedMs = now.getTime() - Date.parse(operation.state.pause!.startedAt);
  const done = operation.state.watchdog ?? {};
  const estimate = operation.state.estimate?.kind === 'history' ? operation.state.estimate.highMs : 0;
  const paused = formatDuration(pausedMs);
  const record = async (step: 'remindedAt' | 'escalatedAt' | 'autoResumedAt', action: string) => {
    await deps.store.patchState(operation.id, { watchdog: { ...done, [step]: now.toISOString() } });
    await deps.store.audit({
      operationId: operation.id,
      cluster: operation.cluster,
      actor: 'watchdog',
      action,
      details: { pausedMs },
    });
  };
  if (autoResumeAfterMinutes && pausedMs >= autoResumeAfterMinutes * 60_000 && !done.autoResumedAt) {
    // Counted once the resume is queued (a queue that refused is tried again at the next look), and
    // before Slack is told: the cluster comes back even when nobody can be.
    const resume = await deps.store.getPhase(operation.id, 'resume');
    if (!resume || !['queued', 'running'].includes(resume.status)) {
      await resumeThenEnd(deps, operation.id, 'aborted', 'watchdog');
      await deps.prompts.supersede(operation.id);
    }
    await record('autoResumedAt', 'watchdog.auto-resume');
    await deps.reporter.alert(
      operation,
      `:rotating_light: ${operation.cluster} has been paused for ${paused}: resuming it now (watchdog.autoResumeAfterMinutes); the ${operation.kind} ends here.`,
    );
    return;
  }
  // Reminders count as given once Slack took them: one it refused is given again at the next look.
  if (pausedMs >= escalateAfterMinutes * 60_000 && !done.escalatedAt) {
    const approvers = approversFor(deps.config, operation.cluster).map(mention).join(' ');
    await deps.reporter.alert(
      operation,
      `:rotating_light: ${approvers} ${operation.cluster} has been paused for ${paused}. Approve the next phase, retry, or \`/pach resume ${operation.cluster}\`.`,
    );
    await record('escalatedAt', 'watchdog.escalate');
    return;
  }
  if (pausedMs >= estimate + reminderMarginMinutes * 60_000 && !done.remindedAt) {
    const over = estimate ? ` (the estimate was ${formatDuration(estimate)})` : '';
    await deps.reporter.alert(
      operation,
      `:hourglass: ${operation.cluster} has been paused for ${paused}${over} and is waiting on this thread.`,
    );
    await record('remindedAt', 'watchdog.remind');
  }
}

/** Job states in which a phase still marked queued or running will never be run or reported by its job. */
const ORPHANED = ['missing', 'unknown', 'completed', 'failed'];

/**
 * A phase marked queued or running whose job will not finish it. Redis no longer has the job, or it
 * completed without the record (the worker died in between): enqueue it again (phases are idempotent).
 * BullMQ failed it without the phase recording the failure (it stalled more often than BullMQ allows, or
 * failed before the phase began): that is the phase's final failure, reported with its ways out.
 */
async function restartLostJobs(deps: RunnerDeps, queue: Queue, operation: Operation): Promise<void> {
  for (const phase of await deps.store.getPhases(operation.id)) {
    if (!['queued', 'running'].includes(phase.status)) continue;
    const jobId = `${operation.id}.${phase.name}.${phase.runs}`;
    if (!ORPHANED.includes((await jobState(queue, jobId)).state)) continue;
    // A dispatch marks the phase queued a moment before it adds the job: look twice before acting.
    await setTimeout(1000);
    const again = await deps.store.getPhase(operation.id, phase.name);
    const job = await jobState(queue, jobId);
    if (
      again?.runs !== phase.runs ||
      !['queued', 'running'].includes(again.status) ||
      !ORPHANED.includes(job.state)
    )
      continue;
    if (job.state === 'failed') {
      await deps.store.audit({
        operationId: operation.id,
        cluster: operation.cluster,
        actor: 'watchdog',
        action: `${phase.name}.job-failed`,
      });
      await recordJobFailure(deps, operation.id, phase.name, job.reason);
      continue;
    }
    const { state } = job;
    // Completed but still marked running: the worker died between the job and the record. Run it again.
    await deps.store.audit({
      operationId: operation.id,
      cluster: operation.cluster,
      actor: 'watchdog',
      action: `${phase.name}.requeued`,
      details: { state },
    });
    await deps.reporter.notice(
      operation,
      `:recycle: The job of *${phase.name}* was lost (${state === 'missing' ? 'Redis lost it' : state}); it runs again, continuing where it stopped.`,
    );
    await deps.dispatcher.dispatch(operation.id, phase.name, 'watchdog');
  }
}

async function jobState(queue: Queue, id: string): Promise<{ state: string; reason?: string }> {
  const job = await queue.getJob(id);
  return job ? { state: await job.getState(), reason: job.failedReason } : { state: 'missing' };
}
