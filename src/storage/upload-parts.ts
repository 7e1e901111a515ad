import { type CompletedPart, UploadPartCommand } from '@aws-sdk/client-s3';
import type { Bucket } from './s3.ts';

/** Parts of one upload on the wire at once (and so part buffers in use: this many plus the one filling). */
const PARTS_IN_FLIGHT = 2;

/** S3's limit on the parts of one object. */
const MAX_PARTS = 10_000;

/**
 * Sends the parts of one multipart upload, at most {@link PARTS_IN_FLIGHT} at a time, each retried by the
 * client's retry strategy (the body is a buffer, so it can be sent again). The first failure is kept and
 * thrown from the next `send` or from `finish`.
 */
export class PartSender {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly parts: CompletedPart[] = [];
  private failure: unknown;
  private failed = false;
  private readonly bucket: Bucket;
  private readonly key: string;
  private readonly uploadId: string;
  private readonly abortSignal: AbortSignal | undefined;

  constructor(bucket: Bucket, key: string, uploadId: string, abortSignal: AbortSignal | undefined) {
    this.bucket = bucket;
    this.key = key;
    this.uploadId = uploadId;
    this.abortSignal = abortSignal;
  }

  /**
   * Starts sending the first `length` bytes of `buffer` as the next part, and resolves once another
   * part may be started. `release` is called when the part has left the buffer (sent or failed).
   */
  async send(buffer: Buffer, length: number, release: () => void): Promise<void> {
    this.throwIfFailed();
    const PartNumber = this.parts.length + 1;
    if (PartNumber > MAX_PARTS) {
      throw new Error(`more than ${MAX_PARTS} parts of ${buffer.length} bytes: raise the part size`);
    }
    const part: CompletedPart = { PartNumber };
    this.parts.push(part);
    const sending = this.bucket.client
      .send(
        new UploadPartCommand({
          Bucket: this.bucket.name,
          Key: this.key,
          UploadId: this.uploadId,
          PartNumber,
          Body: buffer.subarray(0, length),
          ContentLength: length,
        }),
        { abortSignal: this.abortSignal },
      )
      .then(
        (output) => {
          part.ETag = output.ETag;
        },
        (error) => {
          if (!this.failed) [this.failed, this.failure] = [true, error];
        },
      )
      .finally(() => {
        this.inFlight.delete(sending);
        release();
      });
    this.inFlight.add(sending);
    while (this.inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(this.inFlight);
    this.throwIfFailed();
  }

  /** Waits for every part; returns them in order for CompleteMultipartUpload. */
  async finish(): Promise<CompletedPart[]> {
    await this.settle();
    this.throwIfFailed();
    return this.parts;
  }

  /** Waits until no part is on the wire, whatever their outcome. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failure;
  }
}
