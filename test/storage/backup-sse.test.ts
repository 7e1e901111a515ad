/**
 * Server-side encryption of everything pachops writes to the backup bucket (`backup.sse`, `kmsKeyId`):
 * on RGW with SSE-KMS (the "testing" key store of test/harness/rgw/start-rgw.sh) every object the mirror,
 * a dump upload and the manifest write is encrypted with the configured key, a second mirror copies
 * nothing, a changed object is still seen, and a restore copies the encrypted objects back. RGW 16 does
 * not implement SSE-S3, so AES256 is checked on the wire: the fault proxy records the headers that reach
 * s3rver. (write-params.test.ts: no writer in src/ or jobs/ may leave the bucket's write parameters out.)
 */
import { Readable } from 'node:stream';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { verifyBackup } from '../../jobs/phases/backup/verify.ts';
import { changedObjectKey, dumpKey, objectListKey } from '../../src/storage/layout.ts';
import { readManifest, writeManifest } from '../../src/storage/manifest.ts';
import { copyObject, createCopyContext } from '../../src/storage/mirror/copy-object.ts';
import { type MirrorOptions, mirrorBucket } from '../../src/storage/mirror/mirror-bucket.ts';
import { readObjectList } from '../../src/storage/object-list.ts';
import { copyListedObjects } from '../../src/storage/restore-objects.ts';
import { type Bucket, openBucket, type WriteParams } from '../../src/storage/s3.ts';
import { uploadStream } from '../../src/storage/upload.ts';
import { type FaultProxy, type S3Request, startFaultProxy } from '../harness/fault-proxy.ts';
import {
  chunkKey,
  createBucketOn,
  listAll,
  MiB,
  openOn,
  putAll,
  putMultipart,
  type Server,
  sha256,
  sha256Of,
  smallObjects,
  useFaultProxy,
  useStorageServers,
  type Written,
} from './s3-fixtures.ts';

const servers = useStorageServers();
const faultProxy = useFaultProxy(servers.s3rver);
let proxy: FaultProxy;

beforeAll(() => {
  proxy = faultProxy();
});

/** A bucket on `server` as the config's backup location with `sse` opens it. */
async function backupBucketOn(server: Server, sse: WriteParams, endpoint?: string): Promise<Bucket> {
  const plain = openOn(server, await createBucketOn(server, 'sse-backup'), endpoint);
  plain.client.destroy();
  const bucket = openBucket({ ...plain.target, sse: sse.ServerSideEncryption, kmsKeyId: sse.SSEKMSKeyId });
  servers.track(bucket);
  return bucket;
}

async function plainBucketOn(server: Server, prefix: string): Promise<Bucket> {
  const bucket = openOn(server, await createBucketOn(server, prefix));
  servers.track(bucket);
  return bucket;
}

const tuning = { multipartThreshold: 5 * MiB, partSize: 5 * MiB };
const mirror = (source: Bucket, target: Bucket, extra: Partial<MirrorOptions> = {}) =>
  mirrorBucket({ source, target, changedKeyFor: changedObjectKey, concurrency: 8, ...tuning, ...extra });

/** What a backup writes besides the mirror: a dump (a streamed multipart upload) and the manifest. */
async function writeBackupFiles(bucket: Bucket, backupId: string, count = 0): Promise<void> {
  await uploadStream(bucket, dumpKey(backupId, 'pachyderm'), Readable.from([Buffer.alloc(6 * MiB, 1)]), {
    partSize: 5 * MiB,
  });
  const now = new Date().toISOString();
  await writeManifest(bucket, {
    formatVersion: 1,
    backupId,
    cluster: 'prod',
    requestedBy: 'U0ALICE',
    createdAt: now,
    completedAt: now,
    pachd: { version: '2.11.6', image: 'pachyderm/pachd:2.11.6' },
    helm: null,
    databases: [],
    objects: { listKey: objectListKey(backupId), count, bytes: 0, copied: 0, copiedBytes: 0, changed: 0 },
    source: { bucket: 'pach-data' },
    pause: { mode: 'scale', startedAt: now },
  });
}

describe('SSE-KMS on RGW', () => {
  const kms: WriteParams = { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'testkey-1' };
  const objects: Written[] = [
    ...smallObjects(12).map((o) => ({ ...o, key: chunkKey() })),
    { key: 'data/meta.json', body: Buffer.from('{"a":1}'.repeat(300)) },
    { key: 'data/empty', body: Buffer.alloc(0) },
    { key: 'data/above-threshold', body: Buffer.alloc(6 * MiB + 3, 2) },
  ];
  const multipart = { key: 'data/multipart-source', body: Buffer.alloc(11 * MiB, 3) };

  test('every object written is encrypted with the key; a rerun copies nothing; a change is seen; a restore copies them back', async () => {
    const source = await plainBucketOn(servers.rgw(), 'sse-src');
    const backup = await backupBucketOn(servers.rgw(), kms);
    await putAll(servers.rgw(), source.name, objects);
    await putMultipart(servers.rgw(), source.name, multipart.key, multipart.body);
    const warnings: string[] = [];
    const log = { warn: (_: object, m: string) => void warnings.push(m), info: () => undefined };

    const first = await mirror(source, backup, {
      objectListKey: objectListKey('prod-1'),
      log: log as unknown as MirrorOptions['log'],
    });
    await writeBackupFiles(backup, 'prod-1', objects.length + 1);

    expect(first).toMatchObject({ copied: objects.length + 1, vanished: 0 });
    // RGW 16 stores a CopyObject without the SSE asked of it: said once, then copies went in parts
    expect(warnings.filter((w) => /without the server-side encryption/.test(w))).toHaveLength(1);
    const written = await listAll(servers.rgw(), backup.name);
    expect(written.size).toBe(objects.length + 1 + 3); // + object list, dump, manifest
    for (const key of written.keys()) {
      const head = await backup.client.send(new HeadObjectCommand({ Bucket: backup.name, Key: key }));
      expect({ key, sse: head.ServerSideEncryption, keyId: head.SSEKMSKeyId }).toEqual({
        key,
        sse: 'aws:kms',
        keyId: 'testkey-1',
      });
    }
    for (const o of [...objects, multipart])
      expect(await sha256Of(servers.rgw(), backup.name, o.key)).toBe(sha256(o.body));
    expect((await readManifest(backup, 'prod-1'))?.backupId).toBe('prod-1');
    const verified = await verifyBackup({
      bucket: backup,
      backupId: 'prod-1',
      pgBin: '',
      progress: () => undefined,
    });
    expect(verified.problems).toEqual([]);
    expect(verified.lines).toContain('manifest and dumps stored with server-side encryption aws:kms');

    expect(await mirror(source, backup)).toMatchObject({ copied: 0, changed: 0, unverified: 0 });
    await putAll(servers.rgw(), source.name, [
      { key: 'data/meta.json', body: Buffer.from('{"b":2}'.repeat(300)) },
    ]);
    expect(await mirror(source, backup)).toMatchObject({ copied: 1, changed: 1, unverified: 0 });

    const restored = await plainBucketOn(servers.rgw(), 'sse-restored');
    const result = await copyListedObjects({
      list: readObjectList(backup, objectListKey('prod-1')),
      from: backup,
      to: restored,
      concurrency: 8,
      tuning,
    });
    expect(result.copied).toBe(objects.length + 1);
    for (const o of [...objects, multipart])
      expect(await sha256Of(servers.rgw(), restored.name, o.key)).toBe(sha256(o.body));
    // the restore target follows its own bucket's default: nothing asked it to encrypt
    const head = await restored.client.send(
      new HeadObjectCommand({ Bucket: restored.name, Key: 'data/meta.json' }),
    );
    expect(head.ServerSideEncryption).toBeUndefined();
  });
});

test('verify says so when the server ignores the SSE asked of it (RGW 16 and AES256)', async () => {
  const source = await plainBucketOn(servers.rgw(), 'aes-rgw-src');
  const backup = await backupBucketOn(servers.rgw(), { ServerSideEncryption: 'AES256' });
  await putAll(servers.rgw(), source.name, smallObjects(2));
  await mirror(source, backup, { objectListKey: objectListKey('prod-3') });
  await writeBackupFiles(backup, 'prod-3', 2);

  const verified = await verifyBackup({
    bucket: backup,
    backupId: 'prod-3',
    pgBin: '',
    progress: () => undefined,
  });

  expect(verified.problems).toEqual([
    expect.stringMatching(/did not apply sse AES256 to \.pachops\/backups\/prod-3\/manifest\.json \(none\)/),
  ]);
});

test('a CopyObject stored without the SSE asked for is deleted when copying it in parts fails', async () => {
  const rgwProxy = await startFaultProxy(servers.rgw().target.endpoint, {
    notImplemented: { match: (request) => request.operation === 'CreateMultipartUpload' },
  });
  try {
    const source = openOn(servers.rgw(), await createBucketOn(servers.rgw(), 'unenc-src'), rgwProxy.endpoint);
    servers.track(source);
    const backup = await backupBucketOn(
      servers.rgw(),
      { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'testkey-1' },
      rgwProxy.endpoint,
    );
    await putAll(servers.rgw(), source.name, [{ key: 'chunk/a', body: Buffer.from('plain bytes') }]);
    const copy = {
      source,
      sourceKey: 'chunk/a',
      target: backup,
      targetKey: 'chunk/a',
      size: 11,
      serverSide: true,
    };

    await expect(copyObject(copy, createCopyContext({}))).rejects.toMatchObject({ code: 'S3_FAILED' });

    expect(rgwProxy.stats.operations).toMatchObject({
      CopyObject: 1,
      CreateMultipartUpload: 1,
      DeleteObject: 1,
    });
    expect((await listAll(servers.rgw(), backup.name)).size).toBe(0);
  } finally {
    await rgwProxy.stop();
  }
});

test('AES256 is on every write that reaches the server (s3rver behind the recording proxy)', async () => {
  const seen: S3Request[] = [];
  proxy.setFaults({
    notImplemented: {
      match: (request) => {
        seen.push(request);
        return false;
      },
    },
  });
  // both through the proxy: one endpoint, so the mirror copies server-side (CopyObject) first
  const source = openOn(servers.s3rver(), await createBucketOn(servers.s3rver(), 'aes-src'), proxy.endpoint);
  servers.track(source);
  const backup = await backupBucketOn(servers.s3rver(), { ServerSideEncryption: 'AES256' }, proxy.endpoint);
  await putAll(servers.s3rver(), source.name, [
    ...smallObjects(5),
    { key: 'data/large', body: Buffer.alloc(65 * MiB, 4) },
  ]);

  await mirror(source, backup, { objectListKey: objectListKey('prod-2') });
  await writeBackupFiles(backup, 'prod-2');

  const writes = seen.filter((r) =>
    ['PutObject', 'CopyObject', 'CreateMultipartUpload', 'UploadPart'].includes(r.operation),
  );
  const starts = writes.filter((r) => r.operation !== 'UploadPart');
  expect(new Set(starts.map((r) => r.operation))).toEqual(
    new Set(['PutObject', 'CopyObject', 'CreateMultipartUpload']),
  );
  for (const request of starts) {
    expect({
      op: request.operation,
      key: request.key,
      sse: request.headers['x-amz-server-side-encryption'],
    }).toEqual({
      op: request.operation,
      key: request.key,
      sse: 'AES256',
    });
  }
  expect(writes.every((r) => r.bucket === backup.name)).toBe(true);
  expect(await sha256Of(servers.s3rver(), backup.name, 'data/large')).toBe(sha256(Buffer.alloc(65 * MiB, 4)));
});
