/**
 * A live Pachyderm workload: while isRunning() says the cluster runs, keep writing chunks (row
 * uploaded=false → PutObject → uploaded=true) and now and then a commit. While it says no, write
 * nothing and keep asking, so that a resumed cluster writes again.
 */
import pg from 'pg';
import { makeChunkData, type SimulatorS3, writeChunk, writeCommit } from './chunks.ts';

export interface WorkloadOptions {
  pachydermDbUrl: string;
  s3: SimulatorS3;
  /** Asked before every write; a rejection counts as "not running" (and as an error). */
  isRunning: () => Promise<boolean>;
  /** Pause between iterations. Default 50 ms. */
  intervalMs?: number;
  /** Chunk sizes in bytes, inclusive. Default [4 KiB, 64 KiB]. */
  sizes?: [number, number];
  /** A commit referencing the latest chunks after every this many chunks. Default 5. */
  commitEvery?: number;
}

export interface WorkloadStats {
  chunks: number;
  bytes: number;
  commits: number;
  /** Keys of the chunks written, in order. */
  keys: string[];
  /** When the last write (chunk or commit) finished; null before the first. */
  lastWriteAt: Date | null;
  /** How many times isRunning() answered, and how many of those were "no". */
  probes: number;
  notRunning: number;
  errors: number;
  lastError: string | null;
}

export interface Workload {
  stats(): WorkloadStats;
  /** Stops after the write in progress (if any) and resolves to the final stats. */
  stop(): Promise<WorkloadStats>;
}

/** Starts the writer loop in the background. */
export function startWorkload(opts: WorkloadOptions): Workload {
  const pool = new pg.Pool({ connectionString: opts.pachydermDbUrl, max: 2 });
  pool.on('error', () => {}); // idle clients dropped by a restarting server: the next query reconnects
  const stats: WorkloadStats = {
    ...{ chunks: 0, bytes: 0, commits: 0, keys: [], lastWriteAt: null },
    ...{ probes: 0, notRunning: 0, errors: 0, lastError: null },
  };
  let stopping = false;
  let wake: (() => void) | null = null;
  const loop = runLoop(
    opts,
    pool,
    stats,
    () => stopping,
    (resolve) => {
      wake = resolve;
    },
  );
  let stopped: Promise<WorkloadStats> | undefined;
  return {
    stats: () => ({ ...stats, keys: [...stats.keys] }),
    // Idempotent: a test may stop the workload early and the scenario stops it again at the end.
    stop() {
      stopped ??= (async () => {
        stopping = true;
        wake?.();
        await loop;
        await pool.end();
        return { ...stats, keys: [...stats.keys] };
      })();
      return stopped;
    },
  };
}

async function runLoop(
  opts: WorkloadOptions,
  pool: pg.Pool,
  stats: WorkloadStats,
  isStopping: () => boolean,
  onSleep: (wake: () => void) => void,
): Promise<void> {
  const pending: string[] = [];
  while (!isStopping()) {
    if (await probe(opts.isRunning, stats)) {
      try {
        await writeOnce(opts, pool, stats, pending);
      } catch (error) {
        stats.errors += 1;
        stats.lastError = String(error);
      }
    }
    if (isStopping()) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, opts.intervalMs ?? 50);
      onSleep(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

async function probe(isRunning: () => Promise<boolean>, stats: WorkloadStats): Promise<boolean> {
  try {
    const running = await isRunning();
    stats.probes += 1;
    if (!running) stats.notRunning += 1;
    return running;
  } catch (error) {
    stats.errors += 1;
    stats.lastError = `isRunning: ${String(error)}`;
    return false;
  }
}

async function writeOnce(opts: WorkloadOptions, pool: pg.Pool, stats: WorkloadStats, pending: string[]) {
  const row = await writeChunk(pool, opts.s3, makeChunkData(opts.sizes ?? [4 * 1024, 64 * 1024]));
  stats.chunks += 1;
  stats.bytes += row.size;
  stats.keys.push(row.key);
  stats.lastWriteAt = new Date();
  pending.push(row.chunkId);
  if (pending.length >= (opts.commitEvery ?? 5)) {
    await writeCommit(pool, pending.splice(0));
    stats.commits += 1;
    stats.lastWriteAt = new Date();
  }
}
