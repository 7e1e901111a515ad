/** What the PostgreSQL tests share: a role's connection target on the run's server, and bulky rows. */
import { randomBytes } from 'node:crypto';
import type { PostgresTarget } from '../../src/postgres/connection.ts';
import { runSql } from '../harness/pg-admin.ts';
import { stackEnv } from '../harness/stack-env.ts';

/** src/'s view of the run's PostgreSQL as `role` (TLS required). */
export function roleTarget(role: string, password: string, databases: string[]): PostgresTarget {
  const { postgres } = stackEnv();
  return { host: postgres.host, port: postgres.port, user: role, password, sslmode: 'require', databases };
}

/** `public.blobs` with `mib` rows of 1 MiB of random bytes: a dump of it spans many chunks and segments. */
export async function addIncompressibleRows(url: string, mib: number): Promise<void> {
  await runSql(url, 'CREATE TABLE public.blobs (id int PRIMARY KEY, data bytea NOT NULL)');
  for (let id = 0; id < mib; id++)
    await runSql(
      url,
      `INSERT INTO public.blobs VALUES (${id}, '\\x${randomBytes(1 << 20).toString('hex')}')`,
    );
}
