import { PachopsError } from '../errors.ts';
import { isAbortable, isUnderWay, stopPhasesUnderWay } from '../operations/abort-phase.ts';
import type { Operation } from '../operations/model.ts';
import type { StateStore } from '../operations/store.ts';
import type { CliContext } from './context.ts';

/**
 * `pachops abort` on an operation whose phase is running (in a worker, for an operation started in Slack,
 * or in another CLI): asks that phase to stop exactly as [Abort] does (a request in the state database,
 * which the process running it polls), and waits until it has stopped, so that nothing else is done to
 * the cluster while it still runs. `resume` is not interrupted: it is what brings the cluster back.
 */
export async function stopRunningPhase(
  ctx: CliContext,
  store: StateStore,
  operation: Operation,
  waitMs = 60_000,
): Promise<void> {
  const phase = (await store.getPhases(operation.id)).find((p) => isUnderWay(p, p.runs));
  if (!phase) return;
  if (!isAbortable(phase.name))
    throw new PachopsError(
      'PHASE_RUNNING',
      `${phase.name} is running and is not stopped: ${phase.name === 'resume' ? 'it is bringing the cluster back' : 'it ends in seconds'}. Run this again once it has ended.`,
      { permanent: true },
    );
  ctx.out.write(`${phase.name} is running: asked it to stop…\n`);
  const still = await stopPhasesUnderWay(store, operation, { requestedBy: ctx.actor, waitMs });
  if (still.length)
    throw new PachopsError(
      'PHASE_RUNNING',
      `${still.join(', ')} did not stop within ${Math.round(waitMs / 1000)} s; the request stays recorded and stops it as soon as a worker runs it. Run this again once it has stopped.`,
      { permanent: true },
    );
  ctx.out.write(`${phase.name} stopped.\n`);
}
