import { formatDuration } from '../../format.ts';
import type { PhaseName } from '../../operations/model.ts';
import type { PhaseReport } from '../../operations/ports.ts';
import { context, escapeText, type KnownBlock, section } from './text.ts';

/** One message per phase in the thread: "running" with progress, then the report. */
export function runningMessage(phase: PhaseName, progress?: string): { text: string; blocks: KnownBlock[] } {
  const blocks = [section(`:arrow_forward: *${phase}* running…`)];
  if (progress) blocks.push(context(escapeText(progress)));
  return { text: `${phase} running${progress ? `: ${progress}` : ''}`, blocks };
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

export function failedMessage(phase: PhaseName, message: string): { text: string; blocks: KnownBlock[] } {
  return { text: `${phase} failed: ${message}`, blocks: [section(`:x: *${phase}* failed`)] };
}
