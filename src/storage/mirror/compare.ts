import type { ObjectEntry } from '../listing.ts';
import { type Bucket, headObject } from '../s3.ts';

/**
 * Pachyderm's chunk keys name their content (a hash of it): the same key with the same size is the same
 * object, whatever the ETags say.
 */
const CONTENT_ADDRESSED = /^chunk\//;

/** `same`, `changed`, or `incomparable`: same size, but the ETags cannot tell (single-part vs multipart). */
export type Verdict = 'same' | 'changed' | 'incomparable';

/**
 * Decides whether the target already holds the source's object, by key + size and, where comparable, ETag.
 * A multipart ETag (`md5-of-parts-N`) depends on how the object was cut into parts: two equal ETags mean
 * the same content, but a multipart ETag that differs from another ETag proves nothing either way. Nor
 * does the ETag of an SSE-KMS object on AWS, which is not the MD5 of its content: pass
 * `targetEtagsAreMd5: false` for such a target (then the copy's recorded source ETag decides).
 */
export function compareObjects(
  source: ObjectEntry,
  target: ObjectEntry,
  options: { targetEtagsAreMd5?: boolean } = {},
): Verdict {
  if (source.size !== target.size) return 'changed';
  if (CONTENT_ADDRESSED.test(source.key)) return 'same';
  if (source.etag && source.etag === target.etag) return 'same';
  const md5 = options.targetEtagsAreMd5 ?? true;
  if (md5 && source.etag && target.etag && !partCount(source.etag) && !partCount(target.etag))
    return 'changed';
  return 'incomparable';
}

/** Whether a bucket's ETags are the MD5 of the content (single-part objects): not under SSE-KMS. */
export function etagsAreMd5(target: Bucket): boolean {
  return target.writeParams.ServerSideEncryption !== 'aws:kms';
}

/** 0 for a single-part ETag, N for `…-N`. */
export function partCount(etag: string): number {
  const match = /-(\d+)$/.exec(etag);
  return match ? Number(match[1]) : 0;
}

/** Metadata that a multipart copy carries: the source's ETag, so a later run can tell it is the same. */
export const SOURCE_ETAG_METADATA = 'pachops-source-etag';

/**
 * Where compareObjects says `incomparable`, the source ETag that a copy recorded in the target's metadata
 * decides: the same ETag, the same object; another one, a copy of other content (changed); none, a target
 * pachops did not write (still incomparable).
 */
export async function recordedVerdict(target: Bucket, key: string, sourceEtag: string): Promise<Verdict> {
  if (!sourceEtag) return 'incomparable';
  const recorded = (await headObject(target, key))?.Metadata?.[SOURCE_ETAG_METADATA];
  if (!recorded) return 'incomparable';
  return recorded === sourceEtag ? 'same' : 'changed';
}
