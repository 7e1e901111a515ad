import { PachopsError } from '../errors.ts';
import { type FlowDeps, resumeThenEnd } from './advance.ts';
import type { Operation } from './model.ts';

/**
 * Brings a cluster pachops paused back now, from the counts its pause recorded, whatever the operation
 * was waiting for; the operation then ends as aborted. For `/pach resume` and `pachops resume`.
 */
export async function emergencyResume(
  deps: FlowDeps,
  input: { cluster: string; actor: string; actorText: string },
): Promise<{ operation: Operation; text: string }> {
  const operation = await deps.store.activeOperation(input.cluster);
  if (!operation?.clusterPaused) {
    throw new PachopsError(
      'NOT_PAUSED',
      `pachops has not paused ${input.cluster}: there is nothing of its own to resume`,
      {
        permanent: true,
        hint: 'if it is paused by hand: kubectl scale the deployments back, or pachctl enterprise unpause',
      },
    );
  }
  await deps.store.audit({
    operationId: operation.id,
    cluster: input.cluster,
    actor: input.actor,
    action: 'cluster.emergency-resume',
  });
  const resume = await deps.store.getPhase(operation.id, 'resume');
  if (resume && ['queued', 'running'].includes(resume.status)) {
    return { operation, text: `${input.cluster} is already being resumed` };
  }
  await resumeThenEnd(deps, operation.id, 'aborted', input.actor);
  await deps.prompts.supersede(operation.id);
  await deps.reporter.notice(
    operation,
    `:rotating_light: Emergency resume requested by ${input.actorText}: bringing ${input.cluster} back now; this ${operation.kind} ends here.`,
  );
  return {
    operation,
    text: `resuming ${input.cluster} (${operation.kind} ${operation.backupId} ends as aborted)`,
  };
}
