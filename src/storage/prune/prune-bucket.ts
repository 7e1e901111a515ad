import { PachopsError } from '../../errors.ts';
import { backupPrefix, manifestKey, RESERVED_PREFIX, VERSIONS_PREFIX } from '../layout.ts';
import { diffListings, listObjects, type ObjectEntry } from '../listing.ts';
import { deleteBatch, readObjectList } from '../object-list.ts';
import type { Bucket } from '../s3.ts';
import { BatchDeleter, type DeleteCounts } from './batch-deleter.ts';
import { mergeListedKeys } from './merge-lists.ts';
import type { PrunePlan } from './plan.ts';

export interface GarbageCounts {
  /** Mirror objects no kept backup lists (bucket root and `.pachops/versions/`). */
  objects: number;
  bytes: number;
  /** Keys a kept backup lists that the bucket lacks: that backup is damaged (reported, never deleted). */
  missing: number;
  missingSample: string[];
}

export interface PruneBucketOptions {
  bucket: Bucket;
  plan: PrunePlan;
  /** Count only (the plan, a dry run): nothing is deleted. */
  dryRun: boolean;
  /** DeleteObjects requests in flight at most. Default 4. */
  concurrency?: number;
  /** Listing page size, and keys per DeleteObjects request (tests: small, to page and to batch). */
  pageSize?: number;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: { found: GarbageCounts; deleted: DeleteCounts }) => void;
}

export interface PruneBucketResult {
  garbage: GarbageCounts;
  deleted: DeleteCounts;
  /** Manifests of pruned backups deleted (first, in one request). */
  manifests: number;
  /** Other files of pruned and incomplete backup folders deleted (also in `deleted`), and their bytes. */
  backupFiles: number;
  backupBytes: number;
}

/**
 * Carries out a prune plan on the backup bucket. First the pruned backups' manifests, in one request,
 * so that they stop being listed or restorable before any of their files goes; then the rest of their
 * folders and the incomplete folders the plan deletes; then every mirror object that no kept backup
 * lists: a streaming merge-join of the kept backups' sorted object lists against the bucket's listing,
 * so memory stays flat for millions of keys. Other keys under `.pachops/` are never touched. Safe to run
 * again: an interrupted prune is finished by the same plan. `dryRun` only counts.
 */
export async function pruneBucket(options: PruneBucketOptions): Promise<PruneBucketResult> {
  const { bucket, dryRun } = options;
  const garbage: GarbageCounts = { objects: 0, bytes: 0, missing: 0, missingSample: [] };
  const deleter = dryRun
    ? undefined
    : new BatchDeleter(bucket, {
        concurrency: options.concurrency,
        batchSize: options.batchSize,
        onProgress: () => options.onProgress?.({ found: garbage, deleted: deleter!.counts }),
      });
  try {
    const removed = deleter
      ? await deleteBackupFolders(options, deleter)
      : { manifests: 0, backupFiles: 0, backupBytes: 0 };
    const found = async (object: ObjectEntry) => {
      checkAborted(options.signal);
      garbage.objects++;
      garbage.bytes += object.size;
      await deleter?.add(object.key, object.size);
    };
    const storedNeeded = new Set<string>();
    await pruneRoot(options, storedNeeded, found, garbage);
    // Changed content is rare (Pachyderm's chunks are immutable): the kept versions' keys fit in memory.
    for await (const object of listObjects(bucket, { prefix: VERSIONS_PREFIX, pageSize: options.pageSize })) {
      if (storedNeeded.delete(object.key)) continue;
      await found(object);
    }
    for (const key of storedNeeded) noteMissing(garbage, key);
    const deleted = deleter
      ? await deleter.finish()
      : { deleted: 0, deletedBytes: 0, failed: 0, failures: [] };
    options.onProgress?.({ found: garbage, deleted });
    return { garbage, deleted, ...removed };
  } catch (error) {
    await deleter?.settle();
    throw error;
  }
}

/** The pruned backups' manifests first (one request; any failure stops here), then the rest of the folders. */
async function deleteBackupFolders(options: PruneBucketOptions, deleter: BatchDeleter) {
  const { bucket, plan } = options;
  const failed = await deleteBatch(
    bucket,
    plan.prune.map((b) => manifestKey(b.id)),
  );
  if (failed.length)
    throw new PachopsError(
      'PRUNE_FAILED',
      `could not delete the manifest of ${failed.length} pruned backup(s), e.g. ${failed[0]!.key}: ${failed[0]!.message}; nothing else was deleted`,
    );
  let backupFiles = 0;
  let backupBytes = 0;
  const folders = [
    ...plan.prune.map((b) => b.id),
    ...plan.incomplete.filter((i) => i.delete).map((i) => i.id),
  ];
  for (const id of folders) {
    for await (const object of listObjects(bucket, {
      prefix: backupPrefix(id),
      pageSize: options.pageSize,
    })) {
      checkAborted(options.signal);
      await deleter.add(object.key, object.size);
      backupFiles++;
      backupBytes += object.size;
    }
  }
  return { manifests: plan.prune.length, backupFiles, backupBytes };
}

/** The bucket's root (everything outside `.pachops/`) merge-joined with the keys the kept backups list. */
async function pruneRoot(
  options: PruneBucketOptions,
  storedNeeded: Set<string>,
  found: (object: ObjectEntry) => Promise<void>,
  garbage: GarbageCounts,
): Promise<void> {
  const { bucket, plan } = options;
  const lists = plan.keep.map((b) => ({ name: b.listKey, entries: readObjectList(bucket, b.listKey) }));
  const listed = async function* () {
    for await (const key of mergeListedKeys(lists, (stored) => storedNeeded.add(stored)))
      yield { key, size: 0, etag: '' };
  };
  const root = listObjects(bucket, { skipPrefix: RESERVED_PREFIX, pageSize: options.pageSize });
  for await (const entry of diffListings(listed(), root)) {
    if (entry.kind === 'extra') await found(entry.target);
    else if (entry.kind === 'missing') noteMissing(garbage, entry.source.key);
  }
}

function noteMissing(garbage: GarbageCounts, key: string): void {
  garbage.missing++;
  if (garbage.missingSample.length < 10) garbage.missingSample.push(key);
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new PachopsError('ABORTED', 'prune stopped on request; a retry finishes it', { permanent: true });
}
