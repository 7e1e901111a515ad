/**
 * `npm run bench:dump`: the backup's dump path (pg_dump -Fc streamed into the backup bucket, sha256 on the
 * fly) against `pg_dump -Fc` to a local file, for a throwaway database grown to each of BENCH_DUMP_MB
 * (default 100,250 MB), into each of BENCH_SERVERS. Prints wall time, ratio and peak RSS; never asserts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanStaleHarnessDirs } from '../test/harness/harness-dir.ts';
import { findPgBin, type PgServer, startPostgres } from '../test/harness/postgres.ts';
import { ensureSystemPackages } from '../test/harness/stack.ts';
import { growDatabase } from './lib/dump-data.ts';
import { type DumpFigures, dumpToBucket, dumpToFile } from './lib/dump-runs.ts';
import { guardDir } from './lib/guard.ts';
import { note, timed } from './lib/log.ts';
import { type BenchServer, parseServers, startServer } from './lib/servers.ts';
import { printSummary, ratioLine, recordSummary, type SummaryLine } from './lib/summary.ts';
import { fixed, printTable } from './lib/table.ts';

interface DumpRow {
  dbMB: number;
  tool: string;
  fig: DumpFigures;
}

const DATABASE = 'benchdb';

function readSizes(value = process.env.BENCH_DUMP_MB ?? '100,250'): number[] {
  const sizes = value.split(',').map(Number);
  if (sizes.some((size) => !(size > 0))) throw new Error(`BENCH_DUMP_MB: sizes in MB, not ${value}`);
  return sizes.sort((a, b) => a - b);
}

async function dumpAtSize(
  pg: PgServer,
  servers: BenchServer[],
  sizeMB: number,
  dir: string,
): Promise<DumpRow[]> {
  const url = pg.url(DATABASE);
  const bytes = await timed(`growing ${DATABASE} to ${sizeMB} MB`, () => growDatabase(url, sizeMB * 1e6));
  const dbMB = Math.round(bytes / 1e6);
  const pgBin = findPgBin();
  const rows: DumpRow[] = [];
  const local = await dumpToFile(pg, pgBin, DATABASE, join(dir, `${dbMB}.dump`));
  rows.push({ dbMB, tool: 'pg_dump -Fc > local file', fig: local });
  await rm(join(dir, `${dbMB}.dump`));
  for (const server of servers) {
    const key = `.pachops/backups/bench/db/${DATABASE}-${dbMB}.dump`;
    rows.push({
      dbMB,
      tool: `pachops dump → ${server.name}`,
      fig: await dumpToBucket(pg, pgBin, DATABASE, server, key),
    });
  }
  // one more row: the same path with the dumps encrypted (backup.encryption), on the first server
  const [first] = servers;
  if (first) {
    const key = `.pachops/backups/bench/db/${DATABASE}-${dbMB}-encrypted.dump`;
    rows.push({
      dbMB,
      tool: `pachops dump + encryption → ${first.name}`,
      fig: await dumpToBucket(pg, pgBin, DATABASE, first, key, { encrypt: true }),
    });
  }
  for (const row of rows) note(`${dbMB} MB ${row.tool}: ${row.fig.wallS.toFixed(2)} s`);
  return rows;
}

function report(rows: DumpRow[]): SummaryLine[] {
  printTable(
    'dump: one database, pg_dump -Fc locally vs streamed into the backup bucket (one run each)',
    [
      'database MB',
      'tool',
      'wall s',
      'in-process s',
      'MB/s (db)',
      'dump MB',
      'peak RSS MiB',
      'CPU s',
      'vs local',
    ],
    rows.map((row) => {
      const local = rows.find((other) => other.dbMB === row.dbMB && other.tool.startsWith('pg_dump'))!;
      const { fig } = row;
      return [
        row.dbMB,
        row.tool,
        fixed(fig.wallS),
        fig.phaseS === undefined ? undefined : fixed(fig.phaseS),
        fixed(row.dbMB / fig.wallS, 1),
        fixed(fig.dumpBytes / 1e6, 1),
        fixed(fig.peakRssMiB, 0),
        fixed(fig.cpuS),
        `${fixed(fig.wallS / local.fig.wallS)}×`,
      ];
    }),
  );
  const sizes = [...new Set(rows.map((row) => row.dbMB))];
  const lines: SummaryLine[] = [];
  for (const tool of new Set(rows.filter((row) => row.tool.startsWith('pachops')).map((row) => row.tool))) {
    for (const dbMB of sizes) {
      const ours = rows.find((row) => row.tool === tool && row.dbMB === dbMB);
      const local = rows.find((row) => row.tool.startsWith('pg_dump') && row.dbMB === dbMB);
      lines.push(
        ratioLine('dump', `${dbMB} MB: ${tool} / local pg_dump`, ours?.fig.wallS, local?.fig.wallS, 1.1),
        ratioLine(
          'dump',
          `${dbMB} MB: ${tool}, in a running worker (no process start-up) / local pg_dump`,
          ours?.fig.phaseS,
          local?.fig.wallS,
        ),
      );
    }
    const [first, last] = [sizes[0], sizes.at(-1)].map((dbMB) =>
      rows.find((row) => row.tool === tool && row.dbMB === dbMB),
    );
    if (sizes.length > 1) {
      lines.push(
        ratioLine(
          'dump',
          `peak RSS ${sizes.at(-1)} / ${sizes[0]} MB: ${tool}`,
          last?.fig.peakRssMiB,
          first?.fig.peakRssMiB,
          1.2,
        ),
      );
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const sizes = readSizes();
  const names = parseServers(process.env.BENCH_SERVERS ?? 'rgw,s3rver');
  await cleanStaleHarnessDirs();
  await ensureSystemPackages(names.includes('rgw'));
  const dir = await mkdtemp(join(tmpdir(), 'pachops-bench-dump-'));
  const servers: BenchServer[] = [];
  const pg = await startPostgres();
  const release = guardDir(pg.dir);
  const rows: DumpRow[] = [];
  try {
    for (const name of names) servers.push(await startServer(name));
    for (const server of servers) await server.createBucket('backup');
    await pg.createDatabase(DATABASE);
    for (const size of sizes) rows.push(...(await dumpAtSize(pg, servers, size, dir)));
  } finally {
    await Promise.allSettled([
      pg.stop(),
      ...servers.map((server) => server.stop()),
      rm(dir, { recursive: true, force: true }),
    ]);
    release();
  }
  const summary = report(rows);
  printSummary('dump: ratios (one run; targets from issue 6)', summary);
  recordSummary(summary);
}

await main();
