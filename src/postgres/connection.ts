import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { ClusterConfig } from '../config/load.ts';
import { PachopsError } from '../errors.ts';

export type PostgresTarget = ClusterConfig['postgres'];

/**
 * libpq's environment for pg_dump / pg_restore: the password travels here, never on a command line.
 */
export function libpqEnv(target: PostgresTarget, database: string): Record<string, string> {
  const env: Record<string, string> = {
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGUSER: target.user,
    PGDATABASE: database,
    PGSSLMODE: target.sslmode,
    PGCONNECT_TIMEOUT: '15',
    PGAPPNAME: 'pachops',
  };
  // Set both even without a password: an inherited PGPASSWORD (the state database's) or ~/.pgpass must
  // never be offered to the cluster's server.
  env.PGPASSWORD = target.password ?? '';
  if (!target.password) env.PGPASSFILE = '/dev/null';
  if (target.sslrootcert) env.PGSSLROOTCERT = target.sslrootcert;
  return env;
}

/** node-postgres options equivalent to the libpq sslmode. */
function sslOptions(target: PostgresTarget): pg.ClientConfig['ssl'] {
  switch (target.sslmode) {
    case 'disable':
      return false;
    case 'verify-ca':
    case 'verify-full': {
      const ca = target.sslrootcert ? readFileSync(target.sslrootcert, 'utf8') : undefined;
      return target.sslmode === 'verify-ca'
        ? { ca, rejectUnauthorized: true, checkServerIdentity: () => undefined }
        : { ca, rejectUnauthorized: true };
    }
    default:
      // allow / prefer / require: encrypted, certificate not verified (libpq's meaning of require).
      return { rejectUnauthorized: false };
  }
}

/** A short-lived connection to one of the cluster's databases. */
export async function connectDatabase(target: PostgresTarget, database: string): Promise<pg.Client> {
  const options = {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database,
  };
  let client = new pg.Client({
    ...options,
    ssl: sslOptions(target),
    connectionTimeoutMillis: 15_000,
    application_name: 'pachops',
  });
  try {
    await client.connect();
  } catch (error) {
    const noSsl = /does not support SSL/i.test((error as Error).message);
    if (!(noSsl && ['allow', 'prefer'].includes(target.sslmode)))
      throw pgError(error, `connect to ${database} on ${target.host}:${target.port}`);
    client = new pg.Client({ ...options, ssl: false, connectionTimeoutMillis: 15_000 });
    await client.connect().catch((e) => {
      throw pgError(e, `connect to ${database} on ${target.host}:${target.port}`);
    });
  }
  return client;
}

export function pgError(error: unknown, what: string): PachopsError {
  if (error instanceof PachopsError) return error;
  const code = (error as { code?: string }).code;
  const message = (error as Error).message;
  // 28xxx: authentication; 3D000: no such database; 42501: insufficient privilege.
  const permanent = !!code && (code.startsWith('28') || code === '3D000' || code === '42501');
  return new PachopsError('POSTGRES_FAILED', `PostgreSQL: ${what}: ${message}`, {
    permanent,
    hint: permanent
      ? 'check postgres.user, the password variable and the database names in the config'
      : undefined,
    cause: error,
  });
}
