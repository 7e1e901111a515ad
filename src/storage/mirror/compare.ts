import type { ObjectEntry } from '../listing.ts';

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
 * the same content, but a multipart ETag that differs from another ETag proves nothing either way.
 */
export function compareObjects(source: ObjectEntry, target: ObjectEntry): Verdict {
  if (source.size !== target.size) return 'changed';
  if (CONTENT_ADDRESSED.test(source.key)) return 'same';
  if (source.etag && source.etag === target.etag) return 'same';
  if (source.etag && target.etag && !partCount(source.etag) && !partCount(target.etag)) return 'changed';
  return 'incomparable';
}

/** 0 for a single-part ETag, N for `…-N`. */
export function partCount(etag: string): number {
  const match = /-(\d+)$/.exec(etag);
  return match ? Number(match[1]) : 0;
}

/** Metadata that a multipart copy carries: the source's ETag, so a later run can tell it is the same. */
export const SOURCE_ETAG_METADATA = 'pachops-source-etag';
