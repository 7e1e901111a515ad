import { cancelledNotice } from '../announce/notice.ts';
import type { Config } from '../config/load.ts';
import { PachopsError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { needsApproval } from './approval-policy.ts';
import type { Operation, OperationStatus } from './model.ts';
import type { Announcer, Dispatcher, Reporter } from './ports.ts';
import type { PromptStore } from './prompts.ts';
import type { StateStore } from './store.ts';

export interface FlowDeps {
  config: Config;
  store: StateStore;
  prompts: PromptStore;
  dispatcher: Dispatcher;
  reporter: Reporter;
  /** The users' channels. */
  announcer: Announcer;
  log: Logger;
  /** The CLI's `--yes`: every approval is given up front, by this actor (`cli:<user>`). */
  approvedBy?: string;
}

/**
 * Decides what happens after a phase ends or a decision is made: end the operation, start the next phase
 * (an `auto` one), or ask for the next approval.
 */
export async function advance(deps: FlowDeps, operationId: string): Promise<void> {
  const operation = (await deps.store.getOperation(operationId))!;
  if (operation.finishedAt) return;
  const phases = await deps.store.getPhases(operationId);
  if (operation.state.endAfterResume) {
    // Ending: the resume under way decides; a phase that ended meanwhile starts nothing new.
    if (!operation.clusterPaused) return finishOperation(deps, operation, operation.state.endAfterResume);
    return;
  }
  if (operation.options.dryRun && phases.find((p) => p.name === 'plan')?.status === 'succeeded') {
    return finishOperation(deps, operation, 'planned');
  }
  const next = phases.find((p) => p.status === 'pending' || p.status === 'awaiting-approval');
  if (!next) return finishOperation(deps, operation, 'succeeded');
  const cluster = deps.config.clusters[operation.cluster];
  if (deps.approvedBy || !needsApproval(cluster, next.name)) {
    await deps.dispatcher.dispatch(operationId, next.name, deps.approvedBy ?? 'policy:auto');
    return;
  }
  await deps.store.updatePhase(operationId, next.name, { status: 'awaiting-approval' });
  await deps.store.setStatus(operationId, 'awaiting-approval');
  await deps.reporter.requestApproval((await deps.store.getOperation(operationId))!, next.name);
}

/**
 * Ends an operation by bringing its paused cluster back first: marks it ending (the resume then stops any
 * other phase still running, and nothing else starts), and queues the resume. When the queue refuses, the
 * mark is taken back, so that nothing claims a resume that is not coming.
 */
export async function resumeThenEnd(
  deps: FlowDeps,
  operationId: string,
  status: NonNullable<Operation['state']['endAfterResume']>,
  actor: string,
): Promise<void> {
  await deps.store.patchState(operationId, { endAfterResume: status });
  try {
    await deps.dispatcher.dispatch(operationId, 'resume', actor);
  } catch (error) {
    if (error instanceof PachopsError && error.code === 'QUEUE_UNAVAILABLE')
      await deps.store.unsetState(operationId, 'endAfterResume');
    throw error;
  }
}

/** Ends an operation: skips what did not run, retires its prompts, says so. */
export async function finishOperation(
  deps: FlowDeps,
  operation: Operation,
  status: OperationStatus,
): Promise<void> {
  for (const phase of await deps.store.getPhases(operation.id)) {
    if (['pending', 'awaiting-approval'].includes(phase.status)) {
      await deps.store.updatePhase(operation.id, phase.name, { status: 'skipped' });
    }
  }
  await deps.prompts.supersede(operation.id);
  if (operation.state.estimate && !operation.state.pause && status !== 'succeeded') {
    // Announced, never paused: the users hear that nothing is going down after all.
    const thread = await deps.announcer.threadLink(operation);
    await deps.announcer
      .announce(operation, cancelledNotice({ cluster: operation.cluster, thread }))
      .catch(() => undefined);
  }
  await deps.store.setStatus(operation.id, status, { finished: true });
  await deps.store.audit({
    operationId: operation.id,
    cluster: operation.cluster,
    actor: 'pachops',
    action: `operation.${status}`,
  });
  deps.log.info({ operationId: operation.id, status }, 'operation finished');
  await deps.reporter.operationFinished((await deps.store.getOperation(operation.id))!);
}
