import { mention } from '../../operations/approval-policy.ts';
import type { Operation, OperationKind, PhaseName } from '../../operations/model.ts';
import type { FailureOffer } from '../../operations/ports.ts';
import type { Decision, Prompt } from '../../operations/prompts.ts';
import { type ButtonSpec, buttons, clock, escapeText, type KnownBlock, section } from './text.ts';

export const ACTION_PREFIX = 'pachops:';
export const actionId = (decision: Decision) => `${ACTION_PREFIX}${decision}`;

/** [Approve] [Reject] for the next phase, naming who may click. */
export function approvalMessage(input: {
  operation: Operation;
  phase: PhaseName;
  title: string;
  description: string;
  approvers: string[];
  prompt: Prompt;
  position: string;
}): { text: string; blocks: KnownBlock[] } {
  const { prompt } = input;
  const text = `Approval needed: ${input.title} (${input.position})`;
  return {
    text,
    blocks: [
      section(
        `:raised_hand: *Approval needed: ${input.title}* (${input.position})\n${input.description}\n` +
          `Approvers: ${input.approvers.map(mention).join(', ')} · expires ${clock(prompt.expiresAt)}`,
      ),
      buttons([
        { text: 'Approve', actionId: actionId('approve'), value: prompt.id, style: 'primary' },
        { text: 'Reject', actionId: actionId('reject'), value: prompt.id, style: 'danger' },
      ]),
    ],
  };
}

/** The prompt after a click: who decided and when, no buttons left. */
export function decidedMessage(
  title: string,
  decision: Decision,
  userId: string,
  at: Date,
): { text: string; blocks: KnownBlock[] } {
  const verbs: Record<Decision, string> = {
    approve: ':white_check_mark: approved',
    reject: ':no_entry: rejected',
    retry: ':repeat: retried',
    resume: ':arrow_forward: resume requested',
    abort: ':octagonal_sign: aborted',
  };
  const text = `${title}: ${verbs[decision]} by <@${userId}> at ${clock(at)}`;
  return { text, blocks: [section(`*${title}*: ${verbs[decision]} by <@${userId}> at ${clock(at)}`)] };
}

/** A failed (or aborted) phase: what went wrong, or who stopped it and where, and the ways out. */
export function failureMessage(
  phase: PhaseName,
  message: string,
  offer: FailureOffer,
  prompt: Prompt,
  kind: OperationKind = 'backup',
): { text: string; blocks: KnownBlock[] } {
  const specs: ButtonSpec[] = [];
  if (offer.retry)
    specs.push({ text: 'Retry', actionId: actionId('retry'), value: prompt.id, style: 'primary' });
  if (offer.resume)
    specs.push({ text: 'Resume cluster', actionId: actionId('resume'), value: prompt.id, style: 'danger' });
  if (offer.abort)
    specs.push({ text: 'Abort', actionId: actionId('abort'), value: prompt.id, style: 'danger' });
  const ending =
    kind === 'restore'
      ? 'the restore then ends: what was already restored stays, and pachd comes back as it was last deployed'
      : 'this backup then ends incomplete';
  const paused = offer.resume
    ? `\n:warning: *The cluster is paused.* Retry the phase, or resume the cluster (${ending}).`
    : '';
  const { text, headline } = failureHeadline(phase, message, offer);
  return { text, blocks: [section(`${headline}${paused}`), buttons(specs)] };
}

function failureHeadline(phase: PhaseName, message: string, offer: FailureOffer) {
  const { aborted } = offer;
  if (!aborted)
    return { text: `${phase} failed: ${message}`, headline: `:x: *${phase} failed*: ${escapeText(message)}` };
  const who = mention(aborted.by);
  const partial = aborted.partial ? `\nStopped at: ${escapeText(aborted.partial)}` : '';
  const retry = offer.retry ? '\nRetry continues from where it stopped.' : '';
  return {
    text: `${phase} aborted by ${who}${aborted.partial ? `; it had got to: ${aborted.partial}` : ''}`,
    headline: `:octagonal_sign: *${phase} aborted* by ${who}${partial}${retry}`,
  };
}

/** An expired prompt, once a fresh one has been posted below it. */
export function expiredMessage(title: string, at: Date): { text: string; blocks: KnownBlock[] } {
  const text = `${title}: expired at ${clock(at)}; a fresh prompt is below`;
  return {
    text,
    blocks: [section(`:hourglass: *${title}*: expired at ${clock(at)}; a fresh prompt is below`)],
  };
}
