import { formatBytes, formatCount, formatDuration } from '../../format.ts';
import { type KeyRange, positionInRange } from './key-ranges.ts';

/** A mirror's progress, as reported while it runs and returned at the end. */
export interface MirrorProgress {
  /** Source objects seen so far, and their bytes. */
  listed: number;
  listedBytes: number;
  /** Objects found to need a copy so far, and their bytes. */
  toCopy: number;
  toCopyBytes: number;
  copied: number;
  copiedBytes: number;
  /** Keys whose content changed since an earlier backup (kept under `.pachops/versions/`). */
  changed: number;
  /** Same key and size, but ETags that cannot be compared: not copied, and not proven equal. */
  unverified: number;
  /** Listed in the source, gone when copied (chunk GC on a live cluster): left out of the object list. */
  vanished: number;
  vanishedBytes: number;
  /** Whether both listings are complete: then `remaining` is exact. */
  listingDone: boolean;
  /** How much of the key space has been listed, 0..1 (estimated from chunk keys' hex digits). */
  listedFraction: number;
  /** What is left to copy, extrapolated from what listing found so far; undefined until it can tell. */
  remaining?: { objects: number; bytes: number };
  objectsPerSecond: number;
  bytesPerSecond: number;
  /** Estimated time to finish, when `remaining` is known and copying has begun. */
  etaMs?: number;
  /** Copies allowed in flight now (lowered while the server pushes back). */
  concurrency: number;
  elapsedMs: number;
}

export type MirrorCounts = Pick<
  MirrorProgress,
  | 'listed'
  | 'listedBytes'
  | 'toCopy'
  | 'toCopyBytes'
  | 'copied'
  | 'copiedBytes'
  | 'changed'
  | 'unverified'
  | 'vanished'
  | 'vanishedBytes'
>;

export const emptyCounts = (): MirrorCounts => ({
  listed: 0,
  listedBytes: 0,
  toCopy: 0,
  toCopyBytes: 0,
  copied: 0,
  copiedBytes: 0,
  changed: 0,
  unverified: 0,
  vanished: 0,
  vanishedBytes: 0,
});

/** Extrapolation starts once this much of the key space is listed: earlier guesses swing too much. */
const MIN_FRACTION = 0.02;

/** Keeps the counts and where each range's listing is, and turns them into rates and an ETA. */
export class ProgressTracker {
  readonly counts = emptyCounts();
  private readonly started = Date.now();
  private readonly positions: number[];
  private readonly ranges: KeyRange[];

  constructor(ranges: KeyRange[]) {
    this.ranges = ranges;
    this.positions = ranges.map(() => 0);
  }

  /** A range's listing reached `key`. */
  listedUpTo(rangeIndex: number, key: string): void {
    const position = positionInRange(this.ranges[rangeIndex]!, key);
    if (position !== undefined) this.positions[rangeIndex] = Math.max(this.positions[rangeIndex]!, position);
  }

  rangeDone(rangeIndex: number): void {
    this.positions[rangeIndex] = 1;
  }

  snapshot(concurrency: number): MirrorProgress {
    const c = this.counts;
    const elapsedMs = Date.now() - this.started;
    const listedFraction = this.positions.reduce((sum, p) => sum + p, 0) / Math.max(1, this.positions.length);
    const listingDone = listedFraction >= 1;
    const seconds = Math.max(elapsedMs / 1000, 0.001);
    const objectsPerSecond = c.copied / seconds;
    const bytesPerSecond = c.copiedBytes / seconds;
    let remaining: MirrorProgress['remaining'];
    if (listingDone || listedFraction >= MIN_FRACTION) {
      const scale = listingDone ? 1 : 1 / listedFraction;
      remaining = {
        objects: Math.max(0, Math.round(c.toCopy * scale) - c.copied),
        bytes: Math.max(0, Math.round(c.toCopyBytes * scale) - c.copiedBytes),
      };
    }
    let etaMs: number | undefined;
    if (remaining && c.copied > 0) {
      etaMs =
        1000 * Math.max(remaining.objects / objectsPerSecond, remaining.bytes / Math.max(bytesPerSecond, 1));
    }
    return {
      ...c,
      listingDone,
      listedFraction,
      remaining,
      objectsPerSecond,
      bytesPerSecond,
      etaMs,
      concurrency,
      elapsedMs,
    };
  }
}

/** One line for the thread and the CLI: done and remaining, rate, ETA. */
export function describeMirrorProgress(p: MirrorProgress): string {
  const approx = p.listingDone ? '' : '~';
  const parts = [
    p.remaining
      ? `${formatCount(p.copied)} of ${approx}${formatCount(p.copied + p.remaining.objects)} objects copied (${formatBytes(p.copiedBytes)} of ${approx}${formatBytes(p.copiedBytes + p.remaining.bytes)})`
      : `${formatCount(p.copied)} objects copied (${formatBytes(p.copiedBytes)})`,
    `${formatCount(p.listed)} listed${p.listingDone ? '' : ` (${Math.floor(p.listedFraction * 100)}% of the keys)`}`,
    `${p.objectsPerSecond.toFixed(0)} objects/s, ${formatBytes(p.bytesPerSecond)}/s`,
  ];
  if (p.etaMs !== undefined) parts.push(`about ${formatDuration(p.etaMs)} left`);
  return parts.join(' · ');
}

/** Done so far, 0..1, for a progress bar: undefined until the total can be told. */
export function mirrorFraction(p: MirrorProgress): number | undefined {
  if (!p.remaining) return undefined;
  const total = p.copied + p.remaining.objects;
  return total === 0 ? (p.listingDone ? 1 : undefined) : p.copied / total;
}
