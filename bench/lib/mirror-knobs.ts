/** The mirror benchmark's environment knobs, read once. */
import type { EngineTuning } from './engine-options.ts';
import { parseServers, type ServerName } from './servers.ts';

export interface MirrorKnobs {
  servers: ServerName[];
  /** Small objects in the source bucket (on RGW). */
  n: number;
  /** Small objects on s3rver (slower: a reference, not the target). */
  s3rverN: number;
  largeCount: number;
  largeBytes: number;
  skipPeers: boolean;
  /** Runs of each contender in the no-change and +1% scenarios, in turns; the median counts. */
  quickRuns: number;
  /** Overrides of the engine's configured defaults (BENCH_CONCURRENCY, BENCH_LIST_CONCURRENCY, BENCH_PART_MIB). */
  tuning: Partial<EngineTuning>;
  /** No-change diffs for the memory-flatness figure: base and large object counts (0 skips it). */
  flatBase: number;
  flatN: number;
  /** The whole-backup downtime figure: objects (0 skips it) and the live workload's pause between writes. */
  downtimeN: number;
  downtimeWriteMs: number;
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name} must be a whole number ≥ 0, not ${raw}`);
  return value;
}

const MiB = 1024 * 1024;

/** Reads BENCH_* (see bench/README.md); defaults keep a run near 10 minutes on 2 cores. */
export function readMirrorKnobs(env: Env = process.env): MirrorKnobs {
  const n = int(env, 'BENCH_N', 10_000);
  const optional = (name: string) => (env[name] ? int(env, name, 0) : undefined);
  const partMiB = optional('BENCH_PART_MIB');
  return {
    servers: parseServers(env.BENCH_SERVERS ?? 'rgw,s3rver'),
    n,
    s3rverN: int(env, 'BENCH_S3RVER_N', Math.min(n, 1000)),
    largeCount: int(env, 'BENCH_LARGE_COUNT', 3),
    largeBytes: int(env, 'BENCH_LARGE_MIB', 200) * MiB,
    skipPeers: ['1', 'true', 'yes'].includes(env.BENCH_SKIP_PEERS ?? ''),
    quickRuns: Math.max(1, int(env, 'BENCH_QUICK_RUNS', 3)),
    tuning: {
      concurrency: optional('BENCH_CONCURRENCY'),
      listConcurrency: optional('BENCH_LIST_CONCURRENCY'),
      partSize: partMiB === undefined ? undefined : partMiB * MiB,
    },
    flatBase: int(env, 'BENCH_FLAT_BASE', 2000),
    flatN: int(env, 'BENCH_FLAT_N', 20_000),
    downtimeN: int(env, 'BENCH_DOWNTIME_N', n),
    downtimeWriteMs: int(env, 'BENCH_DOWNTIME_WRITE_MS', 500),
  };
}
