import pLimit from 'p-limit';
import type { Logger } from 'pino';
import { PachopsError } from '../../errors.ts';
import { RESERVED_PREFIX } from '../layout.ts';
import { concatObjectLists, deleteKeys, type ObjectListWriter, writeObjectList } from '../object-list.ts';
import { type Bucket, canCopyServerSide } from '../s3.ts';
import { Copier } from './copier.ts';
import { createCopyContext } from './copy-object.ts';
import { type KeyRange, planKeyRanges } from './key-ranges.ts';
import { mirrorRange } from './mirror-range.ts';
import { OrderedListWriter } from './ordered-list.ts';
import { type MirrorProgress, ProgressTracker } from './progress.ts';

export type { MirrorProgress } from './progress.ts';

export interface MirrorTuning {
  /** Copies in flight at most (lowered while the server pushes back). */
  concurrency: number;
  /** Key ranges listed and merge-joined at once. */
  listConcurrency?: number;
  /** Server-side copies above this size go in parts (UploadPartCopy). Default and maximum: 5 GiB. */
  multipartThreshold?: number;
  /** Part size of multipart copies and streamed multipart uploads. Default 64 MiB. */
  partSize?: number;
}

export interface MirrorOptions extends MirrorTuning {
  source: Bucket;
  target: Bucket;
  /** Where a changed key's new content goes (by its ETag), so that older backups keep theirs. */
  changedKeyFor: (key: string, etag: string) => string;
  /** Write the backup's object list (every source object, in key order) to this key of the target. */
  objectListKey?: string;
  /** Whole-copy attempts after the SDK's retries (default 4): a fault outlasting them fails the mirror. */
  copyAttempts?: number;
  /** Only these key ranges (a shard's share); default: the whole bucket, split by planKeyRanges. */
  ranges?: KeyRange[];
  signal?: AbortSignal;
  onProgress?: (progress: MirrorProgress) => void;
  log?: Pick<Logger, 'warn' | 'info'>;
}

export interface MirrorResult extends MirrorProgress {
  serverSide: boolean;
  ranges: number;
  /** Retries the servers caused (503, 429, resets), and the lowest concurrency it came down to. */
  pushBacks: number;
  lowestConcurrency: number;
  /** Examples (the counts are in the progress fields). */
  unverifiedKeys: string[];
  vanishedKeys: string[];
}

/**
 * Copies every object of `source` that `target` lacks, by a streaming merge-join of the two sorted
 * listings, key range by key range, several at once; memory stays flat however large the bucket. Safe to
 * run again: what was copied is found the next time and not copied twice.
 */
export async function mirrorBucket(options: MirrorOptions): Promise<MirrorResult> {
  const { source, target, signal } = options;
  // Both sides skip `.pachops/`: a source that is itself a (reused) backup bucket must not copy its
  // manifests over the target's.
  const ranges = options.ranges ?? (await planKeyRanges(source, { skipPrefix: RESERVED_PREFIX }));
  const serverSide = canCopyServerSide(source.target, target.target);
  const copier = new Copier({
    buckets: [source, target],
    concurrency: options.concurrency,
    attempts: options.copyAttempts,
    signal,
    log: options.log,
  });
  const context = createCopyContext(options, options.log);
  const tracker = new ProgressTracker(ranges);
  const report = () => options.onProgress?.(tracker.snapshot(copier.limit.limit));
  const samples = { unverified: [] as string[], vanished: [] as string[] };
  const parts = listParts(options, ranges.length);
  try {
    const limit = pLimit(Math.max(1, options.listConcurrency ?? 8));
    await Promise.all(
      ranges.map((range, index) =>
        limit(async () => {
          if (copier.stopped) return;
          const writer = parts.open(index);
          const list = new OrderedListWriter(writer);
          const run = { source, target, range, index, serverSide, copier, context, tracker, list, samples };
          const { changedKeyFor } = options;
          // The range's own copies must settle (flushed) even when it fails: none may outlive the mirror.
          await mirrorRange({ ...run, report, signal, changedKeyFor, skipPrefix: RESERVED_PREFIX }).finally(
            () => list.flushed().catch(() => undefined),
          );
          await list.flushed();
          if (!copier.stopped) await writer?.finish();
          // A range that fails (its listing, its object list) stops the others rather than leaving them
          // copying after the mirror has been reported failed, beside a retry.
        }).catch((error: unknown) => copier.fail(error)),
      ),
    );
    await copier.drain();
    if (signal?.aborted) throw aborted(tracker.snapshot(0));
    if (copier.failure) throw copier.failure.error;
    await parts.join();
  } catch (error) {
    parts.abort();
    throw error;
  } finally {
    copier.close();
  }
  report();
  return {
    ...tracker.snapshot(copier.limit.limit),
    serverSide,
    ranges: ranges.length,
    pushBacks: copier.pushBacks,
    lowestConcurrency: copier.lowestLimit,
    unverifiedKeys: samples.unverified,
    vanishedKeys: samples.vanished,
  };
}

function aborted(p: MirrorProgress): PachopsError {
  return new PachopsError(
    'ABORTED',
    `mirror aborted after ${p.copied} copies (${p.listed} objects listed${p.remaining ? `, about ${p.remaining.objects} left to copy` : ''})`,
    { permanent: true },
  );
}

/**
 * The object list: written straight to its key when there is one range, else one part per range
 * (`<key>.parts/<n>`), joined in range order at the end (gzip members concatenate) and then deleted.
 */
function listParts(options: MirrorOptions, count: number) {
  const { target, objectListKey: key } = options;
  const partKey = (index: number) => (count === 1 ? key! : `${key}.parts/${String(index).padStart(5, '0')}`);
  const writers: ObjectListWriter[] = [];
  return {
    open(index: number): ObjectListWriter | undefined {
      if (!key) return undefined;
      const writer = writeObjectList(target, partKey(index));
      writers.push(writer);
      return writer;
    },
    async join(): Promise<void> {
      if (!key || count === 1) return;
      const keys = Array.from({ length: count }, (_, i) => partKey(i));
      await concatObjectLists(target, keys, key);
      await deleteKeys(target, keys);
    },
    abort(): void {
      for (const writer of writers) writer.abort();
    },
  };
}
