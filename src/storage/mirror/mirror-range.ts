import { PachopsError } from '../../errors.ts';
import { diffListings, listObjects, type ObjectEntry } from '../listing.ts';
import type { ObjectListEntry } from '../object-list.ts';
import { type Bucket, headObject } from '../s3.ts';
import { compareObjects, etagsAreMd5, recordedVerdict } from './compare.ts';
import type { Copier } from './copier.ts';
import { type CopyContext, copyObject, SourceObjectMissing } from './copy-object.ts';
import type { KeyRange } from './key-ranges.ts';
import type { OrderedListWriter } from './ordered-list.ts';
import type { ProgressTracker } from './progress.ts';

/** Keys named in the result as examples; the counts are complete. */
export const SAMPLE_SIZE = 20;

export interface RangeRun {
  source: Bucket;
  target: Bucket;
  range: KeyRange;
  index: number;
  serverSide: boolean;
  copier: Copier;
  context: CopyContext;
  tracker: ProgressTracker;
  list: OrderedListWriter;
  changedKeyFor: (key: string, etag: string) => string;
  skipPrefix: string;
  samples: { unverified: string[]; vanished: string[] };
  report: () => void;
  signal?: AbortSignal;
}

/** Mirrors one key range: merge-joins its two listings and hands each needed copy to the copier. */
export async function mirrorRange(run: RangeRun): Promise<void> {
  const { source, target, range, copier, tracker } = run;
  const options = { skipPrefix: run.skipPrefix, startAfter: range.after, upTo: range.upTo };
  for await (const entry of diffListings(listObjects(source, options), listObjects(target, options))) {
    if (copier.stopped) return;
    if (entry.kind === 'extra') continue;
    const object = entry.source;
    tracker.listedUpTo(run.index, object.key);
    tracker.counts.listed++;
    tracker.counts.listedBytes += object.size;
    if (entry.kind === 'missing') {
      await run.list.add(object, (await copy(run, object, object.key)).present);
      continue;
    }
    let verdict = compareObjects(object, entry.target, { targetEtagsAreMd5: etagsAreMd5(target) });
    if (verdict === 'incomparable') verdict = await recordedVerdict(target, object.key, object.etag);
    if (verdict === 'changed') {
      await addChanged(run, object);
    } else if (verdict === 'incomparable') {
      tracker.counts.unverified++;
      if (run.samples.unverified.length < SAMPLE_SIZE) run.samples.unverified.push(object.key);
      await run.list.add(object);
    } else {
      await run.list.add(object);
    }
    if (tracker.counts.listed % 1000 === 0) run.report();
  }
  tracker.rangeDone(run.index);
}

/** A key whose content changed since an earlier backup: its new content goes beside, by ETag. */
async function addChanged(run: RangeRun, object: ObjectEntry): Promise<void> {
  const stored = run.changedKeyFor(object.key, object.etag);
  run.tracker.counts.changed++;
  const entry: ObjectListEntry = { ...object, stored };
  const present = await headObject(run.target, stored);
  await run.list.add(entry, present ? undefined : (await copy(run, object, stored)).present);
}

/** Submits one copy (waiting for a slot); `present` says whether the object is in the target afterwards. */
async function copy(
  run: RangeRun,
  object: ObjectEntry,
  targetKey: string,
): Promise<{ present: Promise<boolean> }> {
  const { counts } = run.tracker;
  counts.toCopy++;
  counts.toCopyBytes += object.size;
  const { settled } = await run.copier.submit(async () => {
    try {
      await copyObject(
        {
          source: run.source,
          sourceKey: object.key,
          target: run.target,
          targetKey,
          size: object.size,
          sourceEtag: object.etag,
          serverSide: run.serverSide,
          signal: run.signal,
        },
        run.context,
      );
    } catch (error) {
      if (!(error instanceof SourceObjectMissing)) throw error;
      // Only a key that is really gone may be left out of the list: a server that mis-decodes a key
      // also answers NoSuchKey, and that must fail the copy, not shrink the backup.
      if (await headObject(run.source, object.key)) {
        throw new PachopsError(
          'S3_FAILED',
          `S3: copying ${object.key} from ${run.source.name} failed with NoSuchKey, yet the object exists`,
          { cause: error },
        );
      }
      counts.vanished++;
      counts.vanishedBytes += object.size;
      if (run.samples.vanished.length < SAMPLE_SIZE) run.samples.vanished.push(object.key);
      return false;
    }
    counts.copied++;
    counts.copiedBytes += object.size;
    run.report();
    return true;
  });
  return { present: settled.then((present) => present === true) };
}
