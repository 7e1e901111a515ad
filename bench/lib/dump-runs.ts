/** The two ways of dumping one database that bench/dump.ts compares, each a measured child process. */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PostgresTarget } from '../../src/postgres/connection.ts';
import type { PgServer } from '../../test/harness/postgres.ts';
import type { DumpChildInput } from '../dump-child.ts';
import { lastJsonLine, type Measured, measureOrThrow } from './measure.ts';
import { productNodeEnv } from './node-env.ts';
import { type BenchServer, bucketTarget } from './servers.ts';

/** One measured dump: GNU time's figures and the dump's size. */
export interface DumpFigures extends Pick<Measured, 'wallS' | 'peakRssMiB' | 'cpuS'> {
  dumpBytes: number;
  /** pachops only: the dump's own time, without Node's start-up (what the dump phase takes in a worker). */
  phaseS?: number;
}

const pick = (m: Measured, dumpBytes: number): DumpFigures => ({
  wallS: m.wallS,
  peakRssMiB: m.peakRssMiB,
  cpuS: m.cpuS,
  dumpBytes,
});

/** `pg_dump -Fc` of `database` to a local file (the reference); the password through PGPASSWORD. */
export async function dumpToFile(
  pg: PgServer,
  pgBin: string,
  database: string,
  file: string,
): Promise<DumpFigures> {
  const measured = await measureOrThrow('pg_dump', {
    command: join(pgBin, 'pg_dump'),
    args: ['--format=custom', '--no-password', '--file', file],
    env: {
      PATH: process.env.PATH,
      PGHOST: pg.host,
      PGPORT: String(pg.port),
      PGUSER: pg.user,
      PGPASSWORD: pg.password,
      PGDATABASE: database,
      PGSSLMODE: 'disable',
    },
  });
  return pick(measured, (await stat(file)).size);
}

/** pachops' dump path into `backup/<key>` on the server (bench/dump-child.ts). */
export async function dumpToBucket(
  pg: PgServer,
  pgBin: string,
  database: string,
  server: BenchServer,
  key: string,
  options: { encrypt?: boolean } = {},
): Promise<DumpFigures> {
  const postgres = {
    host: pg.host,
    port: pg.port,
    user: pg.user,
    password: pg.password,
    sslmode: 'disable',
    databases: [database],
  } as PostgresTarget;
  const input: DumpChildInput = {
    postgres,
    database,
    pgBin,
    bucket: bucketTarget(server.target, 'backup'),
    key,
    encrypt: options.encrypt,
  };
  const measured = await measureOrThrow('pachops dump', {
    command: process.execPath,
    args: [fileURLToPath(new URL('../dump-child.ts', import.meta.url))],
    env: productNodeEnv(),
    stdin: JSON.stringify(input),
  });
  const output = lastJsonLine<{ bytes: number; durationMs: number }>(measured.stdout);
  return { ...pick(measured, output.bytes), phaseS: output.durationMs / 1000 };
}
