/**
 * The object half of a restore (src/storage/restore-objects.ts, copy-object.ts): a backup's object list,
 * made by mirrorBucket (with its object list), copied into new buckets on the run's Ceph RGW (server-side) and
 * on an in-process s3rver (another endpoint: streamed).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { PachopsError } from '../../src/errors.ts';
import { changedObjectKey, objectListKey, RESERVED_PREFIX } from '../../src/storage/layout.ts';
import { compareKeys, listObjects } from '../../src/storage/listing.ts';
import { mirrorBucket } from '../../src/storage/mirror/mirror-bucket.ts';
import { type ObjectListEntry, readObjectList } from '../../src/storage/object-list.ts';
import {
  copyListedObjects,
  ensureBucket,
  inspectBucket,
  type RestoreObjectsProgress,
} from '../../src/storage/restore-objects.ts';
import { type Bucket, openBucket } from '../../src/storage/s3.ts';
import { makeS3Client, type S3Target } from '../harness/s3-client.ts';
import { type S3rverServer, startS3rver } from '../harness/s3rver.ts';
import { stackEnv, uniqueName } from '../harness/stack-env.ts';
import { countCommands } from './s3-fixtures.ts';

const env = stackEnv();
const MiB = 1024 * 1024;

interface Server {
  target: S3Target;
  client: S3Client;
}

let rgw: Server;
let s3rverServer: S3rverServer;
let s3rver: Server;
const opened: Bucket[] = [];
let backup: Bucket;
/** The source bucket's content when each backup was taken, by key. */
const contentAt: { b1: Map<string, Buffer>; b2: Map<string, Buffer> } = { b1: new Map(), b2: new Map() };
let list1: ObjectListEntry[];
let list2: ObjectListEntry[];
let victim: string;

/** src/'s view of a bucket (what the config loader would produce). */
function open(server: Server, name: string, region = server.target.region): Bucket {
  const bucket = openBucket({
    bucket: name,
    endpoint: server.target.endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.target.accessKeyId, secretAccessKey: server.target.secretAccessKey },
  });
  opened.push(bucket);
  return bucket;
}

/** A new bucket, created by src/'s ensureBucket. */
async function newBucket(server: Server, prefix: string): Promise<Bucket> {
  const bucket = open(server, uniqueName(prefix));
  expect(await ensureBucket(bucket)).toEqual({ created: true });
  return bucket;
}

function chunkKey(): string {
  return `chunk/${randomBytes(32).toString('hex')}.${randomBytes(2).toString('hex').padStart(16, '0')}`;
}

async function put(server: Server, bucket: string, key: string, body: Buffer): Promise<void> {
  await server.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

async function putAll(server: Server, bucket: string, objects: Map<string, Buffer>): Promise<void> {
  const entries = [...objects];
  const lane = async () => {
    for (let next = entries.shift(); next; next = entries.shift())
      await put(server, bucket, next[0], next[1]);
  };
  await Promise.all(Array.from({ length: 16 }, lane));
}

async function listAll(server: Server, bucket: string): Promise<Map<string, number>> {
  const objects = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await server.client.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) objects.set(o.Key!, o.Size ?? -1);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

async function sha256Of(server: Server, bucket: string, key: string): Promise<string> {
  const response = await server.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of response.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

async function* iterate<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

async function readList(key: string): Promise<ObjectListEntry[]> {
  const entries: ObjectListEntry[] = [];
  for await (const entry of readObjectList(backup, key)) entries.push(entry);
  return entries;
}

/** One backup of `source` into `backup`: the mirror and its object list, as the mirror phase makes them. */
async function takeBackup(source: Bucket, id: string): Promise<ObjectListEntry[]> {
  await mirrorBucket({
    source,
    target: backup,
    changedKeyFor: changedObjectKey,
    objectListKey: objectListKey(id),
    concurrency: 16,
  });
  return readList(objectListKey(id));
}

/** The target holds exactly the list's keys, each with the content the source had at that backup. */
async function expectRestored(server: Server, bucket: string, content: Map<string, Buffer>): Promise<void> {
  const listing = await listAll(server, bucket);
  expect(new Map([...listing])).toEqual(new Map([...content].map(([key, body]) => [key, body.length])));
  const keys = [...content.keys()];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let key = keys.shift(); key; key = keys.shift())
        expect(await sha256Of(server, bucket, key)).toBe(sha256(content.get(key)!));
    }),
  );
}

const fail = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => {
      expect(error).toBeInstanceOf(PachopsError);
      return error as PachopsError;
    },
  );

beforeAll(async () => {
  if (!env.rgw) throw new Error('these tests need the run’s RGW (PACHOPS_TEST_RGW is 0)');
  rgw = { target: env.rgw, client: makeS3Client(env.rgw) };
  s3rverServer = await startS3rver();
  s3rver = { target: s3rverServer, client: makeS3Client(s3rverServer) };
  const source = await newBucket(rgw, 'restore-src');
  backup = await newBucket(rgw, 'restore-backup');
  for (let i = 0; i < 150; i++)
    contentAt.b1.set(chunkKey(), randomBytes(1 + Math.floor(Math.random() * 8192)));
  await putAll(rgw, source.name, contentAt.b1);
  const large = chunkKey(); // a multipart object, as large chunk writers make
  contentAt.b1.set(large, randomBytes(11 * MiB + 321));
  await new Upload({
    client: rgw.client,
    params: { Bucket: source.name, Key: large, Body: contentAt.b1.get(large) },
    partSize: 5 * MiB,
  }).done();
  list1 = await takeBackup(source, 'restore-test-20260101t000000z-b001');

  // Between the backups one key changes (kept under .pachops/versions/) and a few are added.
  contentAt.b2 = new Map(contentAt.b1);
  victim = [...contentAt.b1.keys()][7]!;
  contentAt.b2.set(victim, randomBytes(contentAt.b1.get(victim)!.length + 99));
  for (let i = 0; i < 5; i++) contentAt.b2.set(chunkKey(), randomBytes(3000));
  await putAll(
    rgw,
    source.name,
    new Map([...contentAt.b2].filter(([key]) => !contentAt.b1.has(key) || key === victim)),
  );
  list2 = await takeBackup(source, 'restore-test-20260101t000000z-b002');
  expect(list2.filter((e) => e.stored).map((e) => e.key)).toEqual([victim]);
});

afterAll(async () => {
  for (const bucket of opened) bucket.client.destroy();
  rgw?.client.destroy();
  s3rver?.client.destroy();
  await s3rverServer?.stop();
});

describe('inspectBucket and ensureBucket', () => {
  test.each([
    ['RGW', () => rgw],
    ['s3rver', () => s3rver],
  ])('%s: missing → created (once) → empty → not empty, whatever the key', async (_name, server) => {
    const bucket = open(server(), uniqueName('restore-inspect'));
    expect(await inspectBucket(bucket)).toEqual({ exists: false, empty: true });
    expect(await ensureBucket(bucket)).toEqual({ created: true });
    expect(await ensureBucket(bucket)).toEqual({ created: false });
    expect(await inspectBucket(bucket)).toEqual({ exists: true, empty: true });
    await put(server(), bucket.name, `${RESERVED_PREFIX}backups/x/manifest.json`, Buffer.from('{}'));
    expect(await inspectBucket(bucket)).toEqual({
      exists: true,
      empty: false,
      sample: [`${RESERVED_PREFIX}backups/x/manifest.json`],
    });
  });

  test('outside us-east-1 the bucket is created with its region as location constraint', async () => {
    const bucket = open(s3rver, uniqueName('restore-region'), 'eu-west-2');
    const inputs: unknown[] = [];
    bucket.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'CreateBucketCommand') inputs.push(args.input);
        return next(args);
      },
      { step: 'initialize' },
    );
    await ensureBucket(bucket);
    expect(inputs).toEqual([
      { Bucket: bucket.name, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } },
    ]);
  });
});

describe('into a new bucket on the same RGW (server-side copies)', () => {
  let target: Bucket;

  test('copies exactly the listed objects; the changed key gets the version its backup listed', async () => {
    target = await newBucket(rgw, 'restore-dst');
    const commands = countCommands(target);
    const progress: RestoreObjectsProgress[] = [];
    const result = await copyListedObjects({
      list: readObjectList(backup, objectListKey('restore-test-20260101t000000z-b002')),
      from: backup,
      to: target,
      concurrency: 16,
      onProgress: (p) => progress.push(p),
    });
    const bytes = [...contentAt.b2.values()].reduce((sum, b) => sum + b.length, 0);
    expect(result).toMatchObject({
      serverSide: true,
      listed: 156,
      listedBytes: bytes,
      copied: 156,
      copiedBytes: bytes,
      skipped: 0,
    });
    await expectRestored(rgw, target.name, contentAt.b2);
    expect(await sha256Of(rgw, target.name, victim)).toBe(sha256(contentAt.b2.get(victim)!));
    // presence is known from one listing of the target, not from one HEAD per key
    expect(commands.get('CopyObjectCommand')).toBe(156);
    expect(commands.get('HeadObjectCommand')).toBeUndefined();
    expect(commands.get('ListObjectsV2Command')).toBe(1);
    expect(progress.at(-1)).toMatchObject({ copied: 156, listed: 156 });
    expect(progress.map((p) => p.copied)).toEqual([...progress.map((p) => p.copied)].sort((a, b) => a - b));
  });

  test('a rerun copies nothing', async () => {
    const commands = countCommands(target);
    const result = await copyListedObjects({
      list: iterate(list2),
      from: backup,
      to: target,
      concurrency: 16,
    });
    expect(result).toMatchObject({ listed: 156, copied: 0, copiedBytes: 0, skipped: 156 });
    expect(commands.get('CopyObjectCommand')).toBeUndefined();
  });

  test('the older backup restores the changed key’s older content', async () => {
    const older = await newBucket(rgw, 'restore-dst-b1');
    const result = await copyListedObjects({ list: iterate(list1), from: backup, to: older, concurrency: 8 });
    expect(result).toMatchObject({ listed: 151, copied: 151, skipped: 0 });
    await expectRestored(rgw, older.name, contentAt.b1);
  });

  test('after an interrupted run only what is missing, or has another size, is copied', async () => {
    const partial = await newBucket(rgw, 'restore-dst-partial');
    const already = list2.slice(20, 30);
    for (const entry of already) await put(rgw, partial.name, entry.key, contentAt.b2.get(entry.key)!);
    const torn = list2[40]!; // a copy cut short
    await put(rgw, partial.name, torn.key, contentAt.b2.get(torn.key)!.subarray(0, 1));
    const result = await copyListedObjects({
      list: iterate(list2),
      from: backup,
      to: partial,
      concurrency: 8,
    });
    expect(result).toMatchObject({ listed: 156, copied: 146, skipped: 10 });
    await expectRestored(rgw, partial.name, contentAt.b2);
  });
});

test('a key other than a chunk that the target holds with the same size but other content is restored, not skipped', async () => {
  const from = await newBucket(rgw, 'restore-nc-from');
  const to = await newBucket(rgw, 'restore-nc-to');
  const backedUp = new Map([
    ['data/settings.json', randomBytes(300)],
    ['data/unchanged', randomBytes(200)],
  ]);
  await putAll(rgw, from.name, backedUp);
  // restoring in place: one key was rewritten since, at the same size; the other is as backed up
  await put(rgw, to.name, 'data/settings.json', randomBytes(300));
  await put(rgw, to.name, 'data/unchanged', backedUp.get('data/unchanged')!);
  const entries: ObjectListEntry[] = [];
  for await (const entry of listObjects(from)) entries.push(entry);

  const result = await copyListedObjects({ list: iterate(entries), from, to, concurrency: 4 });

  expect(result).toMatchObject({ listed: 2, copied: 1, skipped: 1 });
  await expectRestored(rgw, to.name, backedUp);
});

test('a key other than a chunk copied in parts is found by its recorded source ETag on a rerun; one without it is copied again', async () => {
  const from = await newBucket(rgw, 'restore-mp-from');
  const to = await newBucket(rgw, 'restore-mp-to');
  const backedUp = new Map([['data/model.bin', randomBytes(12 * MiB)]]);
  await putAll(rgw, from.name, backedUp);
  const entries: ObjectListEntry[] = [];
  for await (const entry of listObjects(from)) entries.push(entry);
  const tuning = { multipartThreshold: 5 * MiB, partSize: 5 * MiB };
  const restore = () => copyListedObjects({ list: iterate(entries), from, to, concurrency: 4, tuning });

  expect(await restore()).toMatchObject({ copied: 1, skipped: 0 });
  // the copy's ETag (…-3) cannot be compared with the backup's single-part one: the recorded one decides
  const restored = (await listObjects(to).next()).value!;
  expect(restored.etag).toMatch(/-3$/);
  expect(await restore()).toMatchObject({ copied: 0, skipped: 1 });
  await expectRestored(rgw, to.name, backedUp);

  // the same size in parts, written by something else (no recorded ETag): copied again, not trusted
  await new Upload({
    client: rgw.client,
    params: { Bucket: to.name, Key: 'data/model.bin', Body: randomBytes(12 * MiB) },
    partSize: 5 * MiB,
  }).done();
  expect(await restore()).toMatchObject({ copied: 1, skipped: 0 });
  await expectRestored(rgw, to.name, backedUp);
});

test('into s3rver (another endpoint): streamed, same content, a rerun copies nothing', async () => {
  const target = await newBucket(s3rver, 'restore-x');
  const result = await copyListedObjects({ list: iterate(list2), from: backup, to: target, concurrency: 8 });
  expect(result).toMatchObject({ serverSide: false, listed: 156, copied: 156, skipped: 0 });
  await expectRestored(s3rver, target.name, contentAt.b2);
  const again = await copyListedObjects({ list: iterate(list2), from: backup, to: target, concurrency: 8 });
  expect(again).toMatchObject({ copied: 0, skipped: 156 });
});

describe('a backup that cannot be restored whole fails clearly and permanently', () => {
  const withEntry = (entry: ObjectListEntry) => [...list2, entry].sort((a, b) => compareKeys(a.key, b.key));

  test.each([
    ['server-side', () => rgw],
    ['streamed', () => s3rver],
  ])('%s: a listed object missing from the backup bucket is named', async (_how, server) => {
    const missing = { key: 'chunk/0000-not-in-the-backup.0000000000000001', size: 10, etag: 'x' };
    const error = await fail(
      copyListedObjects({
        list: iterate(withEntry(missing)),
        from: backup,
        to: await newBucket(server(), 'restore-missing'),
        concurrency: 8,
      }),
    );
    expect(error.code).toBe('BACKUP_OBJECT_MISSING');
    expect(error.permanent).toBe(true);
    expect(error.message).toContain(`the backup is missing ${missing.key}`);
    expect(error.message).toContain('it cannot be restored whole');
  });

  test('a missing stored version names the key and where it was stored', async () => {
    const stored = changedObjectKey('chunk/ffff-changed.0000000000000001', 'deadbeef');
    const entry = { key: 'chunk/ffff-changed.0000000000000001', size: 10, etag: 'deadbeef', stored };
    const error = await fail(
      copyListedObjects({
        list: iterate(withEntry(entry)),
        from: backup,
        to: await newBucket(rgw, 'restore-missing-v'),
        concurrency: 4,
      }),
    );
    expect(error.code).toBe('BACKUP_OBJECT_MISSING');
    expect(error.message).toContain(entry.key);
    expect(error.message).toContain(stored);
  });

  test('a backup object whose size differs from its list entry (streamed)', async () => {
    const entry = { ...list2[3]!, size: list2[3]!.size + 1 };
    const list = list2.map((e) => (e.key === entry.key ? entry : e));
    const error = await fail(
      copyListedObjects({
        list: iterate(list),
        from: backup,
        to: await newBucket(s3rver, 'restore-size'),
        concurrency: 4,
      }),
    );
    expect(error.code).toBe('BACKUP_OBJECT_SIZE_MISMATCH');
    expect(error.permanent).toBe(true);
    expect(error.message).toContain(entry.key);
  });
});

test('a list out of key order, or a copy onto the backup bucket itself, is refused', async () => {
  const target = await newBucket(s3rver, 'restore-order');
  const unsorted = [list2[5]!, list2[4]!];
  const error = await fail(
    copyListedObjects({ list: iterate(unsorted), from: backup, to: target, concurrency: 2 }),
  );
  expect(error.code).toBe('OBJECT_LIST_UNSORTED');
  expect(error.permanent).toBe(true);
  const repeated = [list2[4]!, list2[4]!];
  const again = await fail(
    copyListedObjects({ list: iterate(repeated), from: backup, to: target, concurrency: 2 }),
  );
  expect(again.code).toBe('OBJECT_LIST_UNSORTED');

  const self = await fail(
    copyListedObjects({ list: iterate(list2), from: backup, to: backup, concurrency: 2 }),
  );
  expect(self.code).toBe('SAME_BUCKET');
  expect(self.permanent).toBe(true);
});

test('an abort stops the copies: ABORTED, and nothing is copied afterwards', async () => {
  const target = await newBucket(s3rver, 'restore-abort');
  const controller = new AbortController();
  let copiedAtAbort = -1;
  const error = await fail(
    copyListedObjects({
      list: iterate(list2),
      from: backup,
      to: target,
      concurrency: 4,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.copied >= 10 && copiedAtAbort < 0) {
          copiedAtAbort = p.copied;
          setTimeout(() => controller.abort(), 0);
        }
      },
    }),
  );
  expect(error.code).toBe('ABORTED');
  expect(error.permanent).toBe(true);
  // A PUT already sent when the abort came may still land on the server a moment later; after that,
  // nothing new may appear (no copy starts after the abort).
  await new Promise((resolve) => setTimeout(resolve, 300));
  const settled = (await listAll(s3rver, target.name)).size;
  expect(settled).toBeLessThan(156);
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect((await listAll(s3rver, target.name)).size).toBe(settled);
});
