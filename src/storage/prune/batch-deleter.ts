import { deleteBatch, type KeyFailure } from '../object-list.ts';
import type { Bucket } from '../s3.ts';

/** Keys per DeleteObjects request: S3's maximum. */
export const DELETE_BATCH = 1000;
/** Failed keys kept as examples; the count is complete. */
const FAILURE_SAMPLES = 20;

export interface DeleteCounts {
  deleted: number;
  deletedBytes: number;
  failed: number;
  failures: KeyFailure[];
}

/**
 * Deletes keys as they are added, in batches of 1000 (DeleteObjects), a few requests at once; add()
 * waits while that many are in flight, so a stream of millions of keys holds a few batches in memory.
 * A key the server refuses is counted and kept as an example, the rest go on; a request that fails after
 * the client's retries stops the deleter, and finish() throws it.
 */
export class BatchDeleter {
  readonly counts: DeleteCounts = { deleted: 0, deletedBytes: 0, failed: 0, failures: [] };
  private batch: { key: string; size: number }[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  private readonly bucket: Bucket;
  private readonly options: { concurrency?: number; batchSize?: number; onProgress?: () => void };

  constructor(
    bucket: Bucket,
    options: { concurrency?: number; batchSize?: number; onProgress?: () => void } = {},
  ) {
    this.bucket = bucket;
    this.options = options;
  }

  async add(key: string, size = 0): Promise<void> {
    if (this.failure) throw this.failure.error;
    this.batch.push({ key, size });
    if (this.batch.length >= (this.options.batchSize ?? DELETE_BATCH)) await this.send();
  }

  /** Sends what is left and waits for every request; throws the first request that failed. */
  async finish(): Promise<DeleteCounts> {
    if (!this.failure) await this.send();
    while (this.inFlight.size) await Promise.all(this.inFlight);
    if (this.failure) throw this.failure.error;
    return this.counts;
  }

  /** Waits for the requests in flight, whatever they do: after a failure elsewhere, none may outlive the prune. */
  async settle(): Promise<void> {
    while (this.inFlight.size) await Promise.all(this.inFlight);
  }

  private async send(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    if (!batch.length) return;
    while (this.inFlight.size >= (this.options.concurrency ?? 4)) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure.error;
    const request = this.deleteOne(batch).finally(() => this.inFlight.delete(request));
    this.inFlight.add(request);
  }

  private async deleteOne(batch: { key: string; size: number }[]): Promise<void> {
    try {
      const failures = await deleteBatch(
        this.bucket,
        batch.map((b) => b.key),
      );
      const failed = new Set(failures.map((f) => f.key));
      for (const { key, size } of batch) {
        if (failed.has(key)) continue;
        this.counts.deleted++;
        this.counts.deletedBytes += size;
      }
      this.counts.failed += failures.length;
      this.counts.failures.push(
        ...failures.slice(0, Math.max(0, FAILURE_SAMPLES - this.counts.failures.length)),
      );
      this.options.onProgress?.();
    } catch (error) {
      this.failure ??= { error };
    }
  }
}
