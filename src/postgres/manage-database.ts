import pg from 'pg';
import { PachopsError } from '../errors.ts';
import { connectDatabase, type PostgresTarget, pgError } from './connection.ts';
import { countTables, listUserTables } from './row-counts.ts';

/** PostgreSQL silently truncates longer identifiers: a longer name would create or drop another database. */
const MAX_IDENTIFIER_BYTES = 63;

/** Databases that are never dropped, whatever prefix a caller passes. */
const NEVER_DROPPED = ['postgres', 'template0', 'template1'];

export interface DatabaseInspection {
  exists: boolean;
  /** Tables in non-system schemas (partitions and extension-owned tables left out). */
  tables: number;
  /** Exact rows in those tables. */
  rows: number;
  /** Non-system schemas other than `public`: a restore without clean fails on them too. */
  schemas: string[];
}

function checkDatabaseName(name: string): void {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (!name || bytes > MAX_IDENTIFIER_BYTES || name.includes('\0')) {
    throw new PachopsError(
      'DATABASE_NAME_INVALID',
      `"${name}" is not a usable database name: 1 to ${MAX_IDENTIFIER_BYTES} bytes (it has ${bytes})`,
      { permanent: true },
    );
  }
}

/** 3D000 no such database, 28000 refused by pg_hba, 42501 no CONNECT: worth trying the next database. */
function isRefusedDatabase(error: unknown): boolean {
  const code = ((error as { cause?: { code?: string } }).cause ?? (error as { code?: string }))?.code;
  return code === '3D000' || code === '28000' || code === '42501';
}

/**
 * A connection for CREATE/DROP DATABASE and pg_database: the `postgres` maintenance database, else the
 * configured first database (managed services sometimes refuse `postgres`).
 */
export async function connectMaintenance(target: PostgresTarget): Promise<pg.Client> {
  const candidates = [...new Set(['postgres', target.databases[0]].filter((d): d is string => !!d))];
  let lastError: unknown;
  for (const database of candidates) {
    try {
      return await connectDatabase(target, database);
    } catch (error) {
      lastError = error;
      if (!isRefusedDatabase(error)) throw error;
    }
  }
  throw lastError;
}

async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return (rowCount ?? 0) > 0;
}

/** Whether a database exists and what it holds: the plan's "will be created / overwritten". */
export async function inspectDatabase(target: PostgresTarget, name: string): Promise<DatabaseInspection> {
  checkDatabaseName(name);
  const maintenance = await connectMaintenance(target);
  try {
    if (!(await databaseExists(maintenance, name))) return { exists: false, tables: 0, rows: 0, schemas: [] };
  } catch (error) {
    throw pgError(error, `look for database ${name}`);
  } finally {
    await maintenance.end();
  }
  const client = await connectDatabase(target, name);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const tables = await listUserTables(client);
    const counts = await countTables(client, tables);
    const { rows } = await client.query<{ name: string }>(
      `SELECT nspname AS name FROM pg_namespace
       WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public') AND nspname NOT LIKE 'pg\\_%'
       ORDER BY nspname COLLATE "C"`,
    );
    await client.query('COMMIT');
    return {
      exists: true,
      tables: tables.length,
      rows: counts.reduce((sum, c) => sum + c.rows, 0),
      schemas: rows.map((r) => r.name),
    };
  } catch (error) {
    throw pgError(error, `inspect database ${name}`);
  } finally {
    await client.end();
  }
}

/**
 * CREATE DATABASE from template0 (pg_dump's advice: nothing an administrator added to template1 can
 * collide with the dump), owned by the configured user.
 */
export async function createDatabase(
  target: PostgresTarget,
  name: string,
  options: { encoding?: string } = {},
): Promise<void> {
  checkDatabaseName(name);
  const encoding = options.encoding ? ` ENCODING ${pg.escapeLiteral(options.encoding)}` : '';
  const client = await connectMaintenance(target);
  try {
    await client.query(
      `CREATE DATABASE ${pg.escapeIdentifier(name)} OWNER ${pg.escapeIdentifier(target.user)} TEMPLATE template0${encoding}`,
    );
  } catch (error) {
    throw createFailure(error, target, name);
  } finally {
    await client.end();
  }
}

/** Whether the configured user may CREATE DATABASE (superuser or CREATEDB): a plan asks before a restore. */
export async function mayCreateDatabases(target: PostgresTarget): Promise<boolean> {
  const client = await connectMaintenance(target);
  try {
    const { rows } = await client.query(
      'SELECT rolcreatedb OR rolsuper AS may FROM pg_roles WHERE rolname = current_user',
    );
    return rows[0]?.may === true;
  } catch (error) {
    throw pgError(error, `read the privileges of ${target.user}`);
  } finally {
    await client.end();
  }
}

function createFailure(error: unknown, target: PostgresTarget, name: string): PachopsError {
  const code = (error as { code?: string }).code;
  if (code === '42501') {
    return new PachopsError(
      'CREATEDB_DENIED',
      `PostgreSQL user ${target.user} may not create databases, so ${name} cannot be created on ${target.host}: ${(error as Error).message}`,
      {
        permanent: true,
        hint: `grant it (ALTER ROLE ${pg.escapeIdentifier(target.user)} CREATEDB), or create ${name} empty and owned by ${target.user} and restore into it`,
        cause: error,
      },
    );
  }
  if (code === '42P04') {
    return new PachopsError('DATABASE_EXISTS', `database ${name} already exists on ${target.host}`, {
      permanent: true,
      hint: 'choose a new name, or restore into it only if it is empty (or with the overwrite confirmation)',
      cause: error,
    });
  }
  return pgError(error, `create database ${name}`);
}

function refuseUnguardedDrop(target: PostgresTarget, name: string, prefix: string): void {
  const configured = [...target.databases, target.metadataDatabase].filter(Boolean);
  let reason: string | undefined;
  if (!prefix) reason = 'no name prefix was given as a guard';
  else if (!name.startsWith(prefix)) reason = `its name does not start with "${prefix}"`;
  else if (name === prefix) reason = 'its name is the guard prefix itself';
  else if (NEVER_DROPPED.includes(name)) reason = 'it is a system database';
  else if (configured.includes(name)) reason = 'the configuration names it as one of the cluster’s databases';
  if (reason) {
    throw new PachopsError('DROP_REFUSED', `refusing to drop database ${name}: ${reason}`, {
      permanent: true,
    });
  }
}

/**
 * DROP DATABASE, closing its sessions (WITH (FORCE) on 13+), only for names that start with `guard.prefix`
 * and that the configuration does not name: scratch and half-restored databases, never a cluster's own.
 */
export async function dropDatabase(
  target: PostgresTarget,
  name: string,
  guard: { prefix: string },
): Promise<{ dropped: boolean }> {
  checkDatabaseName(name);
  refuseUnguardedDrop(target, name, guard.prefix);
  const client = await connectMaintenance(target);
  try {
    if (!(await databaseExists(client, name))) return { dropped: false };
    const { rows } = await client.query("SELECT current_setting('server_version_num')::int AS num");
    const id = pg.escapeIdentifier(name);
    if (rows[0].num >= 130000) {
      await client.query(`DROP DATABASE IF EXISTS ${id} WITH (FORCE)`);
    } else {
      await client.query(`ALTER DATABASE ${id} ALLOW_CONNECTIONS false`);
      await client.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      );
      await client.query(`DROP DATABASE IF EXISTS ${id}`);
    }
    return { dropped: true };
  } catch (error) {
    throw pgError(error, `drop database ${name}`);
  } finally {
    await client.end();
  }
}

/**
 * Puts `replacement` in the place of `name` without losing anything: `name` becomes `keptAs` (kept, for
 * an SRE to drop once satisfied), then `replacement` becomes `name`. Both renames need the databases
 * idle: their remaining sessions are ended first (the cluster is paused by then).
 */
export async function swapDatabase(
  target: PostgresTarget,
  input: { name: string; replacement: string; keptAs: string },
): Promise<void> {
  for (const name of [input.name, input.replacement, input.keptAs]) checkDatabaseName(name);
  const client = await connectMaintenance(target);
  const id = pg.escapeIdentifier;
  try {
    if (await databaseExists(client, input.keptAs)) {
      throw new PachopsError(
        'DATABASE_EXISTS',
        `cannot keep ${input.name} as ${input.keptAs}: that name is taken`,
        { permanent: true },
      );
    }
    const end =
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()';
    await client.query(end, [[input.name, input.replacement]]);
    await client.query(`ALTER DATABASE ${id(input.name)} RENAME TO ${id(input.keptAs)}`);
    await client.query(`ALTER DATABASE ${id(input.replacement)} RENAME TO ${id(input.name)}`);
  } catch (error) {
    throw pgError(error, `put the restored ${input.replacement} in the place of ${input.name}`);
  } finally {
    await client.end();
  }
}
