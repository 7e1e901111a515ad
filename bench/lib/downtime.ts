/**
 * Downtime of a whole backup (`pachops backup --cluster prod --yes`, the CLI) of a simulated cluster
 * with N objects whose workload keeps writing chunk objects while it runs, with and without the live
 * pre-copy: how long the cluster stays paused, and how long the paused mirror takes.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { makeS3Client } from '../../test/harness/s3-client.ts';
import { startScenario } from '../../test/harness/scenario.ts';
import { guardStack, type Stack, startStack, stopStack } from '../../test/harness/stack.ts';
import { note, timed } from './log.ts';
import { measureOrThrow } from './measure.ts';
import { seedChunks } from './seed.ts';
import { ratioLine, type SummaryLine } from './summary.ts';
import { fixed, printTable } from './table.ts';

export interface DowntimeRun {
  precopy: boolean;
  objects: number;
  /** Chunk objects the workload wrote while the backup ran. */
  written: number;
  /** Phase durations (ms) the CLI printed. */
  phases: Record<string, number>;
  downtimeMs: number | undefined;
  wallS: number;
}

const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/** Parses formatDuration's text (`850 ms`, `4.2 s`, `12 s`, `3 min 5 s`, `1 h 2 min`) back to ms. */
export function parseDuration(text: string): number | undefined {
  const match = /^(?:(\d+) h )?(?:(\d+) min ?)?(?:([\d.]+) s)?(?:(\d+) ms)?$/.exec(text.trim());
  if (!match || text.trim() === '') return undefined;
  const [, h, min, s, ms] = match;
  return Number(h ?? 0) * 3_600_000 + Number(min ?? 0) * 60_000 + Number(s ?? 0) * 1000 + Number(ms ?? 0);
}

/** Phase durations and the downtime from the CLI's lines (`[12:00:01] mirror  ✓ in 4.2 s: …`). */
function parseCliOutput(stdout: string): { phases: Record<string, number>; downtimeMs: number | undefined } {
  const phases: Record<string, number> = {};
  for (const match of stdout.matchAll(/^(?:\[[\d:]+\] )?([\w-]+)\s+✓ in (.+?): /gm)) {
    const ms = parseDuration(match[2]!);
    if (ms !== undefined) phases[match[1]!] = ms;
  }
  const downtime = /; downtime (.+)$/m.exec(stdout)?.[1];
  return { phases, downtimeMs: downtime ? parseDuration(downtime) : undefined };
}

/** The scenario's configuration with mirror.precopy set, and the engine's own mirror defaults. */
async function writeConfig(configPath: string, precopy: boolean): Promise<string> {
  const config = parse(await readFile(configPath, 'utf8'));
  // the scenario pins concurrency 16 for its tests; the benchmark measures the configured defaults
  config.clusters.prod.mirror = { precopy };
  const path = join(configPath, '..', `pachops-precopy-${precopy}.yaml`);
  await writeFile(path, stringify(config));
  return path;
}

/** One backup of a fresh simulated cluster on the stack's RGW. */
export async function runBackup(
  stack: Stack,
  options: { precopy: boolean; objects: number; workloadIntervalMs: number },
): Promise<DowntimeRun> {
  const scenario = await startScenario({
    redisUrl: stack.redis.url,
    postgres: stack.postgres,
    s3: stack.rgw!,
    objects: 40,
    workloadIntervalMs: options.workloadIntervalMs,
  });
  try {
    const client = makeS3Client(stack.rgw!);
    await timed(`seeding ${options.objects} objects`, () =>
      seedChunks(client, scenario.names.source, { count: options.objects, minBytes: 4096, maxBytes: 65_536 }),
    );
    client.destroy();
    const before = scenario.workload.stats().chunks;
    const configPath = await writeConfig(scenario.configPath, options.precopy);
    const env = { ...scenario.env, PACHOPS_CONFIG: configPath, LOG_LEVEL: 'warn' };
    const measured = await measureOrThrow('pachops backup', {
      command: process.execPath,
      args: [CLI, 'backup', '--cluster', 'prod', '--yes'],
      env,
    });
    const written = scenario.workload.stats().chunks - before;
    const parsed = parseCliOutput(measured.stdout);
    note(`backup, precopy ${options.precopy}: downtime ${parsed.downtimeMs} ms, ${written} objects written`);
    return { precopy: options.precopy, objects: options.objects, written, ...parsed, wallS: measured.wallS };
  } finally {
    await scenario.stop();
    await rm(scenario.dir, { recursive: true, force: true });
  }
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

/** Prints both runs and returns the ratios issue 6 names (paused mirror after precopy ≤ 15% of a full one). */
export function reportDowntime(runs: DowntimeRun[]): SummaryLine[] {
  printTable(
    'mirror: downtime of a whole backup (CLI, simulated cluster on RGW, workload writing while live)',
    [
      'precopy',
      'objects',
      'written while running',
      'precopy s',
      'paused mirror s',
      'downtime s',
      'backup wall s',
    ],
    runs.map((run) => [
      run.precopy ? 'yes' : 'no',
      run.objects,
      run.written,
      fixed(seconds(run.phases.precopy)),
      fixed(seconds(run.phases.mirror)),
      fixed(seconds(run.downtimeMs)),
      fixed(run.wallS),
    ]),
  );
  const withPrecopy = runs.find((run) => run.precopy);
  const without = runs.find((run) => !run.precopy);
  return [
    ratioLine(
      'mirror/downtime',
      'paused mirror with precopy / without',
      withPrecopy?.phases.mirror,
      without?.phases.mirror,
      0.15,
    ),
    ratioLine(
      'mirror/downtime',
      'downtime with precopy / without',
      withPrecopy?.downtimeMs,
      without?.downtimeMs,
    ),
  ];
}

/**
 * Both backups (without, then with the pre-copy) on one stack of Redis, PostgreSQL and RGW started here.
 * The workload writes one chunk object every `writeEveryMs` while the cluster runs.
 */
export async function measureDowntime(options: {
  objects: number;
  writeEveryMs: number;
}): Promise<SummaryLine[]> {
  const stack = await startStack({ rgw: true, s3rver: false, postgresSsl: true });
  const unguard = guardStack(stack.info);
  const runs: DowntimeRun[] = [];
  try {
    for (const precopy of [false, true]) {
      runs.push(
        await runBackup(stack, {
          precopy,
          objects: options.objects,
          workloadIntervalMs: options.writeEveryMs,
        }),
      );
    }
  } finally {
    await stopStack(stack);
    unguard();
  }
  return reportDowntime(runs);
}
