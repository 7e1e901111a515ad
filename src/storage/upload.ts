import type { Readable } from 'node:stream';
import { Upload } from '@aws-sdk/lib-storage';
import { type Bucket, s3Error } from './s3.ts';

export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;

/**
 * Streams `body` into `key` as a multipart upload (lib-storage): nothing touches local disk and memory is
 * bounded by partSize × queueSize. A failed upload is aborted, so no half-written object is left behind.
 */
export async function uploadStream(
  bucket: Bucket,
  key: string,
  body: Readable,
  options: {
    partSize?: number;
    contentType?: string;
    signal?: AbortSignal;
    metadata?: Record<string, string>;
  } = {},
): Promise<void> {
  const upload = new Upload({
    client: bucket.client,
    params: {
      ...bucket.writeParams,
      Bucket: bucket.name,
      Key: key,
      Body: body,
      ContentType: options.contentType,
      Metadata: options.metadata,
    },
    partSize: options.partSize ?? DEFAULT_PART_SIZE,
    queueSize: 2,
    leavePartsOnError: false,
  });
  const abort = () => void upload.abort().catch(() => undefined);
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    await upload.done();
  } catch (error) {
    body.destroy();
    throw s3Error(error, `upload ${key} to ${bucket.name}`);
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}
