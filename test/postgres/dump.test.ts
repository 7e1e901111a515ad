/**
 * dumpDatabase (src/postgres/dump.ts), checkDump (check-dump.ts) and databaseSizes/chunkObjectKeys
 * (inspect.ts) against the run's real PostgreSQL (ssl on) and Ceph RGW, with real pg_dump/pg_restore.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { execa } from 'execa';
import pg from 'pg';
import type { S3Target as ConfigS3Target } from '../../src/config/load.ts';
import { PachopsError } from '../../src/errors.ts';
import { checkDump } from '../../src/postgres/check-dump.ts';
import type { PostgresTarget } from '../../src/postgres/connection.ts';
import { type DumpResult, dumpDatabase } from '../../src/postgres/dump.ts';
import { chunkObjectKeys, databaseSizes } from '../../src/postgres/inspect.ts';
import { dumpKey } from '../../src/storage/layout.ts';
import { type Bucket, openBucket } from '../../src/storage/s3.ts';
import { type SeedResult, seedPachyderm } from '../harness/pachyderm/simulator.ts';
import { runSql } from '../harness/pg-admin.ts';
import { makeS3Client } from '../harness/s3-client.ts';
import { stackEnv, uniqueName } from '../harness/stack-env.ts';

const env = stackEnv();
const MiB = 1024 * 1024;
/** Quotes, a space, a dollar and an at-sign: a password that would break any naive command line. */
const password = `p@ss w'o"rd$${randomBytes(9).toString('hex')}`;
const role = uniqueName('pach-owner');
const db = uniqueName('pachyderm');
const dexDb = uniqueName('dex');
const BLOBS = 24;

let s3: S3Client;
let backup: Bucket;
let seed: SeedResult;
let tmp: string;
let target: PostgresTarget;
/** A plain dump made before the tests, which they read back. */
let dumped: DumpResult;

/** postgres:// URL for our role (password percent-encoded). */
const roleUrl = (database: string) =>
  `postgres://${encodeURIComponent(role)}:${encodeURIComponent(password)}@${env.postgres.host}:${env.postgres.port}/${encodeURIComponent(database)}`;

beforeAll(async () => {
  if (!env.rgw) throw new Error('these tests need the run’s RGW (PACHOPS_TEST_RGW is 0)');
  if (!env.postgres.ssl) throw new Error('these tests need the run’s PostgreSQL with ssl on');
  s3 = makeS3Client(env.rgw);
  tmp = await mkdtemp(join(tmpdir(), 'pachops-dump-test-'));
  const dataBucket = uniqueName('pach-data');
  const backupBucket = uniqueName('pach-backup');
  await env.postgres.createRole(role, password);
  await Promise.all([
    env.postgres.createDatabase(db, role),
    env.postgres.createDatabase(dexDb, role),
    env.rgw.createBucket(dataBucket),
    env.rgw.createBucket(backupBucket),
  ]);
  const location: ConfigS3Target = {
    bucket: backupBucket,
    endpoint: env.rgw.endpoint,
    region: env.rgw.region,
    forcePathStyle: true,
    credentials: { accessKeyId: env.rgw.accessKeyId, secretAccessKey: env.rgw.secretAccessKey },
  };
  backup = openBucket(location);
  // Pachyderm's tables, filled by the simulator as the role (which owns the database)
  seed = await seedPachyderm({
    pachydermDbUrl: roleUrl(db),
    dexDbUrl: roleUrl(dexDb),
    s3: { client: s3, bucket: dataBucket },
    objects: 60,
    notUploaded: 4,
    tombstoned: 6,
  });
  // and enough incompressible data that the dump is a multipart upload (> 16 MiB)
  const client = new pg.Client({ connectionString: roleUrl(db) });
  await client.connect();
  try {
    await client.query('CREATE TABLE public.blobs (id int PRIMARY KEY, data bytea NOT NULL)');
    for (let id = 0; id < BLOBS; id++)
      await client.query('INSERT INTO public.blobs VALUES ($1, $2)', [id, randomBytes(MiB)]);
    await client.query(`CREATE TABLE public.events AS
      SELECT n AS id, 'event ' || n AS what, now() - n * interval '1 second' AS at
      FROM generate_series(1, 10000) AS n`);
  } finally {
    await client.end();
  }
  target = {
    host: env.postgres.host,
    port: env.postgres.port,
    user: role,
    password,
    sslmode: 'require',
    databases: [db, dexDb],
  };
  const key = dumpKey('dump-test-20260101t000000z-base', db);
  dumped = await dumpDatabase({ target, database: db, pgBin: '', bucket: backup, key });
});

afterAll(async () => {
  backup?.client.destroy();
  s3?.destroy();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function download(key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: backup.name, Key: key }));
  const chunks: Buffer[] = [];
  for await (const chunk of response.Body as Readable) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function keysInBucket(): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: backup.name }));
  return (page.Contents ?? []).map((o) => o.Key!);
}

async function pendingUploads(key: string): Promise<number> {
  const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: backup.name, Prefix: key }));
  return (page.Uploads ?? []).length;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A folder for tools.pgBin whose pg_dump is `script`. */
function pgBinWith(name: string, script: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'pg_dump'), script);
  chmodSync(join(dir, 'pg_dump'), 0o755);
  return dir;
}

/** Row counts of every user table of a database, as the superuser sees them. */
async function rowCounts(database: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: env.postgres.url(database) });
  await client.connect();
  try {
    const { rows } = await client.query<{ schemaname: string; relname: string }>(
      'SELECT schemaname, relname FROM pg_stat_user_tables ORDER BY 1, 2',
    );
    const counts: Record<string, number> = {};
    for (const { schemaname, relname } of rows) {
      const name = `${pg.escapeIdentifier(schemaname)}.${pg.escapeIdentifier(relname)}`;
      counts[`${schemaname}.${relname}`] = Number(
        (await client.query(`SELECT count(*) AS n FROM ${name}`)).rows[0].n,
      );
    }
    return counts;
  } finally {
    await client.end();
  }
}

/** The OS processes whose argv[0] is a pg_dump and whose environment dumps `database`. */
function pgDumpProcesses(database: string): { pid: string; argv: string[]; environ: string[] }[] {
  const found = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (!argv[0] || basename(argv[0]) !== 'pg_dump') continue;
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (environ.includes(`PGDATABASE=${database}`)) found.push({ pid, argv, environ });
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return found;
}

async function poll<T>(what: string, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

test('dumps over TLS into the bucket; sha256 and size are the stored object’s; no secret on a command line', async () => {
  const log = join(tmp, 'pg_dump-calls.log');
  const pgBin = pgBinWith(
    'recording',
    `#!/bin/sh
{ printf 'ARGS'; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\\nENV'
  env | cut -d= -f1 | sort | tr '\\n' ' '; printf '\\n'; } >> '${log}'
exec /usr/bin/pg_dump "$@"
`,
  );
  const key = dumpKey('dump-test-20260101t000000z-tls1', db);
  // Hold pg_dump at its table locks so that it can be seen running: its connection and its process.
  const locker = new pg.Client({ connectionString: env.postgres.url(db) });
  await locker.connect();
  let dumping: Promise<DumpResult> | undefined;
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE public.events IN ACCESS EXCLUSIVE MODE');
    dumping = dumpDatabase({ target, database: db, pgBin, bucket: backup, key });
    dumping.catch(() => undefined);
    const backend = await poll('pg_dump to wait for its lock', async () => {
      // not on the locker's connection: inside a transaction pg_stat_activity is a snapshot
      const { rows } = await runSql(
        env.postgres.url(),
        `SELECT a.pid, s.ssl, a.application_name FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
         WHERE a.datname = ${pg.escapeLiteral(db)} AND a.usename = ${pg.escapeLiteral(role)}
           AND a.wait_event_type = 'Lock'`,
      );
      return rows[0] as { pid: number; ssl: boolean; application_name: string } | undefined;
    });
    expect(backend.ssl).toBe(true);
    expect(backend.application_name).toBe('pachops');
    const processes = pgDumpProcesses(db);
    expect(processes).toHaveLength(1);
    const [proc] = processes;
    expect(proc!.argv.join(' ')).not.toContain(password);
    expect(proc!.argv.join(' ')).not.toMatch(/password=|postgres(ql)?:\/\//i);
    // the password travels in the environment, which only the same user (or root) can read
    expect(proc!.environ).toContain(`PGPASSWORD=${password}`);
    expect(proc!.environ).toContain('PGSSLMODE=require');
    await locker.query('COMMIT');
  } finally {
    await locker.end();
  }
  const result = await dumping!;

  const stored = await download(key);
  expect(stored.length).toBeGreaterThan(BLOBS * MiB); // random bytes do not compress
  expect(result).toMatchObject({ database: db, key, bytes: stored.length, sha256: sha256(stored) });
  const head = await s3.send(new HeadObjectCommand({ Bucket: backup.name, Key: key }));
  expect(head.ContentLength).toBe(result.bytes);
  expect(stored.subarray(0, 5).toString('latin1')).toBe('PGDMP');
  expect(result.serverVersion).toMatch(/^\d+\.\d+/);
  expect(result.pgDumpVersion).toMatch(/^\d+\.\d+/);
  expect(result.compression).toBe('1');

  const calls = readFileSync(log, 'utf8');
  expect(calls).toContain('ARGS [--version]');
  expect(calls).toContain('[--format=custom] [--compress=1]');
  expect(calls).not.toContain(password);
  expect(calls).toMatch(/ENV.* PGPASSWORD /);
});

test('checkDump reads the stored dump back: same sha256 and size, and counts its TOC entries', async () => {
  const check = await checkDump(backup, dumped.key, '');
  expect(check.sha256).toBe(dumped.sha256);
  expect(check.bytes).toBe(dumped.bytes);

  const file = join(tmp, 'check.dump');
  writeFileSync(file, await download(dumped.key));
  const listing = (await execa('pg_restore', ['--list', file])).stdout;
  const entries = listing.split('\n').filter((line) => /^\d+;/.test(line));
  expect(check.tocEntries).toBe(entries.length);
  // every table of ours is in it, with its data
  for (const table of ['blobs', 'events', 'chunk_objects', 'keys', 'commits', 'tracker_refs']) {
    expect(entries.some((line) => line.includes(` TABLE DATA `) && line.includes(` ${table} `))).toBe(true);
  }
});

test('pg_restore of the stored dump into a fresh database gives the same rows', async () => {
  const file = join(tmp, 'restore.dump');
  writeFileSync(file, await download(dumped.key));
  const restored = uniqueName('restored');
  await env.postgres.createDatabase(restored);
  try {
    await execa('pg_restore', ['--exit-on-error', '--dbname', restored, file], {
      env: {
        PGHOST: env.postgres.host,
        PGPORT: String(env.postgres.port),
        PGUSER: env.postgres.user,
        PGPASSWORD: env.postgres.password,
        PGSSLMODE: 'require',
      },
    });
    const original = await rowCounts(db);
    expect(Object.keys(original)).toEqual(
      expect.arrayContaining(['public.blobs', 'public.events', 'storage.chunk_objects', 'pfs.commits']),
    );
    expect(original['storage.chunk_objects']).toBe(seed.rows.length);
    expect(await rowCounts(restored)).toEqual(original);
    const digest = "SELECT md5(string_agg(md5(data), '' ORDER BY id)) AS d FROM public.blobs";
    expect((await runSql(env.postgres.url(restored), digest)).rows[0].d).toBe(
      (await runSql(env.postgres.url(db), digest)).rows[0].d,
    );
  } finally {
    await env.postgres.dropDatabase(restored);
  }
});

test('postgres.dumpCompression is pg_dump’s --compress: level 0 stores the text rows as they are', async () => {
  const dump = (dumpCompression: number, suffix: string) =>
    dumpDatabase({
      target: { ...target, dumpCompression },
      database: dexDb,
      pgBin: '',
      bucket: backup,
      key: dumpKey(`dump-test-20260101t000000z-${suffix}`, dexDb),
    });
  const [plain, packed] = await Promise.all([dump(0, 'z0'), dump(9, 'z9')]);
  expect([plain.compression, packed.compression]).toEqual(['0', '9']);
  expect(plain.bytes).toBeGreaterThan(packed.bytes);
  for (const result of [plain, packed])
    expect((await checkDump(backup, result.key, '')).sha256).toBe(result.sha256);
});

test('a wrong password fails clearly and permanently, without the password in the error', async () => {
  const wrong = `wrong-${randomBytes(8).toString('hex')}`;
  const key = dumpKey('dump-test-20260101t000000z-wpwd', db);
  const error = await dumpDatabase({
    target: { ...target, password: wrong },
    database: db,
    pgBin: '',
    bucket: backup,
    key,
  }).catch((e: unknown) => e);

  expect(error).toBeInstanceOf(PachopsError);
  const e = error as PachopsError;
  expect(e.permanent).toBe(true);
  expect(e.message).toMatch(/password authentication failed/);
  expect(e.message).toContain(role);
  for (const secret of [wrong, password]) {
    expect(`${e.message} ${e.hint ?? ''} ${e.stack ?? ''}`).not.toContain(secret);
    expect(String((e.cause as Error | undefined)?.message ?? '')).not.toContain(secret);
  }
  expect(await keysInBucket()).not.toContain(key);
});

describe('a dump that fails leaves nothing in the bucket', () => {
  test('a database that does not exist', async () => {
    const missing = uniqueName('no-such-db');
    const key = dumpKey('dump-test-20260101t000000z-nodb', missing);
    const error = await dumpDatabase({ target, database: missing, pgBin: '', bucket: backup, key }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PachopsError);
    expect((error as PachopsError).permanent).toBe(true);
    expect((error as PachopsError).message).toContain(missing);
    expect(await keysInBucket()).not.toContain(key);
    expect(await pendingUploads(key)).toBe(0);
  });

  test('pg_dump itself fails (a table the role may not read): its error is quoted, permanent', async () => {
    const locked = uniqueName('locked');
    const other = uniqueName('pachyderm-locked');
    await env.postgres.createDatabase(other, role);
    try {
      await runSql(env.postgres.url(other), `CREATE TABLE public.secrets AS SELECT 1 AS x`); // owned by postgres
      await runSql(env.postgres.url(other), `REVOKE ALL ON public.secrets FROM PUBLIC`);
      const key = dumpKey('dump-test-20260101t000000z-perm', locked);
      const error = await dumpDatabase({ target, database: other, pgBin: '', bucket: backup, key }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PachopsError);
      expect((error as PachopsError).code).toBe('PG_DUMP_FAILED');
      expect((error as PachopsError).permanent).toBe(true);
      expect((error as PachopsError).message).toMatch(/permission denied for table secrets/);
      expect((error as PachopsError).message).not.toContain(password);
      expect(await keysInBucket()).not.toContain(key);
      expect(await pendingUploads(key)).toBe(0);
    } finally {
      await env.postgres.dropDatabase(other);
    }
  });

  test("pg_dump's environment: its connection and the basics, none of pachops' own secrets", async () => {
    const seen = join(tmp, 'pg_dump.env');
    const pgBin = pgBinWith(
      'env',
      `#!/bin/sh
if [ "$1" = "--version" ]; then exec /usr/bin/pg_dump --version; fi
env > ${seen}
exec /usr/bin/pg_dump "$@"
`,
    );
    const planted = {
      SLACK_BOT_TOKEN: 'xoxb-planted-for-this-test',
      STAGING_PG_PASSWORD: 'planted-other-cluster-password',
      PGPASSWORD: 'planted-state-database-password',
    };
    Object.assign(process.env, planted);
    try {
      const key = dumpKey('dump-test-20260101t000000z-env', db);
      await dumpDatabase({ target, database: db, pgBin, bucket: backup, key });
    } finally {
      for (const name of Object.keys(planted)) delete process.env[name];
    }
    const env = readFileSync(seen, 'utf8');
    expect(env).toMatch(/^PATH=/m);
    expect(env).toMatch(new RegExp(`^PGDATABASE=${db}$`, 'm'));
    expect(env).toMatch(new RegExp(`^PGHOST=${target.host}$`, 'm'));
    for (const value of Object.values(planted)) expect(env).not.toContain(value);
  });

  test('pg_dump dies after 40 MiB of output: the multipart upload is aborted', async () => {
    const pgBin = pgBinWith(
      'dies',
      `#!/bin/sh
if [ "$1" = "--version" ]; then exec /usr/bin/pg_dump --version; fi
head -c ${40 * MiB} /dev/urandom
echo "pg_dump: error: connection to server lost" >&2
exit 1
`,
    );
    const key = dumpKey('dump-test-20260101t000000z-dies', db);
    const error = await dumpDatabase({ target, database: db, pgBin, bucket: backup, key }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PachopsError);
    expect((error as PachopsError).code).toBe('PG_DUMP_FAILED');
    expect((error as PachopsError).message).toContain('connection to server lost');
    expect(await keysInBucket()).not.toContain(key);
    expect(await pendingUploads(key)).toBe(0);
  });
});

test('chunkObjectKeys returns exactly the uploaded, not tombstoned rows’ keys, in byte order', async () => {
  const expected = seed.live
    .map((row) => row.key)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  expect(expected).toHaveLength(60);
  expect(seed.rows.length).toBeGreaterThan(60); // not uploaded and tombstoned rows exist and are left out
  for (const batch of [5000, 7, 60]) {
    const keys: string[] = [];
    for await (const key of chunkObjectKeys(target, db, batch)) keys.push(key);
    expect(keys).toEqual(expected);
  }
  const dead = seed.rows.filter((row) => !row.uploaded || row.tombstone).map((row) => row.key);
  expect(dead.length).toBeGreaterThan(0);
  const all = new Set<string>();
  for await (const key of chunkObjectKeys(target, db)) all.add(key);
  for (const key of dead) expect(all.has(key)).toBe(false);
});

test('databaseSizes reports each database’s size, and names a missing one', async () => {
  const sizes = await databaseSizes(target, [db, dexDb]);
  expect(sizes.map((s) => s.name)).toEqual([db, dexDb]);
  const truth = await runSql(
    env.postgres.url(),
    `SELECT datname, pg_database_size(datname)::bigint AS bytes FROM pg_database WHERE datname IN ('${db}', '${dexDb}')`,
  );
  for (const row of truth.rows) {
    const reported = sizes.find((s) => s.name === row.datname)!.bytes;
    expect(Math.abs(reported - Number(row.bytes))).toBeLessThan(MiB);
  }
  expect(sizes[0]!.bytes).toBeGreaterThan(BLOBS * MiB);

  const missing = uniqueName('absent');
  const error = await databaseSizes(target, [db, missing]).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PachopsError);
  expect((error as PachopsError).permanent).toBe(true);
  expect((error as PachopsError).message).toContain(missing);
});

describe('checkDump on a damaged object', () => {
  test('a byte flipped in the middle: DUMP_UNREADABLE or a different sha256', async () => {
    const bytes = await download(dumped.key);
    bytes[bytes.length >> 1] ^= 0xff;
    const key = `${dumped.key}.flipped`;
    await s3.send(new PutObjectCommand({ Bucket: backup.name, Key: key, Body: bytes }));
    const outcome = await checkDump(backup, key, '').then(
      (check) => check.sha256,
      (error: unknown) => (error as PachopsError).code,
    );
    expect(outcome === 'DUMP_UNREADABLE' || /^[0-9a-f]{64}$/.test(outcome)).toBe(true);
    expect(outcome).not.toBe(dumped.sha256);
  });

  test('not an archive at all (20 MiB of noise): DUMP_UNREADABLE, permanent', async () => {
    const key = `${dumped.key}.noise`;
    await s3.send(new PutObjectCommand({ Bucket: backup.name, Key: key, Body: randomBytes(20 * MiB) }));
    const error = await checkDump(backup, key, '').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PachopsError);
    expect((error as PachopsError).code).toBe('DUMP_UNREADABLE');
    expect((error as PachopsError).permanent).toBe(true);
  });

  test('a missing object: an S3 error naming the key', async () => {
    const error = await checkDump(backup, 'no/such/key.dump', '').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PachopsError);
    expect((error as PachopsError).message).toContain('no/such/key.dump');
  });
});
