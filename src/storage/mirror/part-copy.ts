import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { PachopsError } from '../../errors.ts';
import { stripQuotes } from '../listing.ts';
import { type Bucket, s3Error } from '../s3.ts';
import { SOURCE_ETAG_METADATA } from './compare.ts';
import { copySourceOf } from './copy-source.ts';

/** S3's bounds on a multipart upload. */
const MIN_PART = 5 * 1024 ** 2;
const MAX_PARTS = 10_000;
/** Parts of one object copied at once: a large object should not take every slot of the copier. */
const PARTS_IN_FLIGHT = 4;

/** The server answered UploadPartCopy with 501 (s3rver): the caller streams instead. */
export class PartCopyUnsupported extends PachopsError {
  constructor(bucket: string, cause: unknown) {
    super('S3_NO_PART_COPY', `${bucket}'s server does not implement UploadPartCopy`, { cause });
    this.name = 'PartCopyUnsupported';
  }
}

export interface PartCopy {
  source: Bucket;
  sourceKey: string;
  target: Bucket;
  targetKey: string;
  size: number;
  sourceEtag: string;
  partSize: number;
  signal?: AbortSignal;
}

/** The part size actually used: at least 5 MiB, and large enough to stay within 10,000 parts. */
export function effectivePartSize(size: number, partSize: number): number {
  return Math.max(MIN_PART, partSize, Math.ceil(size / MAX_PARTS));
}

/**
 * Copies an object server-side in parts (UploadPartCopy), for objects above CopyObject's 5 GiB limit or
 * the configured threshold. The copy records the source's ETag in its metadata, since its own multipart
 * ETag cannot be compared with the source's. A failed copy is aborted: no parts are left behind.
 */
export async function copyInParts(copy: PartCopy): Promise<void> {
  const { target, targetKey, signal } = copy;
  const created = await target.client
    .send(
      new CreateMultipartUploadCommand({
        ...target.writeParams,
        Bucket: target.name,
        Key: targetKey,
        Metadata: { [SOURCE_ETAG_METADATA]: copy.sourceEtag },
      }),
      { abortSignal: signal },
    )
    .catch((error) => {
      throw s3Error(error, `start a multipart copy of ${copy.sourceKey} to ${target.name}/${targetKey}`);
    });
  const uploadId = created.UploadId!;
  try {
    const parts = await copyParts(copy, uploadId);
    await target.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: target.name,
        Key: targetKey,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
      }),
      { abortSignal: signal },
    );
  } catch (error) {
    await target.client
      .send(new AbortMultipartUploadCommand({ Bucket: target.name, Key: targetKey, UploadId: uploadId }))
      .catch(() => undefined); // the failure below is what matters; a lifecycle rule reaps leftovers
    if ((error as { name?: string }).name === 'NotImplemented')
      throw new PartCopyUnsupported(target.name, error);
    throw s3Error(error, `copy ${copy.sourceKey} in parts to ${target.name}/${targetKey}`);
  }
}

async function copyParts(copy: PartCopy, uploadId: string) {
  const partSize = effectivePartSize(copy.size, copy.partSize);
  const count = Math.max(1, Math.ceil(copy.size / partSize));
  const limit = pLimit(PARTS_IN_FLIGHT);
  const copySource = copySourceOf(copy.source.name, copy.sourceKey);
  const copying = Promise.all(
    Array.from({ length: count }, (_, index) =>
      limit(async () => {
        const first = index * partSize;
        const last = Math.min(copy.size, first + partSize) - 1;
        const part = await copy.target.client.send(
          new UploadPartCopyCommand({
            Bucket: copy.target.name,
            Key: copy.targetKey,
            UploadId: uploadId,
            PartNumber: index + 1,
            CopySource: copySource,
            CopySourceRange: `bytes=${first}-${last}`,
          }),
          { abortSignal: copy.signal },
        );
        return { PartNumber: index + 1, ETag: `"${stripQuotes(part.CopyPartResult?.ETag)}"` };
      }),
    ),
  );
  // The first failure ends the copy: parts not yet started are not started at all.
  return copying.catch((error) => {
    limit.clearQueue();
    throw error;
  });
}
