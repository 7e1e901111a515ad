import type { Readable } from 'node:stream';
import { CopyObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PachopsError } from '../errors.ts';
import { type Bucket, s3Error } from './s3.ts';
import { uploadStream } from './upload.ts';

/** CopyObject's limit; larger objects are streamed as multipart uploads. */
export const COPY_OBJECT_LIMIT = 5 * 1024 ** 3;
/** Above this, streamed copies go through lib-storage's multipart upload. */
export const SINGLE_PUT_LIMIT = 64 * 1024 ** 2;
/** A streamed copy is not retried by the SDK (its body cannot be replayed), so it is retried here, whole. */
const STREAMED_ATTEMPTS = 3;

export interface ObjectCopy {
  source: Bucket;
  sourceKey: string;
  target: Bucket;
  targetKey: string;
  /** The size a listing (or an object list) gave: picks CopyObject or a stream, single or multipart. */
  size: number;
  /** canCopyServerSide(source.target, target.target). */
  serverSide: boolean;
  signal?: AbortSignal;
}

/**
 * The source key does not exist. Not permanent by itself (a mirror of a live bucket may race chunk GC);
 * a restore makes it permanent, since a backup cannot grow its missing object back.
 */
export class SourceObjectMissing extends PachopsError {
  readonly key: string;

  constructor(bucket: string, key: string, cause: unknown) {
    super('S3_SOURCE_MISSING', `S3: ${key} does not exist in ${bucket}`, { cause });
    this.name = 'SourceObjectMissing';
    this.key = key;
  }
}

const isNoSuchKey = (error: unknown) => (error as { name?: string }).name === 'NoSuchKey';

/**
 * Copies one object: server-side CopyObject when both buckets share endpoint and credentials (and it is
 * under 5 GiB), streamed otherwise. Returns the bytes read when streamed (undefined for a server-side copy).
 */
export async function copyObject(copy: ObjectCopy): Promise<{ streamedBytes?: number }> {
  const { source, sourceKey, target, targetKey, signal } = copy;
  const what = `copy ${sourceKey} from ${source.name} to ${target.name}/${targetKey}`;
  if (copy.serverSide && copy.size <= COPY_OBJECT_LIMIT) {
    const copySource = encodeURI(`${source.name}/${sourceKey}`);
    await target.client
      .send(new CopyObjectCommand({ Bucket: target.name, Key: targetKey, CopySource: copySource }), {
        abortSignal: signal,
      })
      .catch((error) => {
        if (isNoSuchKey(error)) throw new SourceObjectMissing(source.name, sourceKey, error);
        throw s3Error(error, what);
      });
    return {};
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return { streamedBytes: await streamObject(copy) };
    } catch (error) {
      if (error instanceof SourceObjectMissing) throw error;
      const wrapped = s3Error(error, what);
      if (wrapped.permanent || signal?.aborted || attempt >= STREAMED_ATTEMPTS) throw wrapped;
    }
  }
}

async function streamObject(copy: ObjectCopy): Promise<number> {
  const { source, sourceKey, target, targetKey, signal } = copy;
  const response = await source.client
    .send(new GetObjectCommand({ Bucket: source.name, Key: sourceKey }), { abortSignal: signal })
    .catch((error) => {
      if (isNoSuchKey(error)) throw new SourceObjectMissing(source.name, sourceKey, error);
      throw error;
    });
  const body = response.Body as Readable;
  body.on('error', () => undefined); // the upload reports it; a destroyed body must not crash the process
  const size = response.ContentLength ?? copy.size;
  if (size > SINGLE_PUT_LIMIT) {
    await uploadStream(target, targetKey, body, { signal });
    return size;
  }
  await target.client.send(
    new PutObjectCommand({ Bucket: target.name, Key: targetKey, Body: body, ContentLength: size }),
    { abortSignal: signal },
  );
  return size;
}
