import { setTimeout as sleep } from 'node:timers/promises';
import { type AbortRequest, AbortRequestStore } from './abort-requests.ts';
import type { FlowDeps } from './advance.ts';
import { mayDecide, mention } from './approval-policy.ts';
import type { Operation, PhaseName, PhaseRecord } from './model.ts';
import type { StateStore } from './store.ts';

/**
 * Phases that offer [Abort] while they run. `plan` only reads and is over in seconds; `resume` is the
 * way out of a pause, and stopping it would only keep the cluster down longer.
 */
export function isAbortable(phase: PhaseName): boolean {
  return phase !== 'plan' && phase !== 'resume';
}

export interface AbortClick {
  operationId: string;
  phase: PhaseName;
  /** The run the button was shown for. */
  run: number;
  userId: string;
  /** Whether the user may approve this cluster's operations. */
  isApprover: (cluster: string, userId: string) => Promise<boolean>;
}

/**
 * [Abort] on a running phase: checks who clicked (the approval policy's `abort`) and that this run of the
 * phase is still under way, then records the request and audits it. The worker running the phase polls
 * for it and stops the phase; nothing here touches the cluster. Slack-free: the bot's action calls it.
 */
export async function requestPhaseAbort(
  deps: FlowDeps,
  click: AbortClick,
): Promise<{ ok: boolean; text: string }> {
  const refused = await refusal(deps, click);
  if (refused) return { ok: false, text: refused };
  const operation = (await deps.store.getOperation(click.operationId))!;
  const { created, request } = await recordAbortRequest(deps.store, operation, {
    phase: click.phase,
    run: click.run,
    requestedBy: click.userId,
  });
  if (!created)
    return {
      ok: false,
      text: `${mention(request.requestedBy)} already asked *${click.phase}* to stop; it stops within a few seconds.`,
    };
  deps.log.info(
    { operationId: operation.id, phase: click.phase, run: click.run, slackUser: click.userId },
    'abort requested',
  );
  return {
    ok: true,
    text: `Abort requested: *${click.phase}* stops within a few seconds, and the thread says where it stopped.`,
  };
}

/** Why this click may not abort (who clicked first, then whether there is anything to stop). */
async function refusal(deps: FlowDeps, click: AbortClick): Promise<string | undefined> {
  const operation = await deps.store.getOperation(click.operationId);
  if (!operation) return 'This button belongs to no known operation.';
  const allowed = mayDecide({
    config: deps.config,
    operation,
    decision: 'abort',
    userId: click.userId,
    isApprover: await click.isApprover(operation.cluster, click.userId),
  });
  if (!allowed.allowed) return `Not allowed: ${allowed.reason}. Nothing was stopped.`;
  if (operation.finishedAt) return `Operation ${operation.id} has already ended (${operation.status}).`;
  if (!isAbortable(click.phase)) return `*${click.phase}* cannot be aborted. Nothing was stopped.`;
  const phase = await deps.store.getPhase(operation.id, click.phase);
  if (!isUnderWay(phase, click.run))
    return `This run of *${click.phase}* is no longer running (${phase?.status ?? 'unknown'}). Nothing was stopped.`;
  return undefined;
}

/** Running, or queued between two attempts of the same run; a later run (a Retry) is another matter. */
export function isUnderWay(phase: PhaseRecord | undefined, run: number): boolean {
  return (
    phase !== undefined && phase.runs === run && (phase.status === 'running' || phase.status === 'queued')
  );
}

/**
 * Records that someone asked this run of a phase to stop (the worker running it polls for the request),
 * and audits it the first time; a second request for the same run changes nothing and returns the first.
 * Both [Abort] and `pachops abort` come through here.
 */
export async function recordAbortRequest(
  store: StateStore,
  operation: Pick<Operation, 'id' | 'cluster'>,
  input: { phase: PhaseName; run: number; requestedBy: string },
): Promise<{ created: boolean; request: AbortRequest }> {
  const recorded = await new AbortRequestStore(store.pool).request({ operationId: operation.id, ...input });
  if (recorded.created)
    await store.audit({
      operationId: operation.id,
      cluster: operation.cluster,
      actor: input.requestedBy,
      action: `${input.phase}.abort-requested`,
      details: { run: input.run },
    });
  return recorded;
}

/**
 * Asks every abortable phase of the operation under way to stop, and waits until none of them runs or
 * waits to run, at most `waitMs`; returns those still under way when the wait ended. Before a resume that
 * ends the operation (an emergency resume, the watchdog's, Reject or Abort while paused), so that nothing
 * else acts on the cluster while it is brought back (a pause still scaling down, a mirror writing the
 * manifest of a backup whose cluster is live again): that resume goes on regardless. And `pachops abort`.
 */
export async function stopPhasesUnderWay(
  store: StateStore,
  operation: Pick<Operation, 'id' | 'cluster'>,
  input: {
    requestedBy: string;
    waitMs: number;
    pollMs?: number;
    onStopping?: (phases: PhaseName[]) => Promise<void>;
  },
): Promise<PhaseName[]> {
  const deadline = Date.now() + input.waitMs;
  let announced = false;
  for (;;) {
    const underWay = (await store.getPhases(operation.id)).filter(
      (p) => isAbortable(p.name) && isUnderWay(p, p.runs),
    );
    // Queued ones too: a job taken up now sees the request at once, or the operation's end (it then skips).
    for (const phase of underWay)
      await recordAbortRequest(store, operation, {
        phase: phase.name,
        run: phase.runs,
        requestedBy: input.requestedBy,
      });
    const names = underWay.map((p) => p.name);
    if (names.length === 0 || Date.now() >= deadline) return names;
    if (!announced) await input.onStopping?.(names);
    announced = true;
    await sleep(input.pollMs ?? 500);
  }
}
