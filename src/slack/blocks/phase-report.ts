import { z } from 'zod';
import { PhaseName as PhaseNameSchema } from '../../config/schema.ts';
import { formatBar, formatDuration } from '../../format.ts';
import { mention } from '../../operations/approval-policy.ts';
import type { PhaseName } from '../../operations/model.ts';
import type { FailureOffer, PhaseReport } from '../../operations/ports.ts';
import { ACTION_PREFIX } from './prompt.ts';
import { type ButtonSpec, buttons, clock, context, escapeText, type KnownBlock, section } from './text.ts';

/** [Abort] on a running phase's message; its value names the run it stops (AbortButtonValue). */
export const ABORT_RUNNING_ACTION = `${ACTION_PREFIX}abort-running`;

/** What an [Abort] button carries: the operation, phase and run it was shown for. */
export const AbortButtonValue = z.object({
  operationId: z.string().min(1),
  phase: PhaseNameSchema,
  run: z.number().int().nonnegative(),
});
export type AbortButtonValue = z.infer<typeof AbortButtonValue>;

/**
 * One message per phase in the thread: "running" with progress (a bar when the fraction is known) and,
 * for an abortable phase, [Abort]; then the report.
 */
export function runningMessage(
  phase: PhaseName,
  options: { progress?: string; fraction?: number; abort?: AbortButtonValue } = {},
): { text: string; blocks: KnownBlock[] } {
  const { progress, fraction, abort } = options;
  const blocks = [section(`:arrow_forward: *${phase}* running…`)];
  const bar = fraction !== undefined ? `\`${formatBar(fraction)}\`` : undefined;
  const line = [bar, progress && escapeText(progress)].filter(Boolean).join('  ');
  if (line) blocks.push(context(line));
  if (abort) blocks.push(buttons([abortButton(abort)]));
  return { text: `${phase} running${progress ? `: ${progress}` : ''}`, blocks };
}

function abortButton(value: AbortButtonValue): ButtonSpec {
  return {
    text: 'Abort',
    actionId: ABORT_RUNNING_ACTION,
    value: JSON.stringify(value),
    style: 'danger',
    confirm: {
      title: `Abort ${value.phase}?`,
      text: `*${value.phase}* stops within a few seconds and the thread shows how far it got; Retry then continues from there. A paused cluster stays paused until someone resumes it.`,
      confirm: 'Abort',
      deny: 'Keep running',
    },
  };
}

export function succeededMessage(
  phase: PhaseName,
  report: PhaseReport,
): { text: string; blocks: KnownBlock[] } {
  const took = report.durationMs !== undefined ? ` in ${formatDuration(report.durationMs)}` : '';
  const blocks = [section(`:white_check_mark: *${phase}* done${took}: ${escapeText(report.summary)}`)];
  if (report.details?.length)
    blocks.push(context(report.details.map((d) => `• ${escapeText(d)}`).join('\n')));
  return { text: `${phase} done${took}: ${report.summary}`, blocks };
}

export function failedMessage(
  phase: PhaseName,
  message: string,
  aborted?: FailureOffer['aborted'],
): { text: string; blocks: KnownBlock[] } {
  if (aborted) {
    const partial = aborted.partial ? `; it had got to: ${aborted.partial}` : '';
    const blocks = [
      section(`:octagonal_sign: *${phase}* aborted by ${mention(aborted.by)} at ${clock(aborted.at)}`),
    ];
    if (aborted.partial) blocks.push(context(`Stopped at: ${escapeText(aborted.partial)}`));
    return { text: `${phase} aborted by ${mention(aborted.by)}${partial}`, blocks };
  }
  return { text: `${phase} failed: ${message}`, blocks: [section(`:x: *${phase}* failed`)] };
}
