import { describeError } from '../errors.ts';
import { advance, type FlowDeps, finishOperation, resumeThenEnd } from './advance.ts';
import { mayDecide } from './approval-policy.ts';
import type { Decision, Prompt } from './prompts.ts';

export type DecisionOutcome =
  | { ok: true; prompt: Prompt; text: string }
  | { ok: false; text: string; expired?: Prompt };

/**
 * A click on an approval or failure prompt. Checks who clicked before anything else, claims the prompt
 * atomically (two clicks at once: one wins), then acts. Slack-free: the bot's action handlers call it.
 */
export async function decide(
  deps: FlowDeps,
  input: {
    promptId: string;
    decision: Decision;
    userId: string;
    /** Whether the user may approve this cluster's operations. */
    isApprover: (cluster: string, userId: string) => Promise<boolean>;
  },
): Promise<DecisionOutcome> {
  const prompt = await deps.prompts.get(input.promptId);
  const operation = prompt && (await deps.store.getOperation(prompt.operationId));
  if (!prompt || !operation) return { ok: false, text: 'This button belongs to no known operation.' };
  const allowed = mayDecide({
    config: deps.config,
    operation,
    decision: input.decision,
    userId: input.userId,
    isApprover: await input.isApprover(operation.cluster, input.userId),
  });
  if (!allowed.allowed) return { ok: false, text: `Not allowed: ${allowed.reason}. Nothing was started.` };
  if (operation.finishedAt)
    return {
      ok: false,
      text: `Operation ${operation.id} has already ended (${operation.status}). Nothing was started.`,
    };

  const claim = await deps.prompts.claim(prompt.id, input.decision, input.userId);
  if (!claim.ok) return refuseClaim(deps, claim.reason, claim.prompt);
  const at = new Date().toISOString();
  await deps.store.audit({
    operationId: operation.id,
    cluster: operation.cluster,
    actor: input.userId,
    action: `${prompt.phase}.${input.decision}`,
    details: { promptId: prompt.id, at },
  });
  try {
    return {
      ok: true,
      prompt: claim.prompt,
      text: await act(deps, claim.prompt, input.decision, input.userId),
    };
  } catch (error) {
    // Nothing started (the queue refused the job): the prompt stays open for another click.
    await deps.prompts.release(claim.prompt.id);
    return {
      ok: false,
      text: `Could not ${input.decision}: ${describeError(error)}. The prompt is still open.`,
    };
  }
}

async function act(deps: FlowDeps, prompt: Prompt, decision: Decision, userId: string): Promise<string> {
  const operation = (await deps.store.getOperation(prompt.operationId))!;
  switch (decision) {
    case 'approve':
    case 'retry':
      await deps.dispatcher.dispatch(operation.id, prompt.phase, userId);
      return `${decision === 'approve' ? 'Approved' : 'Retry started'}: ${prompt.phase}`;
    case 'resume':
      await resumeThenEnd(deps, operation.id, 'aborted', userId);
      return 'Resuming the cluster; the operation ends after that';
    case 'reject':
    case 'abort': {
      const status = decision === 'reject' ? 'rejected' : 'aborted';
      if (operation.clusterPaused) {
        // Never leave the cluster paused: ending the operation starts with bringing it back.
        await resumeThenEnd(deps, operation.id, status, userId);
        await deps.reporter.notice(
          operation,
          `${status === 'rejected' ? 'Rejected' : 'Aborted'} by <@${userId}> while the cluster is paused: resuming it first.`,
        );
        return `${status}; the cluster is being resumed`;
      }
      await finishOperation(deps, operation, status);
      return status;
    }
  }
}

async function refuseClaim(deps: FlowDeps, reason: string, prompt?: Prompt): Promise<DecisionOutcome> {
  if (reason === 'decided' && prompt) {
    return {
      ok: false,
      text: `Already decided: ${prompt.decision} by <@${prompt.decidedBy}>. Nothing new was started.`,
    };
  }
  if (reason === 'expired' && prompt) {
    // A still-wanted step whose prompt timed out gets a fresh prompt rather than a dead end.
    const phase = await deps.store.getPhase(prompt.operationId, prompt.phase);
    if (phase?.status === 'awaiting-approval') {
      await advance(deps, prompt.operationId);
      return {
        ok: false,
        text: 'That prompt expired; a fresh one was posted in the thread.',
        expired: prompt,
      };
    }
    return { ok: false, text: 'That prompt expired. Nothing was started.' };
  }
  if (reason === 'superseded') {
    return { ok: false, text: 'This prompt was replaced by a newer one in the thread. Nothing was started.' };
  }
  return { ok: false, text: 'This button belongs to no known prompt. Nothing was started.' };
}
