/** The two ways of dumping one database that bench/dump.ts compares, each a measured child process. */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { PostgresTarget } from '../../src/postgres/connection.ts';
import type { PgServer } from '../../test/harness/postgres.ts';
import type { DumpChildInput } from '../dump-child.ts';
import { lastJsonLine, type Measured, measureOrThrow } from './measure.ts';
import { productNodeEnv } from './node-env.ts';
import { AWS, type AwsProfile } from './peers.ts';
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

/** libpq's environment for the bench database (the password through PGPASSWORD, never an argument). */
function pgEnv(pg: PgServer, database: string): Record<string, string | undefined> {
  return {
    PGHOST: pg.host,
    PGPORT: String(pg.port),
    PGUSER: pg.user,
    PGPASSWORD: pg.password,
    PGDATABASE: database,
    PGSSLMODE: 'disable',
  };
}

/**
 * `pg_dump -Fc` of `database` to a local file (the reference: pg_dump's default compression unless
 * `compress` is given); the password through PGPASSWORD.
 */
export async function dumpToFile(
  pg: PgServer,
  pgBin: string,
  database: string,
  file: string,
  compress?: number,
): Promise<DumpFigures> {
  const level = compress === undefined ? [] : [`--compress=${compress}`];
  const measured = await measureOrThrow('pg_dump', {
    command: join(pgBin, 'pg_dump'),
    args: ['--format=custom', ...level, '--no-password', '--file', file],
    env: { PATH: process.env.PATH, ...pgEnv(pg, database) },
  });
  return pick(measured, (await stat(file)).size);
}

/**
 * What an SRE would type to stream a dump into a bucket by hand: `pg_dump -Fc | aws s3 cp - s3://…`
 * (bash with pipefail; aws's keys in its private profile, the password in PGPASSWORD).
 */
export async function dumpThroughAws(
  pg: PgServer,
  pgBin: string,
  database: string,
  server: BenchServer,
  profile: AwsProfile,
  key: string,
): Promise<DumpFigures> {
  const script =
    'set -o pipefail; "$1" --format=custom --no-password | "$2" s3 cp - "$3" --endpoint-url "$4"';
  const measured = await measureOrThrow('pg_dump | aws s3 cp', {
    command: '/bin/bash',
    args: ['-c', script, 'dump', join(pgBin, 'pg_dump'), AWS, `s3://backup/${key}`, server.target.endpoint],
    env: { ...profile.env, ...pgEnv(pg, database) },
  });
  const head = await server.client.send(new HeadObjectCommand({ Bucket: 'backup', Key: key }));
  return pick(measured, head.ContentLength ?? 0);
}

/** pachops' dump path into `backup/<key>` on the server (bench/dump-child.ts). */
export async function dumpToBucket(
  pg: PgServer,
  pgBin: string,
  database: string,
  server: BenchServer,
  key: string,
  options: { encrypt?: boolean; compression?: number } = {},
): Promise<DumpFigures> {
  const postgres = {
    host: pg.host,
    port: pg.port,
    user: pg.user,
    password: pg.password,
    sslmode: 'disable',
    databases: [database],
    dumpCompression: options.compression,
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
