import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  differsEnough,
  type Estimate,
  estimateDowntime,
  formatEstimate,
  formatRoughDuration,
  type PhaseSample,
  PhaseSampleSchema,
  type UpcomingRun,
} from '../../src/announce/estimate.ts';

/**
 * Recorded histories: each completed downtime phase of every earlier backup of one cluster. They are
 * synthetic, generated from `model` with noise, so the estimator can also be held against the truth.
 */
const Fixture = z.object({
  cluster: z.string(),
  description: z.string(),
  model: z.object({
    dump: z.object({ overheadMs: z.number(), databaseBytesPerSecond: z.number() }),
    mirror: z.object({
      overheadMs: z.number(),
      msPerListedObject: z.number(),
      msPerCopiedObject: z.number(),
      bytesPerSecond: z.number(),
    }),
  }),
  samples: z.array(PhaseSampleSchema),
});
const CLUSTERS = ['small-steady', 'large-growing', 'noisy-outlier'] as const;

function loadFixture(name: string): z.infer<typeof Fixture> {
  return Fixture.parse(JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')));
}

function loadHistory(name: string): PhaseSample[] {
  return loadFixture(name).samples;
}

const operationIds = (history: PhaseSample[]) => [...new Set(history.map((s) => s.operationId))];
const phaseOf = (op: PhaseSample[], phase: PhaseSample['phase']) => op.find((s) => s.phase === phase)!;
const downtimeOf = (op: PhaseSample[]) => op.reduce((sum, s) => sum + s.durationMs, 0);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** The sizes an operation had, as the next run would know them (the delta only after a pre-copy). */
function sizesOf(op: PhaseSample[], knownDelta: boolean): UpcomingRun {
  const mirror = phaseOf(op, 'mirror');
  return {
    pauseMode: phaseOf(op, 'pause').pauseMode,
    databaseBytes: phaseOf(op, 'dump').databaseBytes!,
    objectsListed: mirror.objectsListed,
    ...(knownDelta ? { objectsToCopy: mirror.objectsCopied, bytesToCopy: mirror.bytesCopied } : {}),
  };
}

function history(estimate: Estimate) {
  if (estimate.kind !== 'history') throw new Error(`expected an estimate, got ${JSON.stringify(estimate)}`);
  return estimate;
}

describe.each(CLUSTERS)('recorded history of %s', (name) => {
  const { samples, model } = loadFixture(name);
  const ids = operationIds(samples);
  const ops = ids.map((id) => samples.filter((s) => s.operationId === id));
  const last = ops.at(-1)!;

  test('a new run with the same sizes is estimated within the recorded spread', () => {
    const estimate = history(estimateDowntime(samples, sizesOf(last, false)));
    const recent = ops.slice(-10).map(downtimeOf);
    expect(estimate.expectedMs).toBeGreaterThanOrEqual(Math.min(...recent));
    expect(estimate.expectedMs).toBeLessThanOrEqual(Math.max(...recent));
    expect(estimate.lowMs).toBeLessThan(median(recent));
    expect(estimate.highMs).toBeGreaterThan(median(recent));
    expect(estimate.samples).toBe(Math.min(ids.length, 20));
    const phases = Object.values(estimate.perPhase);
    expect(phases.reduce((sum, p) => sum + p.expectedMs, 0)).toBe(estimate.expectedMs);
    for (const p of phases) expect(p.lowMs <= p.expectedMs && p.expectedMs <= p.highMs).toBe(true);
  });

  test('backtest: most past runs fall in the range estimated from the runs before them', () => {
    const coverage = { unknown: 0, known: 0, runs: 0 };
    const ratios: number[] = [];
    for (let i = 2; i < ops.length; i++) {
      const prior = ops.slice(0, i).flat();
      const actual = downtimeOf(ops[i]);
      const inRange = (e: Estimate) => Number(history(e).lowMs <= actual && actual <= history(e).highMs);
      const known = estimateDowntime(prior, sizesOf(ops[i], true));
      coverage.unknown += inRange(estimateDowntime(prior, sizesOf(ops[i], false)));
      coverage.known += inRange(known);
      coverage.runs++;
      ratios.push(history(known).expectedMs / actual);
    }
    // 10th–90th percentile ranges, widened for few samples: about 80% should land inside
    expect(coverage.known / coverage.runs).toBeGreaterThanOrEqual(0.8);
    expect(coverage.unknown / coverage.runs).toBeGreaterThanOrEqual(0.7);
    expect(median(ratios)).toBeGreaterThan(0.85);
    expect(median(ratios)).toBeLessThan(1.15);
  });

  test('doubling the database bytes roughly doubles the dump and nothing else', () => {
    const now = sizesOf(last, false);
    const base = history(estimateDowntime(samples, now));
    const doubled = history(estimateDowntime(samples, { ...now, databaseBytes: 2 * now.databaseBytes }));
    const ratio = doubled.perPhase.dump.expectedMs / base.perPhase.dump.expectedMs;
    expect(ratio).toBeGreaterThan(1.7);
    expect(ratio).toBeLessThanOrEqual(2.01);
    const truth = model.dump.overheadMs + (2 * now.databaseBytes * 1000) / model.dump.databaseBytesPerSecond;
    // steady sizes cannot tell the fixed overhead from the rate: scaling it all errs on the long side
    expect(doubled.perPhase.dump.expectedMs / truth).toBeGreaterThan(0.85);
    expect(doubled.perPhase.dump.expectedMs / truth).toBeLessThan(name === 'small-steady' ? 1.4 : 1.15);
    for (const phase of ['pause', 'mirror', 'resume'] as const)
      expect(doubled.perPhase[phase]).toEqual(base.perPhase[phase]);
  });

  test('a known pre-copy delta of 1% of the objects makes the mirror part small', () => {
    const now = sizesOf(last, false);
    const mirror = phaseOf(last, 'mirror');
    const objectsToCopy = Math.round(0.01 * mirror.objectsListed!);
    const bytesToCopy = objectsToCopy * (mirror.bytesCopied! / mirror.objectsCopied!);
    const typical = history(estimateDowntime(samples, now)).perPhase.mirror;
    const small = history(estimateDowntime(samples, { ...now, objectsToCopy, bytesToCopy })).perPhase.mirror;
    const recorded = median(ops.slice(-10).map((op) => phaseOf(op, 'mirror').durationMs));
    expect(small.expectedMs).toBeLessThan(0.6 * recorded);
    expect(small.expectedMs).toBeLessThan(0.5 * typical.expectedMs);
    // listing the bucket and checking the list still take their time: close to what the model says
    const m = model.mirror;
    const truth =
      m.overheadMs +
      mirror.objectsListed! * m.msPerListedObject +
      objectsToCopy * m.msPerCopiedObject +
      (bytesToCopy * 1000) / m.bytesPerSecond;
    expect(small.expectedMs / truth).toBeGreaterThan(0.75);
    expect(small.expectedMs / truth).toBeLessThan(1.3);
    // a known delta removes the delta's uncertainty: a narrower range
    expect(small.highMs / small.lowMs).toBeLessThan(typical.highMs / typical.lowMs);
  });

  test('one sample gives a wide range', () => {
    const one = history(estimateDowntime(last, sizesOf(last, true)));
    const all = history(estimateDowntime(samples, sizesOf(last, true)));
    expect(one.samples).toBe(1);
    expect(one.expectedMs).toBeCloseTo(downtimeOf(last), -3);
    expect(one.lowMs).toBeLessThanOrEqual(0.5 * one.expectedMs + 4);
    expect(one.highMs).toBeGreaterThanOrEqual(2 * one.expectedMs - 4);
    expect(one.highMs / one.lowMs).toBeGreaterThan(all.highMs / all.lowMs);
  });
});

test('no history, or no complete one, says so', () => {
  const now: UpcomingRun = { pauseMode: 'scale', databaseBytes: 1e9 };
  expect(estimateDowntime([], now)).toEqual({ kind: 'none', reason: 'no history yet' });
  expect(formatEstimate(estimateDowntime([], now))).toBe('no history yet');
  // a first backup that failed in the dump: no dump, mirror or resume to go on
  const pauseOnly = loadHistory('small-steady').filter((s) => s.phase === 'pause');
  expect(estimateDowntime(pauseOnly, now).kind).toBe('none');
  // zero-length phases (recorded without a duration) are not history
  const zeroed = loadHistory('small-steady').map((s) => ({ ...s, durationMs: 0 }));
  expect(estimateDowntime(zeroed, now).kind).toBe('none');
});

test('an outlier does not drag the expected downtime', () => {
  const samples = loadHistory('noisy-outlier');
  const now = sizesOf(samples.slice(-4), false);
  const withOutlier = history(estimateDowntime(samples, now));
  const without = history(
    estimateDowntime(
      samples.filter((s) => s.operationId !== 'noisy-outlier-009'),
      now,
    ),
  );
  expect(withOutlier.expectedMs / without.expectedMs).toBeGreaterThan(0.9);
  expect(withOutlier.expectedMs / without.expectedMs).toBeLessThan(1.1);
  // it may widen the range (it did happen), but the typical pause stays typical
  expect(withOutlier.perPhase.pause.expectedMs / without.perPhase.pause.expectedMs).toBeLessThan(1.1);
  expect(withOutlier.highMs).toBeGreaterThanOrEqual(without.highMs);
});

test('a single slow dump does not change the fitted rate', () => {
  const samples = loadHistory('large-growing');
  const now = sizesOf(samples.slice(-4), true);
  const slowed = samples.map((s) =>
    s.operationId === 'large-growing-024' && s.phase === 'dump' ? { ...s, durationMs: s.durationMs * 5 } : s,
  );
  const base = history(estimateDowntime(samples, now)).perPhase.dump.expectedMs;
  const withSlow = history(estimateDowntime(slowed, now)).perPhase.dump.expectedMs;
  expect(withSlow / base).toBeGreaterThan(0.93);
  expect(withSlow / base).toBeLessThan(1.07);
});

test('pause and resume come from runs with the same pause mode', () => {
  // noisy-outlier paused with `enterprise` for its first four backups, then with `scale`
  const samples = loadHistory('noisy-outlier');
  const now = sizesOf(samples.slice(-4), false);
  const scale = history(estimateDowntime(samples, now)).perPhase;
  const enterprise = history(estimateDowntime(samples, { ...now, pauseMode: 'enterprise' })).perPhase;
  expect(enterprise.pause.expectedMs).toBeLessThan(20_000);
  expect(scale.pause.expectedMs).toBeGreaterThan(35_000);
  expect(enterprise.resume.expectedMs).toBeLessThan(scale.resume.expectedMs);
  expect(enterprise.dump).toEqual(scale.dump);
});

test('only the last 20 operations count, the most recent the most', () => {
  const samples = loadHistory('large-growing');
  const now = sizesOf(samples.slice(-4), false);
  const base = estimateDowntime(samples, now);
  // the 6 oldest backups (including the first, full copy) are outside the window
  const ids = operationIds(samples);
  const oldChanged = samples.map((s) =>
    ids.indexOf(s.operationId) < 6 ? { ...s, durationMs: s.durationMs * 100 } : s,
  );
  expect(estimateDowntime(oldChanged, now)).toEqual(base);
  // the same slow-down of a recent backup's pause weighs more than an older one's
  const slowPause = (id: string) =>
    samples.map((s) => (s.operationId === id && s.phase === 'pause' ? { ...s, durationMs: 120_000 } : s));
  const recent = history(estimateDowntime(slowPause(ids.at(-1)!), now)).perPhase.pause;
  const older = history(estimateDowntime(slowPause(ids.at(-19)!), now)).perPhase.pause;
  expect(recent.highMs).toBeGreaterThan(older.highMs);
});

test('dump sizes fall back to the dump bytes when the plan sizes were not recorded', () => {
  const samples = loadHistory('small-steady').map(({ databaseBytes: _, ...s }) => s);
  const last = samples.filter((s) => s.phase === 'dump').at(-1)!;
  const estimate = history(estimateDowntime(samples, { pauseMode: 'scale', databaseBytes: last.bytes! }));
  expect(estimate.perPhase.dump.expectedMs / last.durationMs).toBeGreaterThan(0.8);
  expect(estimate.perPhase.dump.expectedMs / last.durationMs).toBeLessThan(1.25);
});

test('runs that copied nothing from an empty bucket still give an estimate', () => {
  const empty = loadHistory('small-steady').map((s) =>
    s.phase === 'mirror' ? { ...s, objectsListed: 0, objectsCopied: 0, bytesCopied: 0 } : s,
  );
  const estimate = history(
    estimateDowntime(empty, { pauseMode: 'scale', databaseBytes: 3e8, objectsListed: 0 }),
  );
  const mirrors = empty.filter((s) => s.phase === 'mirror').map((s) => s.durationMs);
  expect(estimate.perPhase.mirror.expectedMs).toBeGreaterThanOrEqual(Math.min(...mirrors));
  expect(estimate.perPhase.mirror.expectedMs).toBeLessThanOrEqual(Math.max(...mirrors));
});

test('the range is never narrower than ±15%', () => {
  const steady = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'].flatMap((id, i) =>
    (['pause', 'dump', 'mirror', 'resume'] as const).map((phase) => ({
      operationId: id,
      phase,
      durationMs: 60_000,
      finishedAt: new Date(Date.UTC(2025, 0, i + 1)),
      pauseMode: 'scale' as const,
    })),
  );
  const estimate = history(estimateDowntime(steady, { pauseMode: 'scale', databaseBytes: 1e9 }));
  expect(estimate.expectedMs).toBe(240_000);
  expect(estimate.lowMs).toBeLessThanOrEqual(0.85 * 240_000);
  expect(estimate.highMs).toBeGreaterThanOrEqual(1.15 * 240_000);
});

test.each([
  [400, '1 s'],
  [4_400, '4 s'],
  [12_000, '10 s'],
  [45_000, '45 s'],
  [59_000, '1 min'],
  [90_000, '90 s'],
  [118_000, '2 min'],
  [155_000, '2.5 min'],
  [12 * 60_000 + 20_000, '12 min'],
  [119 * 60_000, '119 min'],
  [2 * 3_600_000, '2 h'],
  [2.5 * 3_600_000 + 70_000, '2 h 30 min'],
  [26 * 3_600_000, '26 h'],
])('%i ms is said as %s', (ms, text) => {
  expect(formatRoughDuration(ms)).toBe(text);
});

const range = (expectedMs: number, lowMs: number, highMs: number): Estimate => ({
  kind: 'history',
  expectedMs,
  lowMs,
  highMs,
  samples: 5,
  perPhase: {
    pause: { expectedMs, lowMs, highMs },
    dump: { expectedMs: 0, lowMs: 0, highMs: 0 },
    mirror: { expectedMs: 0, lowMs: 0, highMs: 0 },
    resume: { expectedMs: 0, lowMs: 0, highMs: 0 },
  },
});

test.each([
  [range(12 * 60_000, 9 * 60_000, 16 * 60_000), 'about 12 min (9–16)'],
  [range(45_000, 30_000, 60_000), 'about 45 s (30 s–1 min)'],
  [range(45_000, 31_000, 80_000), 'about 45 s (30–80)'],
  [range(150 * 60_000, 120 * 60_000, 190 * 60_000), 'about 2 h 30 min (2 h–3 h 10 min)'],
  [range(100 * 60_000, 85 * 60_000, 130 * 60_000), 'about 100 min (85 min–2 h 10 min)'],
  [range(2_000, 1_700, 2_300), 'about 2 s'],
  [{ kind: 'none', reason: 'no history yet' } as Estimate, 'no history yet'],
])('formatEstimate %#: %s', (estimate, text) => {
  expect(formatEstimate(estimate)).toBe(text);
});

test('the notice is updated when the estimate moves by more than a fifth', () => {
  const announced = range(600_000, 500_000, 700_000);
  const none: Estimate = { kind: 'none', reason: 'no history yet' };
  expect(differsEnough(announced, range(700_000, 600_000, 800_000))).toBe(false);
  expect(differsEnough(announced, range(721_000, 600_000, 800_000))).toBe(true);
  expect(differsEnough(announced, range(479_000, 400_000, 600_000))).toBe(true);
  expect(differsEnough(announced, range(700_000, 0, 0), 0.1)).toBe(true);
  expect(differsEnough(none, announced)).toBe(true);
  expect(differsEnough(announced, none)).toBe(true);
  expect(differsEnough(none, none)).toBe(false);
});
