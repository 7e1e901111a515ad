/** The harness's services are the real thing: Redis, PostgreSQL (scram, TLS), s3rver and Ceph RGW. */
import { readFileSync } from 'node:fs';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startPostgres } from './postgres.ts';
import { startRedis } from './redis.ts';
import { makeS3Client, type S3Target } from './s3-client.ts';
import {
  copyPartThenUpload,
  getBytes,
  listAllKeys,
  MiB,
  md5Hex,
  multipartEtag,
  putBytes,
  randomBody,
  uploadMultipart,
} from './s3-exercise.ts';
import { type S3rverServer, startS3rver } from './s3rver.ts';
import { stackEnv, uniqueName } from './stack-env.ts';

const env = stackEnv();

async function query(config: pg.ClientConfig, sql: string): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('redis', () => {
  test('the shared server answers PING', async () => {
    const redis = new Redis(env.redis.url, { lazyConnect: true });
    await redis.connect();
    expect(await redis.ping()).toBe('PONG');
    redis.disconnect();
  });

  test('a private server restarts on the same port after a crash, empty', async () => {
    const server = await startRedis();
    try {
      const redis = new Redis(server.url, { maxRetriesPerRequest: null, retryStrategy: () => 50 });
      await redis.set('k', 'v');
      const firstPid = server.pid();
      await server.restart({ signal: 'SIGKILL' });
      expect(server.pid()).not.toBe(firstPid);
      expect(await redis.get('k')).toBeNull();
      redis.disconnect();
    } finally {
      await server.stop();
    }
  });
});

describe('postgres', () => {
  const { postgres } = env;
  const tcp = { host: postgres.host, port: postgres.port, database: 'postgres' };

  test('TCP needs the password, checked with scram-sha-256', async () => {
    await expect(query({ ...tcp, user: 'postgres', password: 'wrong' }, 'SELECT 1')).rejects.toMatchObject({
      code: '28P01',
    });
    const rules = await query(
      { connectionString: postgres.url() },
      'SELECT type, auth_method FROM pg_hba_file_rules',
    );
    expect(rules).toContainEqual({ type: 'host', auth_method: 'scram-sha-256' });
    expect(rules.filter((rule) => rule.type === 'host').map((rule) => rule.auth_method)).not.toContain(
      'trust',
    );
  });

  test('TLS works like sslmode=require, and verify-full against the self-signed certificate', async () => {
    const sslInUse = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';
    const base = { ...tcp, user: postgres.user, password: postgres.password };
    expect(await query({ ...base, ssl: { rejectUnauthorized: false } }, sslInUse)).toEqual([{ ssl: true }]);
    const ca = readFileSync(postgres.sslRootCert!, 'utf8');
    expect(await query({ ...base, ssl: { ca } }, sslInUse)).toEqual([{ ssl: true }]);
    expect(await query(base, sslInUse)).toEqual([{ ssl: false }]);
  });

  test('createRole and createDatabase give a database its owner can use with a password', async () => {
    const role = uniqueName('role');
    const db = uniqueName('db');
    await postgres.createRole(role, 'role-pw');
    await postgres.createDatabase(db, role);
    const rows = await query(
      { ...tcp, database: db, user: role, password: 'role-pw' },
      'SELECT current_user AS me',
    );
    expect(rows).toEqual([{ me: role }]);
    await postgres.dropDatabase(db);
  });

  test('a private server without ssl refuses TLS', async () => {
    const server = await startPostgres();
    try {
      expect(server.sslRootCert).toBeNull();
      const config = { connectionString: server.url(), ssl: { rejectUnauthorized: false } };
      await expect(query(config, 'SELECT 1')).rejects.toThrow(/does not support SSL/);
    } finally {
      await server.stop();
    }
  });
});

/** Put/get, paginated listing and a lib-storage multipart upload; returns the multipart ETags. */
async function exerciseS3(client: S3Client, bucket: string) {
  const body = randomBody(12_345);
  expect(await putBytes(client, bucket, 'dir/small file+é.bin', body)).toBe(md5Hex(body));
  expect((await getBytes(client, bucket, 'dir/small file+é.bin')).equals(body)).toBe(true);
  await Promise.all([1, 2, 3, 4, 5].map((i) => putBytes(client, bucket, `many/k${i}`, Buffer.from(`${i}`))));
  const listed = await listAllKeys(client, bucket, 'many/', 2);
  expect(listed).toEqual({ keys: ['many/k1', 'many/k2', 'many/k3', 'many/k4', 'many/k5'], pages: 3 });
  await expect(client.send(new GetObjectCommand({ Bucket: bucket, Key: 'missing' }))).rejects.toMatchObject({
    name: 'NoSuchKey',
  });
  const big = randomBody(6 * MiB);
  const parts = [big.subarray(0, 5 * MiB), big.subarray(5 * MiB)];
  const upload = await uploadMultipart(client, bucket, 'big.bin', big, 5 * MiB);
  expect(upload.size).toBe(big.length);
  expect((await getBytes(client, bucket, 'big.bin')).equals(big)).toBe(true);
  return { ...upload, wholeMd5: md5Hex(big), awsEtag: multipartEtag(parts) };
}

describe('s3rver', () => {
  let server: S3rverServer;
  let client: S3Client;
  beforeAll(async () => {
    server = await startS3rver();
    client = makeS3Client(server);
  });
  afterAll(async () => {
    client.destroy();
    await server.stop();
  });

  test('put/get/list/multipart; a multipart ETag is the whole-object MD5 (quirk)', async () => {
    const bucket = uniqueName('s3rver');
    await server.createBucket(bucket);
    const upload = await exerciseS3(client, bucket);
    expect(upload.headEtag).toBe(upload.wholeMd5);
  });
});

const rgwTarget: S3Target | null = env.rgw;
const describeRgw = rgwTarget ? describe : describe.skip;

describeRgw('RGW', () => {
  let client: S3Client;
  beforeAll(() => {
    client = makeS3Client(rgwTarget!);
  });
  afterAll(() => client.destroy());

  test('put/get/list/multipart; a multipart ETag has the AWS md5-of-md5s-N form', async () => {
    const bucket = uniqueName('rgw');
    await env.rgw!.createBucket(bucket);
    const upload = await exerciseS3(client, bucket);
    expect(upload.headEtag).toBe(upload.awsEtag);
    expect(upload.headEtag).toMatch(/-2$/);
  });

  test('UploadPartCopy copies a part server-side', async () => {
    const bucket = uniqueName('rgw-copy');
    await env.rgw!.createBucket(bucket);
    const head = randomBody(5 * MiB);
    const tail = randomBody(1000);
    await putBytes(client, bucket, 'source.bin', head);
    const result = await copyPartThenUpload(client, bucket, 'source.bin', 'joined.bin', tail);
    expect(result.copyPartEtag.replaceAll('"', '')).toBe(md5Hex(head));
    expect(result.headEtag).toBe(multipartEtag([head, tail]));
    expect((await getBytes(client, bucket, 'joined.bin')).equals(Buffer.concat([head, tail]))).toBe(true);
  });
});
