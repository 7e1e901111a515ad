import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { PachopsError } from '../../errors.ts';
import { type Bucket, s3Error } from '../s3.ts';
import { uploadStream } from '../upload.ts';
import { AdaptiveLimit } from './adaptive-limit.ts';
import { SOURCE_ETAG_METADATA } from './compare.ts';
import { copySourceOf } from './copy-source.ts';
import { copyInParts, effectivePartSize, PartCopyUnsupported } from './part-copy.ts';
import { canSendCopyDirectly, sendCopyObject } from './send-copy.ts';

/** CopyObject's limit; larger objects are copied in parts. */
export const COPY_OBJECT_LIMIT = 5 * 1024 ** 3;
/**
 * Above this (or above one part, when parts are smaller), a streamed copy is a multipart upload
 * (uploadStream): a failure then costs a part, not the object. At or below it, one PutObject streams it.
 */
export const SINGLE_PUT_LIMIT = 64 * 1024 ** 2;
/** A streamed copy is not retried by the SDK (its body cannot be replayed), so it is retried here, whole. */
const STREAMED_ATTEMPTS = 3;

export interface CopyTuning {
  /** Server-side copies above this size go in parts (UploadPartCopy); at most COPY_OBJECT_LIMIT. */
  multipartThreshold: number;
  /** Part size of multipart copies and of streamed multipart uploads. */
  partSize: number;
}

export const DEFAULT_COPY_TUNING: CopyTuning = {
  multipartThreshold: COPY_OBJECT_LIMIT,
  partSize: 64 * 1024 ** 2,
};

/** What one mirror run learned about its servers, shared by its copies. */
export interface CopyContext {
  tuning: CopyTuning;
  /** Set when the target answered UploadPartCopy with 501: later large copies stream at once. */
  partCopyUnsupported?: boolean;
  /**
   * Set when CopyObject cannot serve the target: it answered 501 (RGW 16 copying an SSE-KMS object) or
   * dropped the server-side encryption asked of it (RGW 16). Later copies go in parts (UploadPartCopy).
   */
  copyObjectUnfit?: boolean;
  /** Bounds memory: each streamed multipart upload holds three part buffers (uploadStream). */
  streamSlots?: { acquire(): Promise<() => void> };
  log?: Pick<Logger, 'warn'>;
}

/**
 * Memory for streamed multipart uploads in one run, each holding three part buffers: 4 at once at the
 * default 64 MiB parts, more with smaller ones (objects of more than 10,000 parts have larger parts:
 * effectivePartSize, and still take one slot).
 */
const STREAM_BUDGET = 768 * 1024 ** 2;
const streamSlots = (partSize: number) => Math.max(1, Math.floor(STREAM_BUDGET / (3 * partSize)));

/** A run's copy context: the tuning (defaults where unset) and its bound on large streamed uploads. */
export function createCopyContext(tuning: Partial<CopyTuning>, log?: CopyContext['log']): CopyContext {
  const resolved: CopyTuning = {
    multipartThreshold: tuning.multipartThreshold ?? DEFAULT_COPY_TUNING.multipartThreshold,
    partSize: tuning.partSize ?? DEFAULT_COPY_TUNING.partSize,
  };
  return { tuning: resolved, streamSlots: new AdaptiveLimit(streamSlots(resolved.partSize)), log };
}

export interface ObjectCopy {
  source: Bucket;
  sourceKey: string;
  target: Bucket;
  targetKey: string;
  /** The size a listing (or an object list) gave: picks CopyObject, parts or a stream. */
  size: number;
  /** Recorded on multipart copies, whose own ETag cannot be compared with it. */
  sourceEtag?: string;
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

export type CopyMethod = 'copy' | 'part-copy' | 'stream';

/**
 * Copies one object: server-side with CopyObject when both buckets share endpoint and credentials, in
 * parts (UploadPartCopy) above the threshold, and streamed when the endpoints differ or the server lacks
 * UploadPartCopy. Returns how, and the bytes read when streamed.
 */
export async function copyObject(
  copy: ObjectCopy,
  context: CopyContext = { tuning: DEFAULT_COPY_TUNING },
): Promise<{ method: CopyMethod; streamedBytes?: number }> {
  const threshold = Math.min(context.tuning.multipartThreshold, COPY_OBJECT_LIMIT);
  let outcome: CopyOutcome | undefined;
  if (copy.serverSide && copy.size <= threshold && !context.copyObjectUnfit) {
    outcome = await serverSideCopy(copy, context);
    if (outcome === 'copied') return { method: 'copy' };
  }
  try {
    return await copyWithoutCopyObject(copy, context);
  } catch (error) {
    // a copy stored without the encryption asked for must not stay behind looking like a good one
    if (outcome === 'unencrypted') await deleteQuietly(copy.target, copy.targetKey);
    throw error;
  }
}

/** In parts (UploadPartCopy) when both sides share a server that has it, else streamed. */
async function copyWithoutCopyObject(
  copy: ObjectCopy,
  context: CopyContext,
): Promise<{ method: CopyMethod; streamedBytes?: number }> {
  // An empty object has no byte range to copy in parts: it is streamed (a PutObject of nothing).
  if (copy.serverSide && !context.partCopyUnsupported && copy.size > 0) {
    try {
      await copyInParts({ ...copy, sourceEtag: copy.sourceEtag ?? '', partSize: context.tuning.partSize });
      return { method: 'part-copy' };
    } catch (error) {
      if (!(error instanceof PartCopyUnsupported)) throw missingOr(error, copy);
      if (!context.partCopyUnsupported) {
        context.partCopyUnsupported = true;
        context.log?.warn(
          { bucket: copy.target.name },
          'the S3 server does not implement UploadPartCopy (501): large objects are streamed instead',
        );
      }
    }
  }
  return { method: 'stream', streamedBytes: await streamWithRetries(copy, context) };
}

async function deleteQuietly(bucket: Bucket, key: string): Promise<void> {
  await bucket.client.send(new DeleteObjectCommand({ Bucket: bucket.name, Key: key })).catch(() => undefined); // the copy's own failure is what is reported
}

/** `refused`: the server answered 501; `unencrypted`: it stored the copy without the SSE asked for. */
type CopyOutcome = 'copied' | 'refused' | 'unencrypted';

/**
 * CopyObject with the target's server-side encryption. Unless `copied`, `copyObjectUnfit` is set and the
 * caller copies in parts instead, which overwrites an unencrypted copy.
 */
async function serverSideCopy(copy: ObjectCopy, context: CopyContext): Promise<CopyOutcome> {
  const { source, sourceKey, target, targetKey, signal } = copy;
  const sent = canSendCopyDirectly(target)
    ? sendCopyObject(target, {
        headers: { ...target.writeParams, ...recordSourceEtag(copy) },
        sourceBucket: source.name,
        sourceKey,
        key: targetKey,
        signal,
      })
    : target.client.send(
        new CopyObjectCommand({
          ...target.writeParams,
          ...recordSourceEtag(copy),
          Bucket: target.name,
          Key: targetKey,
          CopySource: copySourceOf(source.name, sourceKey),
        }),
        { abortSignal: signal },
      );
  const copied = await sent.catch((error) => {
    if ((error as { name?: string }).name === 'NotImplemented') return undefined;
    throw missingOr(error, copy);
  });
  const wanted = target.writeParams.ServerSideEncryption;
  if (copied && (!wanted || copied.ServerSideEncryption === wanted)) return 'copied';
  const outcome = copied ? 'unencrypted' : 'refused';
  if (context.copyObjectUnfit) return outcome; // copies in flight may find out too: said once
  context.copyObjectUnfit = true;
  context.log?.warn(
    { bucket: target.name, sse: wanted },
    copied
      ? 'the S3 server stored a CopyObject without the server-side encryption asked for: copying in parts instead'
      : 'the S3 server does not implement CopyObject of this object (501): copying in parts instead',
  );
  return outcome;
}

/**
 * SSE-KMS ETags are not the MD5 of the content (AWS), so a copy into such a bucket carries the source's
 * ETag in its metadata, where a later mirror run finds it (compare.ts).
 */
function recordSourceEtag(copy: ObjectCopy): {
  MetadataDirective?: 'REPLACE';
  Metadata?: Record<string, string>;
} {
  if (copy.target.writeParams.ServerSideEncryption !== 'aws:kms' || !copy.sourceEtag) return {};
  return { MetadataDirective: 'REPLACE', Metadata: { [SOURCE_ETAG_METADATA]: copy.sourceEtag } };
}

/** A missing source key becomes SourceObjectMissing; anything else says what was being copied. */
function missingOr(error: unknown, copy: ObjectCopy): PachopsError {
  const { source, sourceKey, target, targetKey } = copy;
  if (isNoSuchKey(error instanceof PachopsError ? error.cause : error)) {
    return new SourceObjectMissing(source.name, sourceKey, error);
  }
  return s3Error(error, `copy ${sourceKey} from ${source.name} to ${target.name}/${targetKey}`);
}

/** Whether a streamed copy of `size` bytes goes in parts (more than one part, or than SINGLE_PUT_LIMIT). */
function inParts(size: number, partSize: number): boolean {
  return size > Math.min(SINGLE_PUT_LIMIT, partSize);
}

async function streamWithRetries(copy: ObjectCopy, context: CopyContext): Promise<number> {
  const large = inParts(copy.size, context.tuning.partSize);
  const release = large ? await context.streamSlots?.acquire() : undefined;
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await streamObject(copy, context.tuning.partSize);
      } catch (error) {
        if (error instanceof SourceObjectMissing) throw error;
        const wrapped = missingOr(error, copy);
        if (wrapped.permanent || copy.signal?.aborted || attempt >= STREAMED_ATTEMPTS) throw wrapped;
      }
    }
  } finally {
    release?.();
  }
}

async function streamObject(copy: ObjectCopy, partSize: number): Promise<number> {
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
  const metadata = copy.sourceEtag ? { [SOURCE_ETAG_METADATA]: copy.sourceEtag } : undefined;
  if (inParts(size, partSize)) {
    await uploadStream(target, targetKey, body, {
      signal,
      partSize: effectivePartSize(size, partSize),
      metadata,
    });
    return size;
  }
  await target.client.send(
    new PutObjectCommand({
      ...target.writeParams,
      Bucket: target.name,
      Key: targetKey,
      Body: body,
      ContentLength: size,
      Metadata: metadata,
    }),
    { abortSignal: signal },
  );
  return size;
}
