/**
 * mirrorBucket (src/storage/mirror/) with the object list (object-list.ts) and the listings
 * (listing.ts), against the run's real Ceph RGW and an in-process s3rver (a second, different endpoint).
 */
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { PachopsError } from '../../src/errors.ts';
import { changedObjectKey, objectListKey, RESERVED_PREFIX } from '../../src/storage/layout.ts';
import { compareKeys, listObjects, type ObjectEntry } from '../../src/storage/listing.ts';
import { planKeyRanges, positionInRange } from '../../src/storage/mirror/key-ranges.ts';
import {
  type MirrorProgress,
  type MirrorResult,
  mirrorBucket,
} from '../../src/storage/mirror/mirror-bucket.ts';
import { type ObjectListEntry, readObjectList } from '../../src/storage/object-list.ts';
import type { Bucket } from '../../src/storage/s3.ts';
import { uniqueName } from '../harness/stack-env.ts';
import {
  chunkKey,
  listAll,
  MiB,
  putAll,
  putMultipart,
  runLimited,
  type Server,
  sha256,
  sha256Of,
  smallObjects,
  useFaultProxy,
  useStorageServers,
  type Written,
} from './s3-fixtures.ts';

const servers = useStorageServers();
// no faults: it counts the requests that reach s3rver
const s3rverProxy = useFaultProxy(servers.s3rver);
const open = (server: Server, name: string) => servers.open(server, name);
const newBucket = (server: Server, prefix: string) => servers.newBucket(server, prefix);
let rgw: Server;
let s3rver: Server;
beforeAll(() => {
  rgw = servers.rgw();
  s3rver = servers.s3rver();
});

async function readList(bucket: Bucket, key: string): Promise<ObjectListEntry[]> {
  const entries: ObjectListEntry[] = [];
  for await (const entry of readObjectList(bucket, key)) entries.push(entry);
  return entries;
}

function mirror(
  source: Bucket,
  target: Bucket,
  _backupId: string,
  extra: { objectListKey?: string; concurrency?: number; signal?: AbortSignal } = {},
): Promise<MirrorResult> {
  return mirrorBucket({
    source,
    target,
    changedKeyFor: changedObjectKey,
    objectListKey: extra.objectListKey,
    concurrency: extra.concurrency ?? 16,
    signal: extra.signal,
  });
}

/** A mirror that writes the backup's object list; returns the result and the list read back. */
async function mirrorWithList(source: Bucket, target: Bucket, backupId: string) {
  const listKey = objectListKey(backupId);
  const result = await mirror(source, target, backupId, { objectListKey: listKey });
  const list = await readList(target, listKey);
  const written = { count: list.length, bytes: list.reduce((sum, e) => sum + e.size, 0) };
  return { result, written, list };
}

const byKey = (a: { key: string }, b: { key: string }) => compareKeys(a.key, b.key);

describe('one RGW (server-side copies)', () => {
  let source: Bucket;
  let target: Bucket;
  let objects: Written[];
  let large: Written[];

  beforeAll(async () => {
    source = await newBucket(rgw, 'mirror-src');
    target = await newBucket(rgw, 'mirror-dst');
    objects = smallObjects(300);
    large = [
      { key: chunkKey(), body: randomBytes(20 * MiB) },
      { key: chunkKey(), body: randomBytes(20 * MiB + 12345) },
    ];
    await putAll(rgw, source.name, [...objects, large[0]!]);
    await putMultipart(rgw, source.name, large[1]!.key, large[1]!.body);
  });

  test('a full mirror copies every object and writes an object list that reads back', async () => {
    const all = [...objects, ...large];
    const totalBytes = all.reduce((sum, o) => sum + o.body.length, 0);
    const sourceListing = await listAll(rgw, source.name);
    expect(sourceListing.get(large[1]!.key)?.etag).toMatch(/-\d+$/); // really multipart

    const { result, written, list } = await mirrorWithList(source, target, 'b1');

    expect(result).toMatchObject({
      serverSide: true,
      listed: 302,
      listedBytes: totalBytes,
      copied: 302,
      copiedBytes: totalBytes,
      changed: 0,
    });
    expect(written).toEqual({ count: 302, bytes: totalBytes });
    // the object list: every source object, in byte order, with its size and ETag
    const expected = [...sourceListing].map(([key, { size, etag }]) => ({ key, size, etag })).sort(byKey);
    expect(list).toEqual(expected);
    // the target's root holds every key with its size and content
    const targetListing = await listAll(rgw, target.name);
    const root = [...targetListing].filter(([key]) => !key.startsWith(RESERVED_PREFIX));
    expect(new Map(root.map(([key, { size }]) => [key, size]))).toEqual(
      new Map(all.map((o) => [o.key, o.body.length])),
    );
    for (const o of objects.slice(0, 20))
      expect(await sha256Of(rgw, target.name, o.key)).toBe(sha256(o.body));
    for (const o of large) expect(await sha256Of(rgw, target.name, o.key)).toBe(sha256(o.body));
  });

  test('a second run copies nothing', async () => {
    const { result, list } = await mirrorWithList(source, target, 'b2');
    expect(result).toMatchObject({ listed: 302, copied: 0, copiedBytes: 0, changed: 0 });
    expect(list).toHaveLength(302);
  });

  test('after objects are added only those are copied', async () => {
    const added = smallObjects(7, [100, 200]);
    await putAll(rgw, source.name, added);
    const before = await listAll(rgw, target.name);

    const { result, list } = await mirrorWithList(source, target, 'b3');

    expect(result).toMatchObject({
      listed: 309,
      copied: 7,
      copiedBytes: added.reduce((sum, o) => sum + o.body.length, 0),
      changed: 0,
    });
    expect(list).toHaveLength(309);
    const after = await listAll(rgw, target.name);
    const newKeys = [...after.keys()].filter((key) => !before.has(key) && !key.startsWith(RESERVED_PREFIX));
    expect(newKeys.sort()).toEqual(added.map((o) => o.key).sort());
    objects.push(...added);
  });

  test('a changed key goes to its changedKeyFor location; the root object is not overwritten', async () => {
    const victim = objects[42]!;
    const oldEtag = (await listAll(rgw, target.name)).get(victim.key)!.etag;
    const newBody = randomBytes(victim.body.length + 10);
    await rgw.client.send(new PutObjectCommand({ Bucket: source.name, Key: victim.key, Body: newBody }));

    const { result, list } = await mirrorWithList(source, target, 'b4');

    expect(result).toMatchObject({ listed: 309, copied: 1, copiedBytes: newBody.length, changed: 1 });
    const newEtag = (await listAll(rgw, source.name)).get(victim.key)!.etag;
    const stored = changedObjectKey(victim.key, newEtag);
    expect(list.find((e) => e.key === victim.key)).toMatchObject({ size: newBody.length, stored });
    expect(list.filter((e) => e.stored)).toHaveLength(1);
    // the older backups' version is untouched at the root; the new one is under .pachops/versions/
    expect(await sha256Of(rgw, target.name, victim.key)).toBe(sha256(victim.body));
    expect((await listAll(rgw, target.name)).get(victim.key)?.etag).toBe(oldEtag);
    expect(await sha256Of(rgw, target.name, stored)).toBe(sha256(newBody));
    // The next backup lists the same version and copies nothing: one content is stored once.
    const again = await mirrorWithList(source, target, 'b5');
    expect(again.result).toMatchObject({ listed: 309, copied: 0, changed: 1 });
    expect(again.list.find((e) => e.key === victim.key)?.stored).toBe(stored);
  });
});

describe('across endpoints (streamed copies)', () => {
  const crossObjects = smallObjects(40);
  const crossLarge: Written[] = [
    { key: chunkKey(), body: randomBytes(20 * MiB) },
    { key: chunkKey(), body: randomBytes(19 * MiB + 777) },
  ];
  const all = [...crossObjects, ...crossLarge];
  let rgwSource: Bucket;

  beforeAll(async () => {
    rgwSource = await newBucket(rgw, 'mirror-x-src');
    await putAll(rgw, rgwSource.name, [...crossObjects, crossLarge[0]!]);
    await putMultipart(rgw, rgwSource.name, crossLarge[1]!.key, crossLarge[1]!.body);
  });

  async function expectSameContent(server: Server, bucket: string) {
    const listing = await listAll(server, bucket);
    expect(new Map([...listing].map(([key, { size }]) => [key, size]))).toEqual(
      new Map(all.map((o) => [o.key, o.body.length])),
    );
    await runLimited(all, 8, async (o) => {
      expect(await sha256Of(server, bucket, o.key)).toBe(sha256(o.body));
    });
  }

  test('RGW → s3rver streams every object; sizes and bytes match; a rerun copies nothing', async () => {
    const target = await newBucket(s3rver, 'mirror-x-s3rver');
    const result = await mirror(rgwSource, target, 'x1', { concurrency: 8 });
    expect(result).toMatchObject({ serverSide: false, listed: 42, copied: 42, changed: 0 });
    expect(result.copiedBytes).toBe(all.reduce((sum, o) => sum + o.body.length, 0));
    await expectSameContent(s3rver, target.name);
    expect(await mirror(rgwSource, target, 'x2')).toMatchObject({ copied: 0, changed: 0 });
  });

  test('s3rver → RGW streams every object; sizes and bytes match; a rerun copies nothing', async () => {
    const s3rverSource = await newBucket(s3rver, 'mirror-x-s3rver-src');
    await putAll(s3rver, s3rverSource.name, all);
    const target = await newBucket(rgw, 'mirror-x-dst');
    const result = await mirror(s3rverSource, target, 'x3', { concurrency: 8 });
    expect(result).toMatchObject({ serverSide: false, listed: 42, copied: 42, changed: 0 });
    await expectSameContent(rgw, target.name);
    expect(await mirror(s3rverSource, target, 'x4')).toMatchObject({ copied: 0, changed: 0 });
  });
});

test('streamed copies of objects above a part go as multipart uploads; RGW gives them -N ETags, and a rerun copies none again', async () => {
  const source = await newBucket(s3rver, 'mirror-xmp-src');
  const target = await newBucket(rgw, 'mirror-xmp-dst');
  const objects: Written[] = [
    { key: 'data/twelve-MiB', body: randomBytes(12 * MiB + 3) },
    { key: 'data/one-part', body: randomBytes(5 * MiB) },
  ];
  await putAll(s3rver, source.name, objects);
  const run = () =>
    mirrorBucket({ source, target, changedKeyFor: changedObjectKey, concurrency: 4, partSize: 5 * MiB });

  expect(await run()).toMatchObject({ serverSide: false, copied: 2 });

  const landed = await listAll(rgw, target.name);
  expect(landed.get('data/twelve-MiB')?.etag).toMatch(/-3"?$/);
  expect(landed.get('data/one-part')?.etag).not.toMatch(/-\d+"?$/);
  for (const o of objects) expect(await sha256Of(rgw, target.name, o.key)).toBe(sha256(o.body));
  // a -3 ETag cannot be compared with the source's MD5: the source ETag the copy recorded decides
  expect(await run()).toMatchObject({
    copied: 0,
    changed: 0,
    unverified: 0,
  });
});

test('listing more than 1000 keys pages through ListObjectsV2, on both sides of the merge-join', async () => {
  const source = await newBucket(rgw, 'mirror-pages-src');
  const target = await newBucket(rgw, 'mirror-pages-dst');
  // Keys at the root (no prefix to split by): one key range, so the merge-join itself pages on both sides.
  const many = smallObjects(1234, [1, 64]).map((o) => ({ ...o, key: o.key.replace('chunk/', 'k-') }));
  await putAll(rgw, source.name, many);
  let listCalls = 0;
  for (const bucket of [source, target]) {
    bucket.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ListObjectsV2Command') listCalls++;
        return next(args);
      },
      { step: 'initialize' },
    );
  }

  const listed: ObjectEntry[] = [];
  for await (const entry of listObjects(source)) listed.push(entry);
  expect(listCalls).toBe(2);
  expect(listed.map((e) => e.key)).toEqual(many.map((o) => o.key).sort());
  expect(listed.map((e) => e.size)).toEqual([...many].sort(byKey).map((o) => o.body.length));

  const first = await mirror(source, target, 'p1', { concurrency: 32 });
  expect(first).toMatchObject({ listed: 1234, copied: 1234, ranges: 1 });
  // the target's listing must page too, or the second run would copy the keys after the first 1000 again
  listCalls = 0;
  expect(await mirror(source, target, 'p2')).toMatchObject({ listed: 1234, copied: 0, changed: 0 });
  // the range planner's delimiter listing (two pages of root keys) and its two chunk/ probes, then two a side
  expect(listCalls).toBe(2 + 2 + 4);
});

test('a chunk/ prefix split into 16 key ranges is listed in parallel; the object list stays in key order', async () => {
  const source = await newBucket(rgw, 'mirror-ranges-src');
  const target = await newBucket(rgw, 'mirror-ranges-dst');
  const many = smallObjects(1500, [1, 64]);
  const odd = [
    { key: 'chunk/', body: Buffer.alloc(0) }, // a "directory" marker: the bound of the first range
    { key: 'chunk/zz-not-hex', body: randomBytes(5) }, // past every hex digit: the last range
    { key: 'aaa-before-chunk', body: randomBytes(3) },
    { key: 'zzz/after', body: randomBytes(4) },
  ];
  await putAll(rgw, source.name, [...many, ...odd]);
  const progress: MirrorProgress[] = [];
  // 1,500 keys are one range by default (quarters pay from about 4,000); shards split any prefix in 16.
  expect(await planKeyRanges(source, { skipPrefix: RESERVED_PREFIX })).toEqual([{}]);
  const ranges = await planKeyRanges(source, { skipPrefix: RESERVED_PREFIX, always: true });

  const result = await mirrorBucket({
    source,
    target,
    changedKeyFor: changedObjectKey,
    objectListKey: objectListKey('ranges'),
    concurrency: 32,
    listConcurrency: 4,
    ranges,
    onProgress: (p) => progress.push(p),
  });

  expect(result).toMatchObject({ ranges: 17, listed: 1504, copied: 1504, listingDone: true });
  const list = await readList(target, objectListKey('ranges'));
  expect(list.map((e) => e.key)).toEqual([...many, ...odd].map((o) => o.key).sort(compareKeys));
  // the parts were joined and deleted
  const reserved = [...(await listAll(rgw, target.name)).keys()].filter((k) => k.startsWith(RESERVED_PREFIX));
  expect(reserved).toEqual([objectListKey('ranges')]);
  // remaining and the ETA were told while copying, and reached zero
  expect(progress.some((p) => p.remaining && p.etaMs !== undefined)).toBe(true);
  expect(result.remaining).toEqual({ objects: 0, bytes: 0 });
});

/** Chunk objects whose ids start with `hex`: the range planner judges a prefix's size by such a slice. */
const chunksStartingWith = (hex: string, count: number, sizes: [number, number] = [1, 4]) =>
  smallObjects(count, sizes).map((o) => ({ ...o, key: `chunk/${hex}${o.key.slice(6 + hex.length)}` }));

test('a chunk/ prefix of more than four pages is listed in quarters; progress places keys within each', async () => {
  const source = await newBucket(rgw, 'mirror-quarters-src');
  const target = await newBucket(rgw, 'mirror-quarters-dst');
  // the planner estimates a prefix's size from its last 16th: 260 keys under chunk/f stand for 4,160
  const lastSixteenth = chunksStartingWith('f', 260, [1, 16]);
  const spread = smallObjects(60, [1, 16]);
  const odd = [
    { key: 'chunk/', body: Buffer.alloc(0) },
    { key: 'chunk/4', body: randomBytes(2) }, // exactly a bound: the range it ends holds it
    { key: 'chunk/zz-not-hex', body: randomBytes(5) }, // past every hex digit: the last range
    { key: 'aaa-before-chunk', body: randomBytes(3) },
    { key: 'zzz/after', body: randomBytes(4) },
  ];
  const all = [...lastSixteenth, ...spread, ...odd];
  await putAll(rgw, source.name, all);

  const quarter = (after: string, upTo: string | undefined, hexDigits: string) => ({
    after,
    upTo,
    hexPrefix: 'chunk/',
    hexDigits,
  });
  const ranges = await planKeyRanges(source, { skipPrefix: RESERVED_PREFIX });
  expect(ranges).toEqual([
    { upTo: 'chunk/' },
    quarter('chunk/', 'chunk/4', '0123'),
    quarter('chunk/4', 'chunk/8', '4567'),
    quarter('chunk/8', 'chunk/c', '89ab'),
    quarter('chunk/c', undefined, 'cdef'),
  ]);
  expect(positionInRange(ranges[2]!, 'chunk/6000abc')).toBe(0.5);
  expect(positionInRange(ranges[4]!, 'chunk/f800')).toBe(0.875);
  expect(positionInRange(ranges[4]!, 'chunk/zz-not-hex')).toBeUndefined();
  expect(positionInRange(ranges[1]!, 'chunk/')).toBeUndefined();

  const progress: MirrorProgress[] = [];
  const options = { source, target, changedKeyFor: changedObjectKey, concurrency: 16 };
  const result = await mirrorBucket({
    ...options,
    objectListKey: objectListKey('quarters'),
    onProgress: (p) => progress.push(p),
  });
  expect(result).toMatchObject({ ranges: 5, listed: all.length, copied: all.length, listingDone: true });
  const list = await readList(target, objectListKey('quarters'));
  expect(list.map((e) => e.key)).toEqual(all.map((o) => o.key).sort(compareKeys));
  const reserved = [...(await listAll(rgw, target.name)).keys()].filter((k) => k.startsWith(RESERVED_PREFIX));
  expect(reserved).toEqual([objectListKey('quarters')]);
  expect(progress.some((p) => p.remaining && p.etaMs !== undefined)).toBe(true);
  expect(result.remaining).toEqual({ objects: 0, bytes: 0 });
  expect(await mirrorBucket(options)).toMatchObject({ ranges: 5, listed: all.length, copied: 0 });
});

test('a chunk/ prefix whose last 16th fills a page but whose last 256th does not is listed in quarters', async () => {
  const source = await newBucket(rgw, 'mirror-mid-src');
  // 1,001 keys under chunk/f0 stand for about 16,000: more than the quarters' threshold, less than 16 ranges'
  const lastSixteenth = chunksStartingWith('f0', 1001);
  await putAll(rgw, source.name, lastSixteenth);
  const ranges = await planKeyRanges(source, { skipPrefix: RESERVED_PREFIX });
  expect(ranges.map((r) => r.hexDigits)).toEqual([undefined, '0123', '4567', '89ab', 'cdef']);
});

test('a chunk/ prefix whose last 256th alone fills a page (about 256,000 keys) is split by hex digit into 16', async () => {
  const source = await newBucket(rgw, 'mirror-sixteen-src');
  // 1,001 keys under chunk/ff stand for 256,000: the planner probes chunk/f, then chunk/ff
  const lastPart = chunksStartingWith('ff', 1001);
  await putAll(rgw, source.name, lastPart);
  const ranges = await planKeyRanges(source, { skipPrefix: RESERVED_PREFIX });
  expect(ranges).toHaveLength(17);
  expect(ranges[1]).toEqual({ after: 'chunk/', upTo: 'chunk/1', hexPrefix: 'chunk/0' });
  expect(ranges[16]).toEqual({ after: 'chunk/f', hexPrefix: 'chunk/f' });
  expect(positionInRange(ranges[16]!, 'chunk/f8000')).toBe(0.5);
});

describe("the target's .pachops/ prefix", () => {
  const manifest = `${RESERVED_PREFIX}backups/old-20260101t000000z-abcd/manifest.json`;
  const version = `${RESERVED_PREFIX}versions/old-20260101t000000z-abcd/chunk/aa.0000000000000001`;

  test('is skipped: not listed, not in the object list, left as it is', async () => {
    const source = await newBucket(rgw, 'mirror-res-src');
    const target = await newBucket(rgw, 'mirror-res-dst');
    const sourceObjects = smallObjects(10);
    await putAll(rgw, source.name, sourceObjects);
    const ours = [
      { key: manifest, body: Buffer.from('{"backupId":"old"}') },
      { key: version, body: randomBytes(99) },
    ];
    await putAll(rgw, target.name, ours);

    const { result, list } = await mirrorWithList(source, target, 'r1');

    expect(result).toMatchObject({ listed: 10, copied: 10, changed: 0 });
    expect(list.map((e) => e.key)).toEqual(sourceObjects.map((o) => o.key).sort());
    for (const o of ours) expect(await sha256Of(rgw, target.name, o.key)).toBe(sha256(o.body));
    const skipped: ObjectEntry[] = [];
    for await (const entry of listObjects(target, { skipPrefix: RESERVED_PREFIX })) skipped.push(entry);
    expect(skipped.map((e) => e.key)).toEqual(sourceObjects.map((o) => o.key).sort());
  });

  test('a source that holds .pachops/ (a reused backup bucket) neither overwrites nor pollutes it', async () => {
    const source = await newBucket(rgw, 'mirror-res2-src');
    const target = await newBucket(rgw, 'mirror-res2-dst');
    const sourceObjects = smallObjects(5);
    const ownManifest = Buffer.from('{"backupId":"the target’s own backup"}');
    await putAll(rgw, source.name, [
      ...sourceObjects,
      { key: manifest, body: Buffer.from('{"backupId":"the source bucket’s old backup"}') },
    ]);
    await putAll(rgw, target.name, [{ key: manifest, body: ownManifest }]);

    const first = await mirror(source, target, 'r2');
    expect(await sha256Of(rgw, target.name, manifest)).toBe(sha256(ownManifest));
    expect(first.copied).toBe(5);
    expect(await mirror(source, target, 'r3')).toMatchObject({ copied: 0 });
  });
});

test('a mirror into a bucket that does not exist fails permanently, naming the bucket and the S3 error', async () => {
  const source = await newBucket(rgw, 'mirror-nb-src');
  await putAll(rgw, source.name, smallObjects(3));
  const missing = open(rgw, uniqueName('no-such-bucket'));

  const error = await mirror(source, missing, 'n1').catch((e: unknown) => e);

  expect(error).toBeInstanceOf(PachopsError);
  expect((error as PachopsError).permanent).toBe(true);
  expect((error as PachopsError).message).toContain(missing.name);
  expect((error as PachopsError).message).toContain('NoSuchBucket');
  // and the other way round
  const fromMissing = await mirror(missing, source, 'n2').catch((e: unknown) => e);
  expect(fromMissing).toBeInstanceOf(PachopsError);
  expect((fromMissing as PachopsError).permanent).toBe(true);
  expect((fromMissing as PachopsError).message).toContain(missing.name);
});

test('an aborted signal stops the mirror: it rejects with ABORTED and sends nothing afterwards', async () => {
  const source = await newBucket(rgw, 'mirror-ab-src');
  const target = await servers.newBucket(s3rver, 'mirror-ab-dst', s3rverProxy().endpoint);
  await putAll(rgw, source.name, smallObjects(300, [1000, 2000]));
  const controller = new AbortController();
  let copiedAtAbort = -1;

  const error = await mirrorBucket({
    source,
    target,
    changedKeyFor: changedObjectKey,
    concurrency: 4,
    signal: controller.signal,
    onProgress: (progress: MirrorProgress) => {
      // an abort from outside (Ctrl-C, a job cancelled), arriving while copies are in flight
      if (progress.copied >= 20 && copiedAtAbort < 0) {
        copiedAtAbort = progress.copied;
        setTimeout(() => controller.abort(), 0);
      }
    },
  }).catch((e: unknown) => e);

  expect(copiedAtAbort).toBeGreaterThanOrEqual(20);
  // Once the mirror has settled no request leaves it (100 ms for those it cut off to reach the proxy).
  // A copy it was sending when the abort came may still land (the server had the whole body), but no
  // more than the 4 in flight then, after at most 4 that finished before the abort.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const sentBySettling = s3rverProxy().stats.seen;
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(s3rverProxy().stats.seen).toBe(sentBySettling);
  const landed = (await listAll(s3rver, target.name)).size;
  expect(landed).toBeGreaterThanOrEqual(copiedAtAbort);
  expect(landed).toBeLessThanOrEqual(copiedAtAbort + 4 + 4);
  // an abort is not a failure to retry
  expect(error).toBeInstanceOf(PachopsError);
  expect((error as PachopsError).code).toBe('ABORTED');
  expect((error as PachopsError).permanent).toBe(true);
});
