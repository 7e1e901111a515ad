import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { type Bucket, s3Error } from './s3.ts';
import { PartSender } from './upload-parts.ts';

export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;

/** What an upload writes besides the bytes. */
export interface UploadOptions {
  partSize?: number;
  contentType?: string;
  signal?: AbortSignal;
  metadata?: Record<string, string>;
}

/**
 * Streams `body` into `key`: one PutObject when it fits in a part, else a multipart upload with up to two
 * parts in flight. Nothing touches local disk and memory is three part buffers, reused for the whole
 * upload. A failed upload is aborted, so no half-written object is left behind.
 *
 * Not lib-storage's `Upload`, which joins every part into a new buffer (Buffer.concat): touching fresh
 * memory costs 60–100 ms per 16 MiB on the machines measured, and for that long the event loop stood
 * still while pg_dump, its output unread, stalled (bench:dump: about 0.7 s a 200 MB dump).
 */
export async function uploadStream(
  bucket: Bucket,
  key: string,
  body: Readable,
  options: UploadOptions = {},
): Promise<void> {
  const partSize = options.partSize ?? DEFAULT_PART_SIZE;
  const object = {
    Bucket: bucket.name,
    Key: key,
    ContentType: options.contentType,
    Metadata: options.metadata,
  };
  const abortSignal = options.signal;
  const stopReading = () => body.destroy(abortSignal?.reason);
  abortSignal?.addEventListener('abort', stopReading, { once: true });
  const free: Buffer<ArrayBuffer>[] = [];
  let multipart: Multipart | undefined;
  try {
    for await (const { buffer, length } of cutParts(body, partSize, free)) {
      abortSignal?.throwIfAborted();
      if (length < partSize && !multipart) {
        const Body = buffer.subarray(0, length);
        const put = new PutObjectCommand({ ...bucket.writeParams, ...object, Body, ContentLength: length });
        await bucket.client.send(put, { abortSignal });
        return;
      }
      if (length === 0) break;
      multipart ??= await startMultipart(bucket, object, abortSignal);
      await multipart.sender.send(buffer, length, () => free.push(buffer));
    }
    await completeMultipart(bucket, multipart!, abortSignal);
  } catch (error) {
    body.destroy();
    if (multipart) await abortMultipart(bucket, multipart);
    throw s3Error(error, `upload ${key} to ${bucket.name}`);
  } finally {
    abortSignal?.removeEventListener('abort', stopReading);
  }
}

/**
 * Cuts a stream into parts of `partSize` bytes, the last one shorter (empty when the stream ends on a
 * part boundary), each copied into a buffer taken from `free` (a new one when it is empty).
 */
async function* cutParts(
  body: Readable,
  partSize: number,
  free: Buffer<ArrayBuffer>[],
): AsyncGenerator<{ buffer: Buffer<ArrayBuffer>; length: number }> {
  let buffer = free.pop() ?? Buffer.allocUnsafe(partSize);
  let filled = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    for (let offset = 0; offset < chunk.length; ) {
      const length = Math.min(chunk.length - offset, partSize - filled);
      chunk.copy(buffer, filled, offset, offset + length);
      filled += length;
      offset += length;
      if (filled < partSize) continue;
      yield { buffer, length: filled };
      buffer = free.pop() ?? Buffer.allocUnsafe(partSize);
      filled = 0;
    }
  }
  yield { buffer, length: filled };
}

/** A multipart upload under way. */
interface Multipart {
  object: { Bucket: string; Key: string };
  uploadId: string;
  sender: PartSender;
}

async function startMultipart(
  bucket: Bucket,
  object: { Bucket: string; Key: string },
  abortSignal: AbortSignal | undefined,
): Promise<Multipart> {
  const created = await bucket.client.send(
    new CreateMultipartUploadCommand({ ...bucket.writeParams, ...object }),
    { abortSignal },
  );
  const uploadId = created.UploadId!;
  return { object, uploadId, sender: new PartSender(bucket, object.Key, uploadId, abortSignal) };
}

async function completeMultipart(
  bucket: Bucket,
  multipart: Multipart,
  abortSignal: AbortSignal | undefined,
): Promise<void> {
  const Parts = await multipart.sender.finish();
  const { Bucket, Key } = multipart.object;
  await bucket.client.send(
    new CompleteMultipartUploadCommand({
      Bucket,
      Key,
      UploadId: multipart.uploadId,
      MultipartUpload: { Parts },
    }),
    { abortSignal },
  );
}

/** Drops the parts sent so far; a failure here leaves them to the bucket's lifecycle, not to the caller. */
async function abortMultipart(bucket: Bucket, multipart: Multipart): Promise<void> {
  await multipart.sender.settle();
  const { Bucket, Key } = multipart.object;
  await bucket.client
    .send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId: multipart.uploadId }))
    .catch(() => undefined);
}
