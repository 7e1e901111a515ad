/**
 * The restore primitives of src/postgres/restore.ts (verifyDumpChecksum, restoreDatabase, create/inspect/
 * dropDatabase, countRows) against the run's real PostgreSQL (ssl on) and Ceph RGW, with real
 * pg_dump/pg_restore: a seeded Pachyderm database is dumped with dumpDatabase, then restored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { PachopsError } from '../../src/errors.ts';
import type { PostgresTarget } from '../../src/postgres/connection.ts';
import { type DumpResult, dumpDatabase } from '../../src/postgres/dump.ts';
import {
  countRows,
  createDatabase,
  dropDatabase,
  inspectDatabase,
  MAIN_PACHYDERM_TABLES,
  restoreDatabase,
  verifyDumpChecksum,
} from '../../src/postgres/restore.ts';
import { dumpKey } from '../../src/storage/layout.ts';
import { type Bucket, openBucket } from '../../src/storage/s3.ts';
import { seedPachyderm } from '../harness/pachyderm/simulator.ts';
import { runSql } from '../harness/pg-admin.ts';
import { makeS3Client } from '../harness/s3-client.ts';
import { stackEnv, uniqueName } from '../harness/stack-env.ts';
import { addIncompressibleRows, roleTarget } from './fixtures.ts';

const env = stackEnv();
const MiB = 1024 * 1024;
const password = `p@ss w'o"rd$${randomBytes(9).toString('hex')}`;
const role = uniqueName('pach-restorer');
const db = uniqueName('pachyderm');
const dexDb = uniqueName('dex');
/** Names of restored databases: the guard prefix dropDatabase is given. */
const PREFIX = `pachyderm_restored_${randomBytes(3).toString('hex')}_`;
let named = 0;
const restoredName = () => `${PREFIX}${++named}`;
const created: string[] = [];

let s3: S3Client;
let backup: Bucket;
let tmp: string;
let target: PostgresTarget;
let dumped: DumpResult;
let dexDumped: DumpResult;
let sourceCounts: Record<string, number>;

const roleUrl = (database: string) =>
  `postgres://${encodeURIComponent(role)}:${encodeURIComponent(password)}@${env.postgres.host}:${env.postgres.port}/${encodeURIComponent(database)}`;

beforeAll(async () => {
  if (!env.rgw) throw new Error('these tests need the run’s RGW (PACHOPS_TEST_RGW is 0)');
  if (!env.postgres.ssl) throw new Error('these tests need the run’s PostgreSQL with ssl on');
  s3 = makeS3Client(env.rgw);
  tmp = await mkdtemp(join(tmpdir(), 'pachops-restore-test-'));
  const dataBucket = uniqueName('pach-data');
  await env.postgres.createRole(role, password);
  await runSql(env.postgres.url(), `ALTER ROLE ${pg.escapeIdentifier(role)} CREATEDB`);
  const backupName = uniqueName('pach-backup');
  await Promise.all([
    env.postgres.createDatabase(db, role),
    env.postgres.createDatabase(dexDb, role),
    env.rgw.createBucket(dataBucket),
    env.rgw.createBucket(backupName),
  ]);
  backup = openBucket({
    bucket: backupName,
    endpoint: env.rgw.endpoint,
    region: env.rgw.region,
    forcePathStyle: true,
    credentials: { accessKeyId: env.rgw.accessKeyId, secretAccessKey: env.rgw.secretAccessKey },
  });
  await seedPachyderm({
    pachydermDbUrl: roleUrl(db),
    dexDbUrl: roleUrl(dexDb),
    s3: { client: s3, bucket: dataBucket },
    objects: 40,
  });
  // several MiB of incompressible rows: the dump reaches pg_restore in many chunks
  await addIncompressibleRows(roleUrl(db), 6);
  await runSql(
    roleUrl(db),
    `CREATE TABLE public.events AS SELECT n AS id, 'event ' || n AS what FROM generate_series(1, 5000) AS n`,
  );
  target = roleTarget(role, password, [db, dexDb]);
  const id = 'restore-test-20260101t000000z-base';
  dumped = await dumpDatabase({ target, database: db, pgBin: '', bucket: backup, key: dumpKey(id, db) });
  dexDumped = await dumpDatabase({
    target,
    database: dexDb,
    pgBin: '',
    bucket: backup,
    key: dumpKey(id, 'dex'),
  });
  sourceCounts = await rowCounts(db);
});

afterAll(async () => {
  for (const name of created) await env.postgres.dropDatabase(name).catch(() => undefined);
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

async function upload(key: string, body: Buffer): Promise<string> {
  await s3.send(new PutObjectCommand({ Bucket: backup.name, Key: key, Body: body }));
  return key;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Row counts of every user table, as the superuser sees them (independent of src/'s countRows). */
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

/** A new, empty database owned by the role, made by src/'s createDatabase. */
async function newDatabase(): Promise<string> {
  const name = restoredName();
  created.push(name);
  await createDatabase(target, name);
  return name;
}

async function restoreInto(database: string, extra: Partial<Parameters<typeof restoreDatabase>[0]> = {}) {
  return restoreDatabase({ target, database, bucket: backup, key: dumped.key, pgBin: '', ...extra });
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

async function poll<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('verifyDumpChecksum', () => {
  test('the stored dump matches its sha256 and size, read once', async () => {
    let lastBytes = 0;
    const check = await verifyDumpChecksum({
      bucket: backup,
      key: dumped.key,
      sha256: dumped.sha256,
      bytes: dumped.bytes,
      onBytes: (bytes) => {
        lastBytes = bytes;
      },
    });
    expect(check).toMatchObject({ sha256: dumped.sha256, bytes: dumped.bytes });
    expect(lastBytes).toBe(dumped.bytes);
    expect(dumped.bytes).toBeGreaterThan(6 * MiB);
  });

  test('one flipped byte: DUMP_CHECKSUM_MISMATCH, permanent, naming the key and both short sums', async () => {
    const bytes = await download(dumped.key);
    bytes[bytes.length >> 1] ^= 0x01;
    const key = await upload(`${dumped.key}.flipped`, bytes);
    const expected = { sha256: dumped.sha256, bytes: dumped.bytes };
    const error = await fail(verifyDumpChecksum({ bucket: backup, key, ...expected }));
    expect(error.code).toBe('DUMP_CHECKSUM_MISMATCH');
    expect(error.permanent).toBe(true);
    expect(error.message).toContain(key);
    expect(error.message).toContain(dumped.sha256.slice(0, 12));
    expect(error.message).toContain(sha256(bytes).slice(0, 12));
    expect(error.message).not.toContain(dumped.sha256); // short sums, not 64 hex digits
    // a truncated dump says its size too
    const cut = await upload(`${dumped.key}.cut`, bytes.subarray(0, 1000));
    const short = await fail(verifyDumpChecksum({ bucket: backup, key: cut, ...expected }));
    expect(short.code).toBe('DUMP_CHECKSUM_MISMATCH');
    expect(short.message).toContain(`1000 bytes, expected ${dumped.bytes}`);
  });

  test('a missing dump: DUMP_MISSING, permanent, naming the key', async () => {
    const error = await fail(
      verifyDumpChecksum({ bucket: backup, key: 'no/such.dump', sha256: dumped.sha256, bytes: 1 }),
    );
    expect(error.code).toBe('DUMP_MISSING');
    expect(error.permanent).toBe(true);
    expect(error.message).toContain('no/such.dump');
  });
});

test('restores into a new database: the same rows as the source in every table; countRows reports them', async () => {
  const name = await newDatabase();
  expect(await inspectDatabase(target, name)).toEqual({ exists: true, tables: 0, rows: 0, schemas: [] });
  const owner = await runSql(
    env.postgres.url(),
    `SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = ${pg.escapeLiteral(name)}`,
  );
  expect(owner.rows[0].owner).toBe(role);

  const result = await restoreInto(name, { expected: { sha256: dumped.sha256, bytes: dumped.bytes } });

  expect(result).toMatchObject({ sha256: dumped.sha256, bytes: dumped.bytes });
  expect(Object.keys(sourceCounts)).toEqual(
    expect.arrayContaining(['public.blobs', 'storage.chunk_objects', 'pfs.commits', 'pfs.repos']),
  );
  expect(await rowCounts(name)).toEqual(sourceCounts);
  const digest = "SELECT md5(string_agg(md5(data), '' ORDER BY id)) AS d FROM public.blobs";
  expect((await runSql(env.postgres.url(name), digest)).rows[0].d).toBe(
    (await runSql(env.postgres.url(db), digest)).rows[0].d,
  );
  // the main Pachyderm tables that exist, in report order, counted exactly
  const main = await countRows(target, name);
  const present = MAIN_PACHYDERM_TABLES.filter((t) => t in sourceCounts);
  expect(main).toEqual(present.map((table) => ({ table, rows: sourceCounts[table] })));
  expect(await countRows(target, db)).toEqual(main);
  const inspected = await inspectDatabase(target, name);
  expect(inspected).toMatchObject({ exists: true, tables: Object.keys(sourceCounts).length });
  expect(inspected.rows).toBe(Object.values(sourceCounts).reduce((a, b) => a + b, 0));
  expect(inspected.schemas).toEqual(['pfs', 'storage']);
});

test('dex (no Pachyderm tables): countRows counts every user table', async () => {
  const name = await newDatabase();
  await restoreDatabase({ target, database: name, bucket: backup, key: dexDumped.key, pgBin: '' });
  const counts = await countRows(target, name);
  const source = await rowCounts(dexDb);
  expect(Object.fromEntries(counts.map((c) => [c.table, c.rows]))).toEqual(source);
  expect(counts.map((c) => c.table)).toEqual(expect.arrayContaining(['public.client', 'public.password']));
  // explicit tables: schema-qualified or bare (public); a missing one is named
  expect(await countRows(target, name, ['public.client', 'migrations'])).toEqual([
    { table: 'public.client', rows: 2 },
    { table: 'public.migrations', rows: 14 },
  ]);
  const error = await fail(countRows(target, name, ['storage.chunk_objects']));
  expect(error.code).toBe('TABLE_MISSING');
  expect(error.message).toContain('storage.chunk_objects');
});

test('an existing non-empty database: refused without clean (left as it was), replaced with clean', async () => {
  const name = await newDatabase();
  await restoreInto(name);
  const url = env.postgres.url(name);
  await runSql(url, 'DELETE FROM storage.chunk_objects WHERE gen % 3 = 0');
  await runSql(url, "INSERT INTO pfs.repos (name) VALUES ('added-after-restore')");
  await runSql(url, 'CREATE TABLE public.extra AS SELECT 1 AS x');
  const changed = await rowCounts(name);
  expect(changed['storage.chunk_objects']).toBeLessThan(sourceCounts['storage.chunk_objects']!);

  const error = await fail(restoreInto(name));
  expect(error.code).toBe('PG_RESTORE_FAILED');
  expect(error.permanent).toBe(true);
  expect(error.message).toMatch(/already exists/);
  expect(error.message).toContain(name);
  expect(error.hint).toMatch(/not empty/);
  expect(await rowCounts(name)).toEqual(changed); // one transaction: nothing half-restored

  await restoreInto(name, { clean: true });
  const replaced = await rowCounts(name);
  expect(replaced['public.extra']).toBe(1); // not in the dump: --clean drops only the dump's objects
  delete replaced['public.extra'];
  expect(replaced).toEqual(sourceCounts);
});

test('a role without CREATEDB gets a clear, permanent error and no database', async () => {
  const weak = uniqueName('pach-no-createdb');
  const weakPassword = randomBytes(12).toString('hex');
  await env.postgres.createRole(weak, weakPassword);
  const name = restoredName();
  const error = await fail(createDatabase({ ...target, user: weak, password: weakPassword }, name));
  expect(error.code).toBe('CREATEDB_DENIED');
  expect(error.permanent).toBe(true);
  expect(error.message).toContain(weak);
  expect(error.message).toContain(name);
  expect(error.hint).toContain('CREATEDB');
  expect(error.message).not.toContain(weakPassword);
  expect((await inspectDatabase(target, name)).exists).toBe(false);
});

test('createDatabase: quoted names, an existing name refused, names over 63 bytes refused', async () => {
  const odd = `${PREFIX}a "quoted" name; DROP`;
  created.push(odd);
  await createDatabase(target, odd);
  expect(await inspectDatabase(target, odd)).toMatchObject({ exists: true, tables: 0 });
  const again = await fail(createDatabase(target, odd));
  expect(again.code).toBe('DATABASE_EXISTS');
  expect(again.permanent).toBe(true);
  const long = await fail(createDatabase(target, `${PREFIX}${'x'.repeat(64)}`));
  expect(long.code).toBe('DATABASE_NAME_INVALID');
  expect(await dropDatabase(target, odd, { prefix: PREFIX })).toEqual({ dropped: true });
});

test('pg_restore runs over TLS with the password only in its environment, never in its arguments', async () => {
  const log = join(tmp, 'pg_restore-calls.log');
  const pgBin = join(tmp, 'recording');
  mkdirSync(pgBin, { recursive: true });
  writeFileSync(
    join(pgBin, 'pg_restore'),
    `#!/bin/sh
{ printf 'ARGS'; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\\nENV'
  env | cut -d= -f1 | sort | tr '\\n' ' '; printf '\\n'; } >> '${log}'
exec /usr/bin/pg_restore "$@"
`,
  );
  chmodSync(join(pgBin, 'pg_restore'), 0o755);
  const name = await newDatabase();
  await restoreInto(name);
  // Hold pg_restore at a table lock (clean drops the table first) so that it can be seen running.
  const locker = new pg.Client({ connectionString: env.postgres.url(name) });
  await locker.connect();
  let restoring: Promise<unknown> | undefined;
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE public.events IN ACCESS EXCLUSIVE MODE');
    restoring = restoreInto(name, { clean: true, pgBin });
    restoring.catch(() => undefined);
    const backend = await poll('pg_restore to wait for its lock', async () => {
      const { rows } = await runSql(
        env.postgres.url(),
        `SELECT s.ssl, a.application_name FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
         WHERE a.datname = ${pg.escapeLiteral(name)} AND a.usename = ${pg.escapeLiteral(role)}
           AND a.wait_event_type = 'Lock'`,
      );
      return rows[0] as { ssl: boolean; application_name: string } | undefined;
    });
    expect(backend).toEqual({ ssl: true, application_name: 'pachops' });
    const processes = pgRestoreProcesses(name);
    expect(processes).toHaveLength(1);
    expect(processes[0]!.argv.join(' ')).not.toContain(password);
    expect(processes[0]!.argv.join(' ')).not.toMatch(/password=|postgres(ql)?:\/\//i);
    expect(processes[0]!.environ).toContain(`PGPASSWORD=${password}`);
    expect(processes[0]!.environ).toContain('PGSSLMODE=require');
    await locker.query('COMMIT');
  } finally {
    await locker.end();
  }
  await restoring;
  expect(await rowCounts(name)).toEqual(sourceCounts);
  const calls = readFileSync(log, 'utf8');
  expect(calls).not.toContain(password);
  expect(calls).toContain('[--no-owner] [--no-privileges] [--exit-on-error]');
  expect(calls).toContain('[--clean] [--if-exists] [--dbname=]');
  expect(calls).toMatch(/ENV.* PGDATABASE .*PGPASSWORD /);
});

/** The OS processes whose argv[0] is a pg_restore and whose environment names `database`. */
function pgRestoreProcesses(database: string): { argv: string[]; environ: string[] }[] {
  const found = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (!argv[0] || basename(argv[0]) !== 'pg_restore') continue;
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (environ.includes(`PGDATABASE=${database}`)) found.push({ argv, environ });
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return found;
}

describe('a restore that fails leaves the database as it was', () => {
  test('a truncated dump: pg_restore’s error is quoted; nothing is committed', async () => {
    const bytes = await download(dumped.key);
    const key = await upload(`${dumped.key}.half`, bytes.subarray(0, bytes.length >> 1));
    const name = await newDatabase();
    const error = await fail(restoreDatabase({ target, database: name, bucket: backup, key, pgBin: '' }));
    expect(error.code).toBe('PG_RESTORE_FAILED');
    expect(error.message).toContain(key);
    expect(error.message).toMatch(/pg_restore: error: .+/);
    expect(error.message).not.toContain(password);
    expect(await inspectDatabase(target, name)).toMatchObject({ tables: 0, schemas: [] });
  });

  test('a valid dump that is not the verified one: DUMP_CHECKSUM_MISMATCH before pg_restore can commit', async () => {
    await runSql(roleUrl(db), 'INSERT INTO public.events VALUES (999999, $$late$$)');
    const other = await dumpDatabase({
      target,
      database: db,
      pgBin: '',
      bucket: backup,
      key: `${dumped.key}.later`,
    });
    await runSql(roleUrl(db), 'DELETE FROM public.events WHERE id = 999999');
    expect(other.sha256).not.toBe(dumped.sha256);
    const name = await newDatabase();
    const error = await fail(
      restoreDatabase({
        target,
        database: name,
        bucket: backup,
        key: other.key,
        pgBin: '',
        expected: { sha256: dumped.sha256, bytes: dumped.bytes },
      }),
    );
    expect(error.code).toBe('DUMP_CHECKSUM_MISMATCH');
    expect(error.message).toContain(other.key);
    expect(await inspectDatabase(target, name)).toMatchObject({ tables: 0, schemas: [] });
  });

  test('with a checksum expected, the dump’s last bytes reach pg_restore only once they match', async () => {
    const received = join(tmp, 'received.dump');
    const pgBin = join(tmp, 'capturing');
    mkdirSync(pgBin, { recursive: true });
    writeFileSync(
      join(pgBin, 'pg_restore'),
      `#!/bin/sh
if [ "$1" = "--version" ]; then exec /usr/bin/pg_restore --version; fi
exec cat > '${received}'
`,
    );
    chmodSync(join(pgBin, 'pg_restore'), 0o755);
    const name = await newDatabase();
    const wrong = { sha256: sha256(Buffer.from('another dump')), bytes: dumped.bytes };
    const error = await fail(restoreInto(name, { pgBin, expected: wrong }));
    expect(error.code).toBe('DUMP_CHECKSUM_MISMATCH');
    const cut = readFileSync(received);
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.length).toBeLessThan(dumped.bytes);

    await restoreInto(name, { pgBin, expected: { sha256: dumped.sha256, bytes: dumped.bytes } });
    expect(sha256(readFileSync(received))).toBe(dumped.sha256);
  });

  test('an abort: ABORTED, permanent, nothing committed', async () => {
    const name = await newDatabase();
    const controller = new AbortController();
    const error = await fail(
      restoreInto(name, {
        signal: controller.signal,
        onBytes: (bytes) => {
          if (bytes > MiB) controller.abort();
        },
      }),
    );
    expect(error.code).toBe('ABORTED');
    expect(error.permanent).toBe(true);
    expect(await inspectDatabase(target, name)).toMatchObject({ tables: 0 });
  });

  test('a database that does not exist: a permanent error naming it', async () => {
    const name = restoredName();
    const error = await fail(restoreInto(name));
    expect(error.permanent).toBe(true);
    expect(error.message).toContain(name);
    expect(await inspectDatabase(target, name)).toMatchObject({ exists: false });
  });
});

test('dropDatabase drops only what its prefix guard allows, even with sessions open', async () => {
  const name = await newDatabase();
  // a session of the role's (the role may not terminate a superuser's)
  const session = new pg.Client({ connectionString: roleUrl(name), ssl: { rejectUnauthorized: false } });
  await session.connect();
  session.on('error', () => undefined); // terminated by WITH (FORCE)
  try {
    for (const [victim, prefix] of [
      [name, 'pachyderm_other_'],
      [name, ''],
      [name, name],
      [db, db.slice(0, 5)],
      ['postgres', 'post'],
    ] as const) {
      const refused = await fail(dropDatabase(target, victim, { prefix }));
      expect(refused.code).toBe('DROP_REFUSED');
      expect(refused.permanent).toBe(true);
      expect(refused.message).toContain(victim);
    }
    expect((await inspectDatabase(target, name)).exists).toBe(true);
    expect((await inspectDatabase(target, db)).exists).toBe(true);

    expect(await dropDatabase(target, name, { prefix: PREFIX })).toEqual({ dropped: true });
    expect(await inspectDatabase(target, name)).toEqual({ exists: false, tables: 0, rows: 0, schemas: [] });
    expect(await dropDatabase(target, name, { prefix: PREFIX })).toEqual({ dropped: false });
  } finally {
    await session.end().catch(() => undefined);
  }
});
