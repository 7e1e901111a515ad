/**
 * Encrypted dumps through the real pg_dump/pg_restore (src/postgres/ with `encryptWith`/`decryptWith`):
 * the stored object is the encrypted format whose sha256 the result records, pg_restore reads it only
 * through the key, a restore brings back every row, and a damaged or truncated file fails before
 * pg_restore could commit anything (its transaction never ends): the target stays empty.
 */
import { createHash, randomBytes } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { HEADER_BYTES, SEGMENT_BYTES } from '../../src/crypto/dump-cipher.ts';
import { DumpKey } from '../../src/crypto/dump-key.ts';
import { PachopsError } from '../../src/errors.ts';
import { checkDump } from '../../src/postgres/check-dump.ts';
import type { PostgresTarget } from '../../src/postgres/connection.ts';
import { type DumpResult, dumpDatabase } from '../../src/postgres/dump.ts';
import { countRows, createDatabase, inspectDatabase, restoreDatabase } from '../../src/postgres/restore.ts';
import { type Bucket, openBucket } from '../../src/storage/s3.ts';
import { runSql } from '../harness/pg-admin.ts';
import { makeS3Client } from '../harness/s3-client.ts';
import { type S3rverServer, startS3rver } from '../harness/s3rver.ts';
import { stackEnv, uniqueName } from '../harness/stack-env.ts';
import { addIncompressibleRows, roleTarget } from './fixtures.ts';

const env = stackEnv();
const key = new DumpKey(randomBytes(32), 'PACHOPS_DUMP_KEY');
const password = randomBytes(12).toString('hex');
const role = uniqueName('pach-crypt');
const source = uniqueName('pachyderm');
const created: string[] = [source];
let s3rver: S3rverServer;
let s3: S3Client;
let backup: Bucket;
let target: PostgresTarget;
let dumped: DumpResult;

const url = (database: string) =>
  `postgres://${role}:${password}@${env.postgres.host}:${env.postgres.port}/${database}`;

beforeAll(async () => {
  s3rver = await startS3rver();
  s3 = makeS3Client(s3rver);
  const bucket = uniqueName('pach-backup');
  await s3rver.createBucket(bucket);
  backup = openBucket({
    bucket,
    endpoint: s3rver.endpoint,
    region: s3rver.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3rver.accessKeyId, secretAccessKey: s3rver.secretAccessKey },
  });
  await env.postgres.createRole(role, password);
  await runSql(env.postgres.url(), `ALTER ROLE ${pg.escapeIdentifier(role)} CREATEDB`);
  await env.postgres.createDatabase(source, role);
  // incompressible rows, so that the dump spans many 64 KiB segments
  await addIncompressibleRows(url(source), 3);
  await runSql(
    url(source),
    'CREATE TABLE public.events AS SELECT n AS id FROM generate_series(1, 5000) AS n',
  );
  target = roleTarget(role, password, [source]);
  dumped = await dumpDatabase({
    target,
    database: source,
    pgBin: '',
    bucket: backup,
    key: 'db/source.dump',
    encryptWith: key,
  });
});

afterAll(async () => {
  for (const name of created) await env.postgres.dropDatabase(name).catch(() => undefined);
  backup?.client.destroy();
  s3?.destroy();
  await s3rver?.stop();
});

async function download(objectKey: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: backup.name, Key: objectKey }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

async function upload(objectKey: string, body: Buffer): Promise<string> {
  await s3.send(new PutObjectCommand({ Bucket: backup.name, Key: objectKey, Body: body }));
  return objectKey;
}

async function newDatabase(): Promise<string> {
  const name = uniqueName('pachyderm_crypt');
  created.push(name);
  await createDatabase(target, name);
  return name;
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as PachopsError,
  );

test('the stored dump is the encrypted format; its sha256 and size are those of the stored bytes', async () => {
  const stored = await download(dumped.key);
  expect(stored.subarray(0, 8).toString('latin1')).toBe('PCHOPSDE');
  expect(stored.includes(Buffer.from('PGDMP'))).toBe(false);
  expect(stored.length).toBeGreaterThan(HEADER_BYTES + 40 * SEGMENT_BYTES);
  expect({ bytes: dumped.bytes, sha256: dumped.sha256 }).toEqual({
    bytes: stored.length,
    sha256: createHash('sha256').update(stored).digest('hex'),
  });
  expect(dumped.encryption).toEqual({ algorithm: 'aes-256-gcm-stream-64k', keyFingerprint: key.fingerprint });
});

test('pg_restore --list reads it through the key only', async () => {
  const check = await checkDump(backup, dumped.key, '', key);
  expect(check).toMatchObject({ bytes: dumped.bytes, sha256: dumped.sha256 });
  expect(check.tocEntries).toBeGreaterThan(2);
  expect((await failure(checkDump(backup, dumped.key, ''))).code).toBe('DUMP_UNREADABLE');
  const other = new DumpKey(randomBytes(32), 'PACHOPS_DUMP_KEY');
  expect((await failure(checkDump(backup, dumped.key, '', other))).code).toBe('DUMP_KEY_MISMATCH');
});

test('a restore decrypts it and brings back every row', async () => {
  const name = await newDatabase();
  await restoreDatabase({
    target,
    database: name,
    bucket: backup,
    key: dumped.key,
    pgBin: '',
    expected: { sha256: dumped.sha256, bytes: dumped.bytes },
    decryptWith: key,
  });
  expect(await countRows(target, name)).toEqual(await countRows(target, source));
});

describe('a damaged encrypted dump restores nothing', () => {
  test.each([
    [
      'a flipped bit in a middle segment',
      (b: Buffer) => flip(b, HEADER_BYTES + 20 * (SEGMENT_BYTES + 16) + 99),
    ],
    ['cut at a segment boundary', (b: Buffer) => b.subarray(0, HEADER_BYTES + 30 * (SEGMENT_BYTES + 16))],
    ['its last byte dropped', (b: Buffer) => b.subarray(0, b.length - 1)],
  ])('%s: DUMP_DECRYPT_FAILED, the database left empty', async (name, damage) => {
    const objectKey = await upload(
      `db/damaged-${name.replace(/\W+/g, '-')}.dump`,
      damage(await download(dumped.key)),
    );
    const database = await newDatabase();
    const error = await failure(
      restoreDatabase({ target, database, bucket: backup, key: objectKey, pgBin: '', decryptWith: key }),
    );
    expect(error).toBeInstanceOf(PachopsError);
    expect(error.code).toBe('DUMP_DECRYPT_FAILED');
    expect(error.message).toContain(objectKey);
    expect(await inspectDatabase(target, database)).toMatchObject({ tables: 0 });
  });
});

function flip(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at]! ^= 0x04;
  return copy;
}
