import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { PachopsError } from '../errors.ts';
import { copyObject } from './copy-object.ts';
import { RESERVED_PREFIX } from './layout.ts';
import { diffListings, listObjects, type ObjectEntry } from './listing.ts';
import type { ObjectListWriter } from './object-list.ts';
import { type Bucket, canCopyServerSide, isNotFound, s3Error } from './s3.ts';

export interface MirrorProgress {
  listed: number;
  listedBytes: number;
  copied: number;
  copiedBytes: number;
  changed: number;
  elapsedMs: number;
}

export interface MirrorOptions {
  source: Bucket;
  target: Bucket;
  /** Where a changed key's new content goes (by its ETag), so that older backups keep theirs. */
  changedKeyFor: (key: string, etag: string) => string;
  /** Receives every source object, in key order: the backup's object list. */
  objectList?: ObjectListWriter;
  concurrency: number;
  signal?: AbortSignal;
  onProgress?: (progress: MirrorProgress) => void;
}

export interface MirrorResult extends MirrorProgress {
  serverSide: boolean;
}

/**
 * Copies every object of `source` that `target` lacks, by a streaming merge-join of the two listings.
 * Safe to run again: what was copied is found the next time and not copied twice.
 */
export async function mirrorBucket(options: MirrorOptions): Promise<MirrorResult> {
  const { source, target, concurrency } = options;
  const serverSide = canCopyServerSide(source.target, target.target);
  const started = Date.now();
  const progress: MirrorProgress = {
    listed: 0,
    listedBytes: 0,
    copied: 0,
    copiedBytes: 0,
    changed: 0,
    elapsedMs: 0,
  };
  const report = () => options.onProgress?.({ ...progress, elapsedMs: Date.now() - started });
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;

  const schedule = async (object: ObjectEntry, destinationKey: string) => {
    const copy = copyObject({
      source,
      sourceKey: object.key,
      target,
      targetKey: destinationKey,
      size: object.size,
      serverSide,
      signal: options.signal,
    })
      .then(() => {
        progress.copied++;
        progress.copiedBytes += object.size;
        report();
      })
      .catch((error) => {
        failure ??= error;
      })
      .finally(() => inFlight.delete(copy));
    inFlight.add(copy);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  };

  // Both sides skip `.pachops/`: a source that is itself a (reused) backup bucket must not copy its
  // manifests over the target's.
  const skip = { skipPrefix: RESERVED_PREFIX };
  const diff = diffListings(listObjects(source, skip), listObjects(target, skip));
  for await (const entry of diff) {
    if (options.signal?.aborted || failure) break;
    if (entry.kind === 'extra') continue;
    const object = entry.source;
    let stored: string | undefined;
    if (entry.kind === 'missing') await schedule(object, object.key);
    if (entry.kind === 'changed') {
      stored = options.changedKeyFor(object.key, object.etag);
      progress.changed++;
      if (!(await exists(target, stored))) await schedule(object, stored);
    }
    progress.listed++;
    progress.listedBytes += object.size;
    await options.objectList?.add({ ...object, ...(stored ? { stored } : {}) });
  }
  await Promise.all(inFlight);
  if (options.signal?.aborted) {
    throw new PachopsError('ABORTED', `mirror aborted after ${progress.copied} copies`, { permanent: true });
  }
  if (failure) throw failure;
  report();
  return { ...progress, elapsedMs: Date.now() - started, serverSide };
}

async function exists(bucket: Bucket, key: string): Promise<boolean> {
  try {
    await bucket.client.send(new HeadObjectCommand({ Bucket: bucket.name, Key: key }));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw s3Error(error, `head ${key} in ${bucket.name}`);
  }
}
