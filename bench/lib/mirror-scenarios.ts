/**
 * The mirror benchmark's scenarios on one server: a full mirror into a fresh bucket per contender, the
 * same again with nothing changed, again after 1% new objects, and the large objects alone (whole-object
 * CopyObject against copying in parts). The no-change and +1% runs take about a second, where one
 * run's noise is a tenth of that: their fast contenders run BENCH_QUICK_RUNS times in turns.
 */
import { type EngineTuning, engineTuning } from './engine-options.ts';
import { note } from './log.ts';
import { awsCli, type Contender, copyLoop, ourEngine, type RunFigures, rclone } from './mirror-contenders.ts';
import type { MirrorKnobs } from './mirror-knobs.ts';
import type { AwsProfile } from './peers.ts';
import { copyKeys, seedChunks, seedLarge } from './seed.ts';
import type { BenchServer } from './servers.ts';

export type Scenario = 'full' | 'no change' | '+1% new' | 'large only';

/** One measured run, with what the scenario asked of it. */
export interface MirrorRow {
  server: string;
  scenario: Scenario;
  tool: string;
  kind: Contender['kind'];
  rcloneMode?: Contender['rcloneMode'];
  /** Objects in the source bucket. */
  objects: number;
  /** Bytes the scenario needs copied. */
  bytes: number;
  /** Objects the scenario needs copied. */
  toCopy: number;
  /** Which of the scenario's runs (1 when it runs once). */
  round: number;
  fig: RunFigures;
}

interface ServerRun {
  server: BenchServer;
  aws: AwsProfile;
  knobs: MirrorKnobs;
  rows: MirrorRow[];
}

const SMALL = { minBytes: 4 * 1024, maxBytes: 64 * 1024 };

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 40);

/** Runs one contender into `to` (created when `fresh`), records and returns its row. */
async function measure(
  run: ServerRun,
  contender: Contender,
  setup: {
    scenario: Scenario;
    from: string;
    to: string;
    fresh: boolean;
    objects: number;
    bytes: number;
    toCopy: number;
    round?: number;
  },
): Promise<MirrorRow> {
  if (setup.fresh) await run.server.createBucket(setup.to);
  const fig = await contender.run({ server: run.server, aws: run.aws, from: setup.from, to: setup.to });
  const { kind, rcloneMode, tool } = contender;
  const row: MirrorRow = { server: run.server.name, tool, kind, rcloneMode, round: 1, ...setup, fig };
  run.rows.push(row);
  const which = setup.round ? ` (run ${setup.round})` : '';
  note(
    `${run.server.name} ${setup.scenario} ${tool}${which}: ${fig.wallS.toFixed(2)} s, copied ${fig.copied ?? '?'}`,
  );
  return row;
}

/** Every scenario on one server; rows are appended to `rows` as they are measured. */
export async function runMirrorScenarios(
  server: BenchServer,
  knobs: MirrorKnobs,
  aws: AwsProfile,
  rows: MirrorRow[],
): Promise<void> {
  const run: ServerRun = { server, aws, knobs, rows };
  const n = server.name === 's3rver' ? knobs.s3rverN : knobs.n;
  await server.createBucket('src');
  await server.createBucket('src-large');
  const small = await seedChunks(server.client, 'src', { count: n, ...SMALL });
  const largeKeys = await seedLarge(server.client, 'src', knobs.largeCount, knobs.largeBytes);
  await copyKeys(server.client, 'src', 'src-large', largeKeys);
  note(
    `${server.name}: seeded ${n} small objects and ${knobs.largeCount} × ${knobs.largeBytes / 2 ** 20} MiB`,
  );
  const source = { objects: n + knobs.largeCount, bytes: small.bytes + knobs.largeCount * knobs.largeBytes };
  const targets = await runFull(run, source);
  await runNoChange(run, source.objects, targets);
  await runDelta(run, source.objects, Math.max(1, Math.round(n / 100)), targets);
  await runLarge(run, knobs.largeCount, knobs.largeBytes);
}

/** The configured defaults, the BENCH_* overrides, then `extra`. */
function tuning(knobs: MirrorKnobs, extra: Partial<EngineTuning> = {}): EngineTuning {
  return engineTuning({ ...knobs.tuning, ...extra });
}

function fullContenders(knobs: MirrorKnobs): Contender[] {
  const peers = knobs.skipPeers ? [] : [rclone(16), rclone(32), awsCli()];
  return [ourEngine(tuning(knobs)), ...peers, copyLoop(16), copyLoop(32), copyLoop(64)];
}

/** Full mirrors; returns the target bucket of each tool, for the later scenarios. */
async function runFull(
  run: ServerRun,
  source: { objects: number; bytes: number },
): Promise<Map<string, string>> {
  const targets = new Map<string, string>();
  for (const contender of fullContenders(run.knobs)) {
    const to = `full-${slug(contender.tool)}`;
    await measure(run, contender, {
      scenario: 'full',
      from: 'src',
      to,
      fresh: true,
      ...source,
      toCopy: source.objects,
    });
    targets.set(contender.tool, to);
  }
  return targets;
}

/**
 * Nothing changed since the full mirror. rclone's default mode runs on its own 16-transfer target (its
 * first run after a server-side copy re-copies to fix modification times: shown, not hidden); its fast
 * modes on the 32-transfer target. The slow ones (rclone's default mode, aws) run once.
 */
async function runNoChange(run: ServerRun, objects: number, targets: Map<string, string>): Promise<void> {
  const fast: [Contender, string][] = [[ourEngine(tuning(run.knobs)), 'pachops']];
  const slow: [Contender, string][] = [];
  if (!run.knobs.skipPeers) {
    fast.push([rclone(16, 'checksum'), rclone(32).tool], [rclone(16, 'update'), rclone(32).tool]);
    slow.push([rclone(16), rclone(16).tool], [awsCli(), 'aws s3 sync']);
  }
  const setup = { scenario: 'no change' as const, from: 'src', fresh: false, objects, bytes: 0, toCopy: 0 };
  for (let round = 1; round <= run.knobs.quickRuns; round++) {
    for (const [contender, targetOf] of round === 1 ? [...fast, ...slow] : fast)
      await measure(run, contender, { ...setup, to: targets.get(targetOf)!, round });
  }
}

/** Each round adds 1% new objects, then every tool mirrors them into a target that was in sync; aws in the first round only. */
async function runDelta(
  run: ServerRun,
  objects: number,
  count: number,
  targets: Map<string, string>,
): Promise<void> {
  const fast: [Contender, string][] = [[ourEngine(tuning(run.knobs)), 'pachops']];
  const slow: [Contender, string][] = [];
  if (!run.knobs.skipPeers) {
    fast.push([rclone(16, 'checksum'), rclone(32).tool], [rclone(16, 'update'), rclone(16).tool]);
    slow.push([awsCli(), 'aws s3 sync']);
  }
  for (let round = 1; round <= run.knobs.quickRuns; round++) {
    const delta = await seedChunks(run.server.client, 'src', { count, ...SMALL });
    objects += delta.objects;
    const setup = { scenario: '+1% new' as const, from: 'src', fresh: false, objects, round };
    for (const [contender, targetOf] of round === 1 ? [...fast, ...slow] : fast) {
      const to = targets.get(targetOf)!;
      await measure(run, contender, { ...setup, to, bytes: delta.bytes, toCopy: delta.objects });
    }
  }
}

/** The large objects alone: whole-object copies, then in parts (multipartThreshold below their size). */
async function runLarge(run: ServerRun, count: number, bytes: number): Promise<void> {
  if (count === 0) return;
  const base = tuning(run.knobs);
  const parts = tuning(run.knobs, {
    multipartThreshold: bytes - 1,
    partSize: Math.min(base.partSize ?? bytes, bytes),
  });
  const contenders = [ourEngine(tuning(run.knobs)), ourEngine(parts, 'pachops, in parts')];
  if (!run.knobs.skipPeers) contenders.push(rclone(16), awsCli());
  for (const contender of contenders) {
    const to = `large-${slug(contender.tool)}`;
    const setup = { scenario: 'large only' as const, from: 'src-large', to, fresh: true };
    await measure(run, contender, { ...setup, objects: count, bytes: count * bytes, toCopy: count });
  }
}
