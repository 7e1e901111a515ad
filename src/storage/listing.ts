import { ListObjectsV2Command, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { PachopsError } from '../errors.ts';
import { type Bucket, s3Error } from './s3.ts';

export interface ObjectEntry {
  key: string;
  size: number;
  /** Without quotes; a multipart ETag ends in `-N`. */
  etag: string;
}

/** S3 lists keys in UTF-8 byte order; JavaScript's `<` compares UTF-16 units, which differs above U+FFFF. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export function stripQuotes(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '').replace(/^&quot;|&quot;$/g, '');
}

/**
 * Every object in a bucket, in key order, one page at a time: memory stays flat however large the bucket.
 * `skipPrefix` leaves out a prefix (the backup bucket's `.pachops/`). Throws if the server's order is not
 * the byte order a merge-join relies on.
 */
export async function* listObjects(
  bucket: Bucket,
  options: { skipPrefix?: string; prefix?: string } = {},
): AsyncGenerator<ObjectEntry> {
  let token: string | undefined;
  let previous: string | undefined;
  do {
    let page: ListObjectsV2CommandOutput;
    try {
      page = await bucket.client.send(
        new ListObjectsV2Command({
          Bucket: bucket.name,
          Prefix: options.prefix,
          ContinuationToken: token,
          MaxKeys: 1000,
        }),
      );
    } catch (error) {
      throw s3Error(error, `list ${bucket.name}`);
    }
    for (const object of page.Contents ?? []) {
      const key = object.Key!;
      if (previous !== undefined && compareKeys(previous, key) >= 0) {
        throw new PachopsError(
          'S3_UNSORTED',
          `${bucket.name} listed ${key} after ${previous}: the server does not list in key order`,
          {
            permanent: true,
          },
        );
      }
      previous = key;
      if (options.skipPrefix && key.startsWith(options.skipPrefix)) continue;
      yield { key, size: object.Size ?? 0, etag: stripQuotes(object.ETag) };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

export type DiffEntry =
  | { kind: 'missing'; source: ObjectEntry }
  | { kind: 'same'; source: ObjectEntry; target: ObjectEntry }
  | { kind: 'changed'; source: ObjectEntry; target: ObjectEntry }
  | { kind: 'extra'; target: ObjectEntry };

/**
 * Merge-joins two sorted listings. "Same" is decided by size and, when both ETags are of the same kind
 * (both single-part or both multipart), by ETag; a multipart ETag is never compared with a single-part one.
 */
export async function* diffListings(
  source: AsyncIterable<ObjectEntry>,
  target: AsyncIterable<ObjectEntry>,
): AsyncGenerator<DiffEntry> {
  const s = source[Symbol.asyncIterator]();
  const t = target[Symbol.asyncIterator]();
  let a = await s.next();
  let b = await t.next();
  while (!a.done || !b.done) {
    const order = a.done ? 1 : b.done ? -1 : compareKeys(a.value.key, b.value.key);
    if (order < 0) {
      yield { kind: 'missing', source: a.value as ObjectEntry };
      a = await s.next();
    } else if (order > 0) {
      yield { kind: 'extra', target: b.value as ObjectEntry };
      b = await t.next();
    } else {
      const source = a.value as ObjectEntry;
      const target = b.value as ObjectEntry;
      yield { kind: isSameObject(source, target) ? 'same' : 'changed', source, target };
      a = await s.next();
      b = await t.next();
    }
  }
}

export function isSameObject(a: ObjectEntry, b: ObjectEntry): boolean {
  if (a.size !== b.size) return false;
  const comparable = a.etag && b.etag && a.etag.includes('-') === b.etag.includes('-');
  return comparable ? a.etag === b.etag : true;
}
