import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { PachopsError } from '../errors.ts';
import { compareKeys, listObjects, type ObjectEntry } from './listing.ts';
import { compareObjects, etagsAreMd5, recordedVerdict } from './mirror/compare.ts';
import { Copier } from './mirror/copier.ts';
import {
  type CopyContext,
  type CopyTuning,
  copyObject,
  createCopyContext,
  SourceObjectMissing,
} from './mirror/copy-object.ts';
import type { ObjectListEntry } from './object-list.ts';
import { type Bucket, canCopyServerSide, isNotFound, s3Error } from './s3.ts';

export interface BucketInspection {
  exists: boolean;
  /** Nothing in it at all (`.pachops/` included): a restore target must be empty. */
  empty: boolean;
  /** A few keys, when not empty, for the refusal message. */
  sample?: string[];
}

async function bucketExists(bucket: Bucket): Promise<boolean> {
  try {
    await bucket.client.send(new HeadBucketCommand({ Bucket: bucket.name }));
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw s3Error(error, `look for bucket ${bucket.name}`);
  }
}

/** Whether a bucket exists and holds anything: the plan's "target bucket" line and its refusal. */
export async function inspectBucket(bucket: Bucket): Promise<BucketInspection> {
  if (!(await bucketExists(bucket))) return { exists: false, empty: true };
  try {
    const page = await bucket.client.send(new ListObjectsV2Command({ Bucket: bucket.name, MaxKeys: 5 }));
    const keys = (page.Contents ?? []).map((o) => o.Key!);
    return keys.length ? { exists: true, empty: false, sample: keys } : { exists: true, empty: true };
  } catch (error) {
    throw s3Error(error, `list ${bucket.name}`);
  }
}

/**
 * Creates the bucket when missing (in the configured region); an existing bucket of ours is fine. Looks
 * first: RGW answers a second CreateBucket by its owner with 200, so only a HEAD tells `created` apart.
 */
export async function ensureBucket(bucket: Bucket): Promise<{ created: boolean }> {
  if (await bucketExists(bucket)) return { created: false };
  const region = bucket.target.region;
  const configuration =
    region && region !== 'us-east-1'
      ? { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }
      : {};
  try {
    await bucket.client.send(new CreateBucketCommand({ Bucket: bucket.name, ...configuration }));
    return { created: true };
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'BucketAlreadyOwnedByYou') return { created: false };
    // Created meanwhile; some servers say BucketAlreadyExists to its owner too: ours if we can reach it.
    if (name === 'BucketAlreadyExists' && (await bucketExists(bucket).catch(() => false))) {
      return { created: false };
    }
    if (name === 'BucketAlreadyExists') {
      throw new PachopsError(
        'BUCKET_TAKEN',
        `bucket ${bucket.name} already exists and these credentials cannot use it`,
        { permanent: true, hint: 'bucket names are global: choose another target bucket' },
      );
    }
    throw s3Error(error, `create bucket ${bucket.name}`);
  }
}

export interface RestoreObjectsProgress {
  listed: number;
  listedBytes: number;
  copied: number;
  copiedBytes: number;
  /** Already in the target with the listed size (an earlier run copied them). */
  skipped: number;
  elapsedMs: number;
}

export interface RestoreObjectsResult extends RestoreObjectsProgress {
  serverSide: boolean;
}

export interface CopyListedOptions {
  /** A backup's object list (readObjectList), in key order. */
  list: AsyncIterable<ObjectListEntry>;
  /** The backup bucket: each entry is read at `stored ?? key`. */
  from: Bucket;
  /** The restore target: each entry is written at `key`. */
  to: Bucket;
  concurrency: number;
  /** Multipart threshold and part size (the cluster's mirror settings). */
  tuning?: Partial<CopyTuning>;
  signal?: AbortSignal;
  onProgress?: (progress: RestoreObjectsProgress) => void;
  log?: Pick<Logger, 'warn' | 'info'>;
}

/** Report skips in batches: a rerun over millions of present objects should not flood the reporter. */
const SKIP_REPORT_EVERY = 1000;

/**
 * Copies exactly the listed objects into `to`, concurrently; an entry already in `to` (alreadyRestored) is
 * skipped (found by merge-joining the list with one listing of `to`), so a rerun copies nothing twice.
 * A listed object missing from the backup is a permanent BACKUP_OBJECT_MISSING.
 */
export async function copyListedObjects(options: CopyListedOptions): Promise<RestoreObjectsResult> {
  const { from, to, signal } = options;
  refuseSameBucket(from, to);
  const serverSide = canCopyServerSide(from.target, to.target);
  const started = Date.now();
  const progress = { listed: 0, listedBytes: 0, copied: 0, copiedBytes: 0, skipped: 0, elapsedMs: 0 };
  const report = () => options.onProgress?.({ ...progress, elapsedMs: Date.now() - started });
  const copier = new Copier({
    buckets: [from, to],
    concurrency: options.concurrency,
    signal,
    log: options.log,
  });
  const context = createCopyContext(options.tuning ?? {}, options.log);
  const present = seekable(listObjects(to));
  let previous: string | undefined;
  try {
    for await (const entry of options.list) {
      if (copier.stopped) break;
      checkOrder(previous, entry.key);
      previous = entry.key;
      progress.listed++;
      progress.listedBytes += entry.size;
      if (await alreadyRestored(entry, await present.seek(entry.key), to)) {
        if (++progress.skipped % SKIP_REPORT_EVERY === 0) report();
        continue;
      }
      await copier.submit(async () => {
        await copyEntry(entry, { from, to, serverSide, signal, context });
        progress.copied++;
        progress.copiedBytes += entry.size;
        report();
      });
    }
  } finally {
    await copier.drain(); // no copy keeps running after this returns or throws
    copier.close();
  }
  if (signal?.aborted) {
    throw new PachopsError('ABORTED', `object restore aborted after ${progress.copied} copies`, {
      permanent: true,
    });
  }
  if (copier.failure) throw copier.failure.error;
  report();
  return { ...progress, elapsedMs: Date.now() - started, serverSide };
}

/**
 * Whether `to` already holds the listed object (a rerun finds what the last run copied): a chunk key by its
 * size (content-addressed); any other key only when its ETag says so too, since a restore must put back
 * exactly what the backup holds and the plan's "empty bucket" was checked before, not now. Where the ETags
 * cannot be compared (multipart on one side), the source ETag a multipart copy recorded decides; a key
 * without one is copied again (always right).
 */
async function alreadyRestored(
  entry: ObjectListEntry,
  found: ObjectEntry | undefined,
  to: Bucket,
): Promise<boolean> {
  if (found === undefined) return false;
  const verdict = compareObjects(entry, found, { targetEtagsAreMd5: etagsAreMd5(to) });
  if (verdict !== 'incomparable') return verdict === 'same';
  return (await recordedVerdict(to, entry.key, entry.etag)) === 'same';
}

interface EntryCopy {
  from: Bucket;
  to: Bucket;
  serverSide: boolean;
  signal?: AbortSignal;
  context: CopyContext;
}

async function copyEntry(entry: ObjectListEntry, how: EntryCopy): Promise<void> {
  const { from, to, serverSide, signal } = how;
  const sourceKey = entry.stored ?? entry.key;
  const where = entry.stored ? `${entry.key} (stored at ${sourceKey})` : entry.key;
  let copied: { streamedBytes?: number };
  try {
    copied = await copyObject(
      {
        source: from,
        sourceKey,
        target: to,
        targetKey: entry.key,
        size: entry.size,
        sourceEtag: entry.etag,
        serverSide,
        signal,
      },
      how.context,
    );
  } catch (error) {
    if (!(error instanceof SourceObjectMissing)) throw error;
    throw new PachopsError(
      'BACKUP_OBJECT_MISSING',
      `the backup is missing ${where} in ${from.name}: it cannot be restored whole`,
      { permanent: true, hint: 'restore from another backup', cause: error },
    );
  }
  if (copied.streamedBytes !== undefined && copied.streamedBytes !== entry.size) {
    throw new PachopsError(
      'BACKUP_OBJECT_SIZE_MISMATCH',
      `the backup's ${where} in ${from.name} has ${copied.streamedBytes} bytes, its object list says ${entry.size}: it cannot be restored whole`,
      { permanent: true, hint: 'restore from another backup' },
    );
  }
}

function refuseSameBucket(from: Bucket, to: Bucket): void {
  if (from.name === to.name && (from.target.endpoint ?? '') === (to.target.endpoint ?? '')) {
    throw new PachopsError(
      'SAME_BUCKET',
      `${to.name} is the backup bucket itself: reuse it as it is instead of copying into it`,
      { permanent: true },
    );
  }
}

function checkOrder(previous: string | undefined, key: string): void {
  if (previous !== undefined && compareKeys(previous, key) >= 0) {
    throw new PachopsError(
      'OBJECT_LIST_UNSORTED',
      `the object list has ${key} after ${previous}: it is not in key order (or repeats a key)`,
      { permanent: true },
    );
  }
}

/** A sorted listing read forward only: seek(key) returns the entry at key, if any. */
function seekable(listing: AsyncIterable<ObjectEntry>) {
  const it = listing[Symbol.asyncIterator]();
  let current: IteratorResult<ObjectEntry> | undefined;
  return {
    async seek(key: string): Promise<ObjectEntry | undefined> {
      current ??= await it.next();
      while (!current.done && compareKeys(current.value.key, key) < 0) current = await it.next();
      return !current.done && current.value.key === key ? current.value : undefined;
    },
  };
}
