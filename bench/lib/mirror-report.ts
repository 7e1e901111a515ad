/** The mirror benchmark's table and the ratios that issue 6's targets name. */
import type { MirrorRow } from './mirror-scenarios.ts';
import { medianBy } from './stats.ts';
import { ratioLine, type SummaryLine } from './summary.ts';
import { type Cell, fixed, printTable } from './table.ts';

const HEADERS = [
  'server',
  'scenario',
  'run',
  'tool',
  'wall s',
  'in-process s',
  'objects/s',
  'MB/s',
  'copied',
  'peak RSS MiB',
  'client CPU s',
  'CPU ms/copied',
];

function toCells(row: MirrorRow): Cell[] {
  const { fig } = row;
  const perObject = fig.copied ? (fig.cpuS * 1000) / fig.copied : undefined;
  return [
    row.server,
    row.scenario,
    row.round,
    row.tool,
    fixed(fig.wallS),
    fig.engineS === undefined ? undefined : fixed(fig.engineS),
    fixed(row.objects / fig.wallS, 0),
    row.bytes ? fixed(row.bytes / 1e6 / fig.wallS, 1) : undefined,
    fig.copied === undefined ? '?' : `${fig.copied}/${row.toCopy}`,
    fixed(fig.peakRssMiB, 0),
    fixed(fig.cpuS),
    fixed(perObject),
  ];
}

/**
 * Prints every measured run. objects/s counts the source's objects; MB/s the bytes that needed copying;
 * in-process s is pachops' own time inside the process, without Node's start-up.
 */
export function printMirrorTable(rows: MirrorRow[]): void {
  printTable('mirror: every run (wall, RSS and CPU from /usr/bin/time)', HEADERS, rows.map(toCells));
}

const pick = (rows: MirrorRow[], scenario: string, test: (row: MirrorRow) => boolean) =>
  rows.filter((row) => row.scenario === scenario && test(row));

/** The run of median wall time. */
const medianRow = (rows: MirrorRow[]) => medianBy(rows, (row) => row.fig.wallS);

/** Each tool's median run. */
function mediansByTool(rows: MirrorRow[]): MirrorRow[] {
  const tools = [...new Set(rows.map((row) => row.tool))];
  return tools.map((tool) => medianRow(rows.filter((row) => row.tool === tool))!);
}

function fastest(rows: MirrorRow[]): MirrorRow | undefined {
  return rows.reduce<MirrorRow | undefined>(
    (best, row) => (!best || row.fig.wallS < best.fig.wallS ? row : best),
    undefined,
  );
}

const cpuPerCopy = (row: MirrorRow | undefined) =>
  row?.fig.copied ? (row.fig.cpuS * 1000) / row.fig.copied : undefined;

/** The ratios of one server's rows, as summary lines; a scenario run several times counts each tool's median run. */
export function mirrorRatios(rows: MirrorRow[], server: string): SummaryLine[] {
  const mine = rows.filter((row) => row.server === server);
  const bench = `mirror/${server}`;
  const ours = (scenario: string) => medianRow(pick(mine, scenario, (row) => row.tool === 'pachops'));
  const rcloneFull = fastest(pick(mine, 'full', (row) => row.kind === 'rclone'));
  const loopFull = fastest(pick(mine, 'full', (row) => row.kind === 'loop'));
  const rcloneIdle = fastest(mediansByTool(pick(mine, 'no change', (row) => row.kind === 'rclone')));
  const checksumDelta = medianRow(pick(mine, '+1% new', (row) => row.rcloneMode === 'checksum'));
  const inProcess = pick(mine, 'no change', (row) => row.tool === 'pachops').flatMap(
    (row) => row.fig.engineS ?? [],
  );
  const idleInProcess = medianBy(inProcess, (seconds) => seconds);
  const wall = (row: MirrorRow | undefined) => row?.fig.wallS;
  const lines = [
    ratioLine(
      bench,
      `full: pachops / ${rcloneFull?.tool ?? 'rclone'} (fastest rclone)`,
      wall(ours('full')),
      wall(rcloneFull),
      0.8,
    ),
    ratioLine(
      bench,
      `full: pachops / ${loopFull?.tool ?? 'bare loop'} (fastest loop)`,
      wall(ours('full')),
      wall(loopFull),
      1.1,
    ),
    ratioLine(bench, '+1% new: pachops / rclone --checksum', wall(ours('+1% new')), wall(checksumDelta), 0.9),
    ratioLine(
      bench,
      `no change: pachops / ${rcloneIdle?.tool ?? 'rclone'} (fastest)`,
      wall(ours('no change')),
      wall(rcloneIdle),
      1,
    ),
    ratioLine(
      bench,
      `no change in a running worker (no process start-up): pachops / ${rcloneIdle?.tool ?? 'rclone'}`,
      idleInProcess,
      wall(rcloneIdle),
    ),
    ratioLine(
      bench,
      'full: peak RSS pachops / rclone',
      ours('full')?.fig.peakRssMiB,
      rcloneFull?.fig.peakRssMiB,
    ),
    ratioLine(
      bench,
      'full: CPU per copied object pachops / rclone',
      cpuPerCopy(ours('full')),
      cpuPerCopy(rcloneFull),
      1,
    ),
  ];
  const whole = pick(mine, 'large only', (row) => row.tool === 'pachops')[0];
  const parts = pick(mine, 'large only', (row) => row.tool === 'pachops, in parts')[0];
  lines.push(ratioLine(bench, 'large: in parts / whole-object CopyObject', wall(parts), wall(whole)));
  if (rcloneIdle) lines.push({ bench, metric: 'fastest rclone no-change mode', value: rcloneIdle.tool });
  return lines;
}
