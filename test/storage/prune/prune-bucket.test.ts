/**
 * pruneBucket and planPrune (src/storage/prune/) against the run's real Ceph RGW: a backup bucket laid out
 * by hand (manifests, sorted object lists, shared and changed keys, `.pachops/versions/`), listed in small
 * pages so that every merge-join crosses page boundaries.
 */
import { randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { RetentionSchema } from '../../../src/config/schema.ts';
import { PachopsError } from '../../../src/errors.ts';
import { changedObjectKey, manifestKey, objectListKey } from '../../../src/storage/layout.ts';
import { compareKeys } from '../../../src/storage/listing.ts';
import { type Manifest, writeManifest } from '../../../src/storage/manifest.ts';
import { type ObjectListEntry, writeObjectList } from '../../../src/storage/object-list.ts';
import { planPrune } from '../../../src/storage/prune/plan.ts';
import { pruneBucket } from '../../../src/storage/prune/prune-bucket.ts';
import type { Bucket } from '../../../src/storage/s3.ts';
import { stackEnv } from '../../harness/stack-env.ts';
import { createBucketOn, listAll, openOn, type Server, serverOf } from '../s3-fixtures.ts';

const env = stackEnv();
let rgw: Server;
const opened: Bucket[] = [];

beforeAll(() => {
  if (!env.rgw) throw new Error('these tests need the run’s RGW (PACHOPS_TEST_RGW is 0)');
  rgw = serverOf(env.rgw);
});
afterAll(() => {
  for (const bucket of opened) bucket.client.destroy();
  rgw?.client.destroy();
});

const id = (day: number) =>
  `prod-202611${String(day).padStart(2, '0')}t120000z-ab${String(day).padStart(2, '0')}`;
const keys = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}/${String(i).padStart(3, '0')}`);

function manifestOf(backupId: string, day: number, count: number): Manifest {
  const at = `2026-11-${String(day).padStart(2, '0')}T12:00:00.000Z`;
  return {
    formatVersion: 1,
    backupId,
    cluster: 'prod',
    requestedBy: 'U0ALICE',
    createdAt: at,
    completedAt: at,
    pachd: { version: '2.11.0', image: 'pachyderm/pachd:2.11.0' },
    helm: null,
    databases: [],
    objects: { listKey: objectListKey(backupId), count, bytes: count, copied: 0, copiedBytes: 0, changed: 0 },
    source: { bucket: 'pach-data' },
    pause: { mode: 'scale', startedAt: at },
  };
}

async function put(bucket: string, key: string) {
  await rgw.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: randomBytes(16) }));
}

/** A backup: its manifest (unless incomplete), its object list in key order, a dump file. */
async function addBackup(bucket: Bucket, day: number, entries: ObjectListEntry[], complete = true) {
  const backupId = id(day);
  const list = writeObjectList(bucket, objectListKey(backupId));
  for (const entry of [...entries].sort((a, b) => compareKeys(a.key, b.key))) await list.add(entry);
  await list.finish();
  await put(bucket.name, `.pachops/backups/${backupId}/db/pachyderm.dump`);
  if (complete) await writeManifest(bucket, manifestOf(backupId, day, entries.length));
  return backupId;
}

const root = (key: string): ObjectListEntry => ({ key, size: 16, etag: 'e' });
const stored = (key: string, etag: string): ObjectListEntry => ({
  key,
  size: 16,
  etag,
  stored: changedObjectKey(key, etag),
});

/**
 * Days 10 and 12 are pruned (keepLast 2), 14 and 16 kept; an incomplete folder from day 11 goes, one
 * from day 18 (newer than the newest complete backup) stays. `changed` was rewritten twice: day 10 lists
 * the root copy, day 12 a version that only it lists, day 14 the version it keeps.
 */
async function layOut(name: string) {
  const bucket = openOn(rgw, name);
  opened.push(bucket);
  const shared = keys('chunk/shared', 20);
  const onlyPruned = keys('chunk/old', 15);
  const onlyKept = keys('chunk/new', 10);
  const orphans = keys('chunk/orphan', 6);
  for (const key of [...shared, ...onlyPruned, ...onlyKept, ...orphans, 'changed', 'zz-after-pachops'])
    await put(name, key);
  for (const etag of ['v12', 'v14']) await put(name, changedObjectKey('changed', etag));
  await put(name, '.pachops/notes/keep-me.txt');
  const pruned = [
    await addBackup(bucket, 10, [...shared, ...onlyPruned.slice(0, 8), 'changed'].map(root)),
    await addBackup(bucket, 12, [...[...shared, ...onlyPruned.slice(8)].map(root), stored('changed', 'v12')]),
  ];
  const kept = [
    await addBackup(bucket, 14, [
      ...[...shared, ...onlyKept.slice(0, 5)].map(root),
      stored('changed', 'v14'),
    ]),
    await addBackup(bucket, 16, [...shared, ...onlyKept, 'zz-after-pachops', 'chunk/lost'].map(root)),
  ];
  const incomplete = [
    await addBackup(bucket, 11, orphans.map(root), false),
    await addBackup(bucket, 18, [], false),
  ];
  return { bucket, shared, onlyPruned, onlyKept, orphans, pruned, kept, incomplete };
}

test('a prune deletes the pruned backups and exactly the objects no kept backup lists, across listing pages', async () => {
  const name = await createBucketOn(rgw, 'prune');
  const laid = await layOut(name);
  const before = await listAll(rgw, name);
  const plan = await planPrune({
    bucket: laid.bucket,
    cluster: 'prod',
    retention: RetentionSchema.parse({ keepLast: 2 }),
  });
  expect(plan.keep.map((k) => [k.id, k.keptBy])).toEqual([
    [laid.kept[1], ['last 1']],
    [laid.kept[0], ['last 2']],
  ]);
  expect(plan.prune.map((p) => p.id)).toEqual([laid.pruned[1], laid.pruned[0]]);
  expect(plan.incomplete).toEqual([
    { id: laid.incomplete[0], delete: true },
    { id: laid.incomplete[1], delete: false },
  ]);

  const dry = await pruneBucket({ bucket: laid.bucket, plan, dryRun: true, pageSize: 7 });
  const garbage = [...laid.onlyPruned, ...laid.orphans, 'changed', changedObjectKey('changed', 'v12')];
  expect(dry.garbage).toMatchObject({ objects: garbage.length, bytes: garbage.length * 16, missing: 1 });
  expect(dry.garbage.missingSample).toEqual(['chunk/lost']);
  expect(dry.deleted.deleted).toBe(0);
  expect([...(await listAll(rgw, name)).keys()]).toEqual([...before.keys()]);

  const progress: number[] = [];
  const real = await pruneBucket({
    bucket: laid.bucket,
    plan,
    dryRun: false,
    pageSize: 7,
    onProgress: (p) => progress.push(p.deleted.deleted),
  });
  const folders = [...laid.pruned, laid.incomplete[0]!];
  const folderKeys = [...before.keys()].filter((k) =>
    folders.some((f) => k.startsWith(`.pachops/backups/${f}/`)),
  );
  expect(folderKeys).toHaveLength(3 * 2 + 2);
  // The two manifests go first, in a request of their own; then the rest of the folders and the garbage.
  expect(real).toMatchObject({ manifests: 2, backupFiles: folderKeys.length - 2 });
  expect(real.garbage.objects).toBe(garbage.length);
  expect(real.deleted).toMatchObject({ deleted: garbage.length + folderKeys.length - 2, failed: 0 });
  expect(progress.at(-1)).toBe(real.deleted.deleted);
  const expected = [...before.keys()].filter((k) => !garbage.includes(k) && !folderKeys.includes(k));
  expect([...(await listAll(rgw, name)).keys()]).toEqual(expected);
  expect(expected).toEqual(
    expect.arrayContaining([
      '.pachops/notes/keep-me.txt',
      manifestKey(laid.kept[0]!),
      `.pachops/backups/${laid.incomplete[1]}/db/pachyderm.dump`,
      changedObjectKey('changed', 'v14'),
      'zz-after-pachops',
      ...laid.shared,
      ...laid.onlyKept,
    ]),
  );

  // Run again (a retry after a crash): nothing left to delete, nothing else touched.
  const again = await pruneBucket({ bucket: laid.bucket, plan, dryRun: false, pageSize: 7 });
  expect(again.deleted.deleted).toBe(0);
  expect([...(await listAll(rgw, name)).keys()]).toEqual(expected);
});

test('a prune stopped half-way (abort) is finished by running the same plan again', async () => {
  const name = await createBucketOn(rgw, 'prune-abort');
  const laid = await layOut(name);
  const plan = await planPrune({
    bucket: laid.bucket,
    cluster: 'prod',
    retention: RetentionSchema.parse({ keepLast: 2 }),
  });
  const controller = new AbortController();
  const stopped = await pruneBucket({
    bucket: laid.bucket,
    plan,
    dryRun: false,
    pageSize: 7,
    batchSize: 3,
    concurrency: 1,
    signal: controller.signal,
    onProgress: (p) => {
      if (p.deleted.deleted >= 9) controller.abort();
    },
  }).catch((e) => e);
  expect(stopped).toMatchObject({ code: 'ABORTED' });
  const half = await listAll(rgw, name);
  // The manifests went first: the pruned backups are no longer listed, though some of their files remain.
  for (const pruned of laid.pruned) expect(half.has(manifestKey(pruned))).toBe(false);
  expect([...half.keys()].filter((k) => k.startsWith('chunk/old/')).length).toBeGreaterThan(0);
  const finished = await pruneBucket({ bucket: laid.bucket, plan, dryRun: false, pageSize: 7 });
  expect(finished.deleted.failed).toBe(0);
  const after = [...(await listAll(rgw, name)).keys()];
  expect(after.filter((k) => k.startsWith('chunk/old/') || k.startsWith('chunk/orphan/'))).toEqual([]);
  expect(after.filter((k) => laid.pruned.some((p) => k.includes(p)))).toEqual([]);
  expect(after).toEqual(
    expect.arrayContaining([...laid.shared, ...laid.onlyKept, manifestKey(laid.kept[1]!)]),
  );
});

test('a kept object list out of key order stops the prune before any mirror object is deleted', async () => {
  const name = await createBucketOn(rgw, 'prune-unsorted');
  const bucket = openOn(rgw, name);
  opened.push(bucket);
  for (const key of ['a', 'b', 'c', 'd']) await put(name, key);
  const backupId = id(20);
  const list = writeObjectList(bucket, objectListKey(backupId));
  for (const key of ['c', 'a']) await list.add(root(key));
  await list.finish();
  await writeManifest(bucket, manifestOf(backupId, 20, 2));
  const plan = await planPrune({ bucket, cluster: 'prod', retention: RetentionSchema.parse({}) });
  const failure = await pruneBucket({ bucket, plan, dryRun: false, pageSize: 2 }).catch((e) => e);
  expect(failure).toBeInstanceOf(PachopsError);
  expect(failure.code).toBe('PRUNE_LIST_UNSORTED');
  expect(failure.message).toMatch(/names a after c/);
  expect([...(await listAll(rgw, name)).keys()].filter((k) => !k.startsWith('.pachops/'))).toEqual([
    'a',
    'b',
    'c',
    'd',
  ]);
});

test('a bucket that also holds another cluster’s backups is refused', async () => {
  const name = await createBucketOn(rgw, 'prune-shared');
  const bucket = openOn(rgw, name);
  opened.push(bucket);
  await writeManifest(bucket, { ...manifestOf(id(21), 21, 0), cluster: 'staging' });
  await expect(planPrune({ bucket, cluster: 'prod', retention: RetentionSchema.parse({}) })).rejects.toThrow(
    /also holds backup .* of cluster staging/,
  );
});

test('a bucket with no complete backup is refused: the whole mirror would go', async () => {
  const name = await createBucketOn(rgw, 'prune-empty');
  const bucket = openOn(rgw, name);
  opened.push(bucket);
  await put(name, 'chunk/a');
  await addBackup(bucket, 22, [root('chunk/a')], false);
  await expect(planPrune({ bucket, cluster: 'prod', retention: RetentionSchema.parse({}) })).rejects.toThrow(
    /holds no complete backup of prod: with nothing to keep, a prune would delete the whole mirror/,
  );
});
