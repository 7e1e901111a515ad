/**
 * Headline figures of each benchmark, for the combined table of `npm run bench`: each benchmark appends
 * its lines to the JSON-lines file named by BENCH_SUMMARY_FILE (when set) and prints them itself too.
 */
import { appendFileSync } from 'node:fs';
import { printTable } from './table.ts';

export interface SummaryLine {
  bench: string;
  metric: string;
  value: string;
  target?: string;
  /** Whether the target was met (printed, never asserted); undefined when there is no target. */
  met?: boolean;
}

/** Appends lines to $BENCH_SUMMARY_FILE (when set). */
export function recordSummary(lines: SummaryLine[], file = process.env.BENCH_SUMMARY_FILE): void {
  if (!file) return;
  appendFileSync(file, lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
}

const verdict = (met: boolean | undefined) => (met === undefined ? '' : met ? 'yes' : 'NO');

/** Prints summary lines as a table. */
export function printSummary(title: string, lines: SummaryLine[]): void {
  printTable(
    title,
    ['bench', 'metric', 'value', 'target', 'met'],
    lines.map((line) => [line.bench, line.metric, line.value, line.target ?? '', verdict(line.met)]),
  );
}

/** A ratio line: `value` is a/b, met when it is at most `atMost`. */
export function ratioLine(
  bench: string,
  metric: string,
  a: number | undefined,
  b: number | undefined,
  atMost?: number,
): SummaryLine {
  const ratio = a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
  return {
    bench,
    metric,
    value: ratio === undefined ? 'n/a' : `${ratio.toFixed(2)}×`,
    target: atMost === undefined ? undefined : `≤ ${atMost}×`,
    met: atMost === undefined || ratio === undefined ? undefined : ratio <= atMost,
  };
}
