/**
 * The expected downtime of a backup, from the cluster's own history: the cluster is down from the start
 * of `pause` to the end of `resume`, so the downtime is the sum of those four phases. Each phase's
 * model predicts the next run; the weighted 10th, 50th and 90th percentiles of prediction × each
 * sample's actual ÷ predicted give its low, expected and high durations:
 *
 * - `pause`, `resume`: their measured durations as they are (they do not grow with the data), from
 *   samples of the same pause mode when there are any (`scale` and `enterprise` differ a lot).
 * - `dump`: a fixed overhead plus bytes ÷ rate, fitted by non-negative least squares on relative
 *   errors. The overhead is only fitted when the history's sizes differ by half or more and there are at
 *   least three samples; otherwise everything is put down to size (proportional scaling), which errs
 *   on the long side when the databases grow.
 * - `mirror`: overhead + per-listed-object cost (listing, object list, consistency check) + per-object
 *   cost × objects to copy + bytes to copy ÷ throughput, fitted the same way over every subset of
 *   terms (the best non-negative one wins). One sample scales proportionally with the copy work.
 *   Without a pre-copy the delta is unknown: each earlier run's delta, scaled to today's bucket, is a
 *   guess of its own, so the range also covers how much the delta varies.
 *
 * Fits are robust: one round drops samples more than 50% (and 3 MADs) off the first fit, and refits;
 * the dropped samples still count towards the spread. Only the last 20 operations are used, each
 * weighted by recency (half weight 10 operations back). The range of each phase is never narrower than
 * -15%/+15%, and wider with few samples (-50%/+100% with one); the downtime's range is the sum of the
 * phases' ranges (exact when phases are slow or fast together, wider otherwise).
 */
import { z } from 'zod';

export const DOWNTIME_PHASES = ['pause', 'dump', 'mirror', 'resume'] as const;
export type DowntimePhase = (typeof DOWNTIME_PHASES)[number];
export const PauseMode = z.enum(['scale', 'enterprise']);
export type PauseMode = z.infer<typeof PauseMode>;

const Amount = z.number().nonnegative();

/** One completed phase of an earlier backup of the same cluster (a state-database row, or a fixture). */
export const PhaseSampleSchema = z.object({
  operationId: z.string().min(1),
  phase: z.enum(DOWNTIME_PHASES),
  durationMs: Amount,
  finishedAt: z.coerce.date(),
  pauseMode: PauseMode,
  /** dump: bytes written (`state.dumps[*].bytes`, compressed). */
  bytes: Amount.optional(),
  /**
   * dump: the databases' size when planned (`state.plan.databases`, `pg_database_size`), the same
   * measure as {@link UpcomingRun.databaseBytes}. Used instead of `bytes` when every dump sample has it.
   */
  databaseBytes: Amount.optional(),
  /** mirror (`state.mirror`): `copied`, `copiedBytes`, `objects`. */
  objectsCopied: Amount.optional(),
  bytesCopied: Amount.optional(),
  objectsListed: Amount.optional(),
});
export type PhaseSample = z.infer<typeof PhaseSampleSchema>;

/** What the next backup will move. */
export interface UpcomingRun {
  pauseMode: PauseMode;
  /** Total `pg_database_size` of the databases to dump. */
  databaseBytes: number;
  /** Known exactly after a live pre-copy; otherwise the history's typical delta is assumed. */
  objectsToCopy?: number;
  bytesToCopy?: number;
  /** Objects in the source bucket (the plan's listing). */
  objectsListed?: number;
}

export interface PhaseRange {
  expectedMs: number;
  lowMs: number;
  highMs: number;
}

export type Estimate =
  | (PhaseRange & { kind: 'history'; samples: number; perPhase: Record<DowntimePhase, PhaseRange> })
  | { kind: 'none'; reason: string };

const RECENT_OPERATIONS = 20;
const HALF_LIFE_OPERATIONS = 10;
const NO_HISTORY = 'no history yet';

type Point = { value: number; weight: number };
type Row = { sample: PhaseSample; weight: number };
/** A sample for a linear fit: features `x` (x[0] = 1, the overhead), duration `y`, weight `w`. */
type FitRow = { x: number[]; y: number; w: number };
/** What to predict for: the next run's features, weighted when there are several guesses. */
type Target = Omit<FitRow, 'y'>;

/**
 * The downtime of the next backup given its sizes; `none` unless every phase from pause to resume has
 * at least one usable sample (a positive duration) among the last 20 operations.
 */
export function estimateDowntime(history: readonly PhaseSample[], now: UpcomingRun): Estimate {
  const recent = selectRecent(history);
  const of = (phase: DowntimePhase) => recent.rows.filter((r) => r.sample.phase === phase);
  const pause = estimateUnscaled(preferMode(of('pause'), now.pauseMode));
  const dump = estimateDump(of('dump'), now.databaseBytes);
  const mirror = estimateMirror(of('mirror'), now);
  const resume = estimateUnscaled(preferMode(of('resume'), now.pauseMode));
  if (!pause || !dump || !mirror || !resume) return { kind: 'none', reason: NO_HISTORY };
  const perPhase = { pause, dump, mirror, resume };
  const total = (key: keyof PhaseRange) => DOWNTIME_PHASES.reduce((sum, p) => sum + perPhase[p][key], 0);
  return {
    kind: 'history',
    expectedMs: total('expectedMs'),
    lowMs: total('lowMs'),
    highMs: total('highMs'),
    samples: recent.operations,
    perPhase,
  };
}

/** The samples of the last 20 operations (by their latest phase), weighted 1, 0.93, 0.87, … by recency. */
function selectRecent(history: readonly PhaseSample[]): { rows: Row[]; operations: number } {
  const usable = history.filter(
    (s) => Number.isFinite(s.durationMs) && s.durationMs > 0 && Number.isFinite(s.finishedAt.getTime()),
  );
  const latest = new Map<string, number>();
  for (const s of usable)
    latest.set(s.operationId, Math.max(latest.get(s.operationId) ?? 0, s.finishedAt.getTime()));
  const ranked = [...latest.entries()].sort((a, b) => b[1] - a[1]).slice(0, RECENT_OPERATIONS);
  const rank = new Map(ranked.map(([id], i) => [id, i]));
  const rows = usable.flatMap((sample) => {
    const r = rank.get(sample.operationId);
    return r === undefined ? [] : [{ sample, weight: 0.5 ** (r / HALF_LIFE_OPERATIONS) }];
  });
  return { rows, operations: ranked.length };
}

function preferMode(rows: Row[], mode: PauseMode): Row[] {
  const same = rows.filter((r) => r.sample.pauseMode === mode);
  return same.length > 0 ? same : rows;
}

function estimateUnscaled(rows: Row[]): PhaseRange | undefined {
  const points = rows.map((r) => ({ value: r.sample.durationMs, weight: r.weight }));
  return rows.length > 0 ? rangeFrom(points, rows.length) : undefined;
}

function estimateDump(rows: Row[], databaseBytes: number): PhaseRange | undefined {
  const useDatabaseSize = rows.length > 0 && rows.every((r) => (r.sample.databaseBytes ?? 0) > 0);
  const size = (s: PhaseSample) => (useDatabaseSize ? s.databaseBytes : s.bytes) ?? 0;
  const sized = rows.filter((r) => size(r.sample) > 0);
  if (sized.length === 0 || !(databaseBytes > 0)) return estimateUnscaled(rows);
  const sizes = sized.map((r) => size(r.sample));
  const overhead = sized.length >= 3 && Math.max(...sizes) >= 1.5 * Math.min(...sizes);
  const fitRows = sized.map((r) => ({ x: [1, size(r.sample)], y: r.sample.durationMs, w: r.weight }));
  return estimateLinear(fitRows, [{ x: [1, databaseBytes], w: 1 }], overhead) ?? estimateUnscaled(rows);
}

function estimateMirror(rows: Row[], now: UpcomingRun): PhaseRange | undefined {
  const fitRows = rows.flatMap(({ sample: s, weight }) =>
    s.objectsListed === undefined || s.objectsCopied === undefined || s.bytesCopied === undefined
      ? []
      : [{ x: [1, s.objectsListed, s.objectsCopied, s.bytesCopied], y: s.durationMs, w: weight }],
  );
  if (fitRows.length === 0) return estimateUnscaled(rows);
  const targets = mirrorTargets(fitRows, now);
  if (fitRows.length > 1) return estimateLinear(fitRows, targets, true) ?? estimateUnscaled(rows);
  // One sample: time proportional to the copy work (objects and bytes counted half each).
  const [one] = fitRows;
  const scale = (t: Target) => {
    const ratios = [2, 3].filter((j) => one.x[j] > 0).map((j) => t.x[j] / one.x[j]);
    return ratios.length > 0 ? ratios.reduce((a, b) => a + b) / ratios.length : 1;
  };
  const points = targets.map((t) => ({ value: one.y * scale(t), weight: t.w }));
  return rangeFrom(points, 1);
}

/**
 * `[1, listed, objects to copy, bytes to copy]` for the next run: one target when the delta is known
 * (a pre-copy), else one per earlier run, its delta scaled to today's bucket (a first backup's full
 * copy, more than half the bucket, says nothing about the usual delta and is left out when others exist).
 */
function mirrorTargets(rows: FitRow[], now: UpcomingRun): Target[] {
  const newest = rows.reduce((a, b) => (b.w > a.w ? b : a));
  const listed = now.objectsListed ?? newest.x[1];
  if (now.objectsToCopy !== undefined || now.bytesToCopy !== undefined) {
    const perObject = weightedMedian(
      rows.filter((r) => r.x[2] > 0).map((r) => ({ value: r.x[3] / r.x[2], weight: r.w })),
    );
    const objects = now.objectsToCopy ?? (perObject ? (now.bytesToCopy ?? 0) / perObject : 0);
    return [{ x: [1, listed, objects, now.bytesToCopy ?? objects * (perObject ?? 0)], w: 1 }];
  }
  const deltas = rows.filter((r) => r.x[2] <= 0.5 * r.x[1]);
  return (deltas.length > 0 ? deltas : rows).map((r) => {
    const growth = r.x[1] > 0 ? listed / r.x[1] : 1;
    return { x: [1, listed, r.x[2] * growth, r.x[3] * growth], w: r.w };
  });
}

/**
 * A non-negative linear fit, refitted once without outliers. Its spread: every target's prediction
 * times every sample's actual ÷ predicted (model error and, for several targets, input uncertainty).
 */
function estimateLinear(rows: FitRow[], targets: Target[], overhead: boolean): PhaseRange | undefined {
  const first = fitNonNegative(rows, overhead);
  if (!first) return undefined;
  const logs = rows.map((r) => ({ value: Math.log(r.y / predict(first, r.x)), weight: r.w }));
  const center = weightedMedian(logs) ?? 0;
  const mad = weightedMedian(logs.map((l) => ({ value: Math.abs(l.value - center), weight: l.weight }))) ?? 0;
  const limit = Math.max(Math.log(1.5), 3 * 1.4826 * mad);
  const kept = rows.filter((_, i) => Math.abs(logs[i].value - center) <= limit);
  const refit = kept.length < rows.length && kept.length >= 2 ? fitNonNegative(kept, overhead) : undefined;
  const coef = refit && rows.every((r) => predict(refit, r.x) > 0) ? refit : first;
  const points = rows.flatMap((r) =>
    targets.map((t) => ({ value: (predict(coef, t.x) * r.y) / predict(coef, r.x), weight: r.w * t.w })),
  );
  return rangeFrom(points, rows.length);
}

function predict(coef: number[], x: number[]): number {
  return coef.reduce((sum, c, j) => sum + c * x[j], 0);
}

/**
 * Non-negative least squares on relative errors (each row weighted w / y²), by trying every subset of
 * terms that keeps at least one size term (and the overhead only when allowed), with fewer terms than
 * samples, and keeping the best one whose coefficients are all ≥ 0 and that predicts every sample > 0.
 */
function fitNonNegative(rows: FitRow[], overhead: boolean): number[] | undefined {
  const k = rows[0].x.length;
  const scale = rows[0].x.map((_, j) => Math.max(...rows.map((r) => Math.abs(r.x[j]))) || 1);
  let best: { coef: number[]; sse: number } | undefined;
  for (let mask = 1; mask < 1 << k; mask++) {
    const cols = [...Array(k).keys()].filter((j) => mask & (1 << j));
    if (!cols.some((j) => j > 0) || (!overhead && cols.includes(0))) continue;
    if (cols.length > Math.max(1, rows.length - 1)) continue;
    const solved = solveLeastSquares(rows.map((r) => ({ ...r, x: cols.map((j) => r.x[j] / scale[j]) })));
    if (!solved || solved.some((c) => c < 0)) continue;
    const coef = new Array<number>(k).fill(0);
    cols.forEach((j, i) => {
      coef[j] = solved[i] / scale[j];
    });
    if (rows.some((r) => !(predict(coef, r.x) > 0))) continue;
    const sse = rows.reduce((sum, r) => sum + (r.w * (r.y - predict(coef, r.x)) ** 2) / r.y ** 2, 0);
    if (!best || sse < best.sse * (1 - 1e-9)) best = { coef, sse };
  }
  return best?.coef;
}

/** Weighted (w / y²) normal equations solved by Gaussian elimination; undefined when singular. */
function solveLeastSquares(rows: FitRow[]): number[] | undefined {
  const k = rows[0].x.length;
  const a = [...Array(k)].map(() => new Array<number>(k + 1).fill(0));
  for (const { x, y, w } of rows) {
    const wy = w / y ** 2;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) a[i][j] += wy * x[i] * x[j];
      a[i][k] += wy * x[i] * y;
    }
  }
  const tolerance = 1e-10 * Math.max(...a.map((row, i) => Math.abs(row[i])));
  for (let col = 0; col < k; col++) {
    const pivot = a.reduce(
      (p, row, i) => (i >= col && Math.abs(row[col]) > Math.abs(a[p][col]) ? i : p),
      col,
    );
    if (!(Math.abs(a[pivot][col]) > tolerance)) return undefined;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    for (let i = 0; i < k; i++) {
      if (i === col) continue;
      const f = a[i][col] / a[col][col];
      for (let j = col; j <= k; j++) a[i][j] -= f * a[col][j];
    }
  }
  return a.map((row, i) => row[k] / row[i]);
}

/** The weighted 10th/50th/90th percentiles of the points, widened for `n` samples. */
function rangeFrom(points: Point[], n: number): PhaseRange {
  const at = (p: number) => weightedQuantile(points, p);
  const expectedMs = at(0.5);
  return {
    expectedMs: Math.round(expectedMs),
    lowMs: Math.round(Math.min(at(0.1), expectedMs * (1 - (0.15 + 0.35 / n)))),
    highMs: Math.round(Math.max(at(0.9), expectedMs * (1 + (0.15 + 0.85 / n)))),
  };
}

function weightedMedian(points: Point[]): number | undefined {
  return points.length > 0 ? weightedQuantile(points, 0.5) : undefined;
}

/** The p-quantile, interpolated between the weight midpoints of the sorted values. */
function weightedQuantile(points: Point[], p: number): number {
  const sorted = [...points].sort((a, b) => a.value - b.value);
  const total = sorted.reduce((sum, pt) => sum + pt.weight, 0);
  let seen = 0;
  const mids = sorted.map((pt) => {
    const mid = (seen + pt.weight / 2) / total;
    seen += pt.weight;
    return mid;
  });
  const i = mids.findIndex((m) => m >= p);
  if (i <= 0) return sorted[i === 0 ? 0 : sorted.length - 1].value;
  const t = (p - mids[i - 1]) / (mids[i] - mids[i - 1]);
  return sorted[i - 1].value + t * (sorted[i].value - sorted[i - 1].value);
}

/**
 * `about 12 min (9–16)`, `about 45 s (30 s–1 min)`, `about 2 h 30 min (2 h–3 h 10 min)`, or the
 * reason there is none (`no history yet`).
 */
export function formatEstimate(estimate: Estimate): string {
  if (estimate.kind === 'none') return estimate.reason;
  const [expected, low, high] = [estimate.expectedMs, estimate.lowMs, estimate.highMs].map(
    formatRoughDuration,
  );
  if (low === high) return `about ${expected}`;
  const unit = (text: string) => /^[\d.]+ (s|min)$/.exec(text)?.[1];
  const sameUnit =
    unit(expected) !== undefined && unit(low) === unit(expected) && unit(high) === unit(expected);
  const bare = (text: string) => text.split(' ')[0];
  return sameUnit ? `about ${expected} (${bare(low)}–${bare(high)})` : `about ${expected} (${low}–${high})`;
}

/**
 * A duration as people say it: seconds under 2 min (to 5 s from 10 s; a whole minute as `1 min`),
 * half minutes under 10 min, whole minutes under 2 h, then hours and minutes to 5 min (`2 h 35 min`).
 */
export function formatRoughDuration(ms: number): string {
  if (ms < 119_500) {
    const s = ms < 9_500 ? Math.max(1, Math.round(ms / 1000)) : Math.round(ms / 5000) * 5;
    return s % 60 === 0 ? `${s / 60} min` : `${s} s`;
  }
  if (ms < 585_000) return `${Math.round(ms / 30_000) / 2} min`;
  if (ms < 7_170_000) return `${Math.round(ms / 60_000)} min`;
  const minutes = Math.round(ms / 300_000) * 5;
  const h = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${h} h` : `${h} h ${minutes % 60} min`;
}

/**
 * Whether `next` should replace the announced estimate `announced`: its expected downtime moved by more
 * than `fraction` of the announced one, or one of them is `none` and the other is not.
 */
export function differsEnough(announced: Estimate, next: Estimate, fraction = 0.2): boolean {
  if (announced.kind === 'none' || next.kind === 'none') return announced.kind !== next.kind;
  return Math.abs(next.expectedMs - announced.expectedMs) > fraction * announced.expectedMs;
}
