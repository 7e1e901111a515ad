import { PachopsError } from '../errors.ts';
import { type ListPage, sendListPage } from './list-page.ts';
import { type Bucket, s3Error } from './s3.ts';

export interface ObjectEntry {
  key: string;
  size: number;
  /** Without quotes; a multipart ETag ends in `-N`. */
  etag: string;
}

/**
 * S3 lists keys in UTF-8 byte order. JavaScript's `<` compares UTF-16 units, which agrees with it except
 * where a surrogate (U+D800–DFFF, half of a character above U+FFFF) meets U+E000–FFFF: up to the first
 * difference the units are compared directly (no allocation: this runs for every listed key), and only a
 * difference at or above U+D800 is settled by the UTF-8 bytes (rare: keys are mostly ASCII).
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  }
  return a.length - b.length;
}

export function stripQuotes(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '').replace(/^&quot;|&quot;$/g, '');
}

export interface ListOptions {
  /** Left out of the listing (the backup bucket's `.pachops/`). */
  skipPrefix?: string;
  prefix?: string;
  /** Only keys after this one (exclusive), as ListObjectsV2's StartAfter. */
  startAfter?: string;
  /** Only keys up to this one (inclusive): with startAfter, one key range. */
  upTo?: string;
  /** Keys per ListObjectsV2 page (default and S3's maximum: 1000); smaller in tests, to page. */
  pageSize?: number;
}

/**
 * Every object in a bucket (or a key range of it), in key order, one page at a time: memory stays flat
 * however large the bucket. The next page is requested while this one is consumed. Throws if the server's
 * order is not the byte order a merge-join relies on.
 */
export async function* listObjects(bucket: Bucket, options: ListOptions = {}): AsyncGenerator<ObjectEntry> {
  let previous = options.startAfter;
  let next: Promise<ListPage> | undefined = listPage(bucket, options, undefined);
  while (next) {
    const page: ListPage = await next;
    const last = page.contents.at(-1)?.key;
    // A page that already reaches past the range's end is the last one needed: no request ahead for it.
    const pastEnd = options.upTo !== undefined && last !== undefined && compareKeys(last, options.upTo) > 0;
    const token = page.isTruncated && !pastEnd ? page.nextContinuationToken : undefined;
    next = token ? listPage(bucket, options, token) : undefined;
    next?.catch(() => undefined); // awaited on the next turn; a consumer that stops early must not leak it
    for (const object of page.contents) {
      const key = object.key;
      if (options.upTo !== undefined && compareKeys(key, options.upTo) > 0) return;
      if (previous !== undefined && compareKeys(previous, key) >= 0) throw unsorted(bucket, previous, key);
      previous = key;
      if (options.skipPrefix && key.startsWith(options.skipPrefix)) continue;
      yield { key, size: object.size, etag: stripQuotes(object.etag) };
    }
  }
}

async function listPage(bucket: Bucket, options: ListOptions, token: string | undefined): Promise<ListPage> {
  try {
    return await sendListPage(bucket.client, {
      Bucket: bucket.name,
      Prefix: options.prefix,
      StartAfter: token ? undefined : options.startAfter,
      ContinuationToken: token,
      MaxKeys: options.pageSize ?? 1000,
    });
  } catch (error) {
    throw s3Error(error, `list ${bucket.name}${describeSlice(options)}`);
  }
}

/** `/chunk/ after chunk/5 up to chunk/a`: which part of a bucket a failed listing was reading. */
function describeSlice(options: ListOptions): string {
  const parts = [options.prefix ? `/${options.prefix}` : ''];
  if (options.startAfter !== undefined) parts.push(` after ${options.startAfter}`);
  if (options.upTo !== undefined) parts.push(` up to ${options.upTo}`);
  return parts.join('');
}

function unsorted(bucket: Bucket, previous: string, key: string): PachopsError {
  return new PachopsError(
    'S3_UNSORTED',
    `${bucket.name} listed ${key} after ${previous}: the server does not list in key order`,
    { permanent: true },
  );
}

export type DiffEntry =
  | { kind: 'missing'; source: ObjectEntry }
  | { kind: 'both'; source: ObjectEntry; target: ObjectEntry }
  | { kind: 'extra'; target: ObjectEntry };

/** Merge-joins two sorted listings: what only the source has, what both have, what only the target has. */
export async function* diffListings(
  source: AsyncIterable<ObjectEntry>,
  target: AsyncIterable<ObjectEntry>,
): AsyncGenerator<DiffEntry> {
  const s = source[Symbol.asyncIterator]();
  const t = target[Symbol.asyncIterator]();
  let [a, b] = await Promise.all([s.next(), t.next()]);
  while (!a.done || !b.done) {
    const order = a.done ? 1 : b.done ? -1 : compareKeys(a.value.key, b.value.key);
    if (order < 0) {
      yield { kind: 'missing', source: a.value as ObjectEntry };
      a = await s.next();
    } else if (order > 0) {
      yield { kind: 'extra', target: b.value as ObjectEntry };
      b = await t.next();
    } else {
      yield { kind: 'both', source: a.value as ObjectEntry, target: b.value as ObjectEntry };
      [a, b] = await Promise.all([s.next(), t.next()]);
    }
  }
}
