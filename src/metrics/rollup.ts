import type pg from 'pg';
import { type Aggregates, EMPTY_AGGREGATES, loadAggregates, mergeAggregates } from './aggregates.ts';

/**
 * How far behind the database's clock finished operations are folded into the running totals: an
 * operation's `finished_at` is its statement's start, and it commits a moment later; anything finishing
 * within this margin is still read live, so a late commit is never skipped.
 */
const FOLD_LAG_SECONDS = 600;

export interface Rollup {
  /** Totals over every operation in the state database, as of this call. */
  read(): Promise<Aggregates>;
}

export interface RollupOptions {
  /** Default FOLD_LAG_SECONDS. */
  lagSeconds?: number;
  /** Each query of a read of what changed lately: a scrape's time box. Default 5 s. */
  timeoutMs?: number;
  /**
   * Each query of a fold: the first one after a start sums the whole history (2.6 s for 100,000 operations
   * here), so it may outlast a scrape; it goes on, and the scrapes after it are quick again. Default 120 s.
   */
  foldTimeoutMs?: number;
}

/**
 * Sums over the whole history without reading it all on every scrape: operations that finished more
 * than FOLD_LAG_SECONDS ago are summed once (the first read sums everything up to then) and kept; each
 * read then sums only the active operations and those finished since, in one snapshot. Finished
 * operations do not change, so the kept totals stay right; every bot replica derives the same numbers.
 */
export function createRollup(pool: pg.Pool, options: RollupOptions = {}): Rollup {
  const settings: Settings = {
    lagSeconds: options.lagSeconds ?? FOLD_LAG_SECONDS,
    timeoutMs: options.timeoutMs ?? 5000,
    foldTimeoutMs: options.foldTimeoutMs ?? 120_000,
  };
  let kept: Kept = { folded: EMPTY_AGGREGATES, until: '-infinity' };
  let reading: Promise<Aggregates> | undefined;
  const readOnce = async (): Promise<Aggregates> => {
    const client = await pool.connect();
    let failed: Error | undefined;
    try {
      const { next, live } = await readInTransaction(client, kept, settings);
      // Kept only once the whole read succeeded: a timed-out read leaves the totals as they were.
      kept = next;
      return mergeAggregates(kept.folded, live);
    } catch (error) {
      failed = error as Error;
      throw error;
    } finally {
      // A connection whose query failed or timed out is dropped, not reused mid-transaction.
      client.release(failed);
    }
  };
  return {
    // Scrapes that arrive together share one read (and never fold twice).
    read() {
      reading ??= readOnce().finally(() => {
        reading = undefined;
      });
      return reading;
    },
  };
}

/** The totals of operations finished before `until`. */
interface Kept {
  folded: Aggregates;
  until: Date | '-infinity';
}

type Settings = Required<RollupOptions>;

/** One snapshot: folds what became old enough when due, then sums what is left (the live part). */
async function readInTransaction(
  client: pg.PoolClient,
  kept: Kept,
  settings: Settings,
): Promise<{ next: Kept; live: Aggregates }> {
  const statementTimeout = (ms: number) => client.query(`SET LOCAL statement_timeout = ${Math.round(ms)}`);
  await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const { rows } = await client.query<{ until: Date; due: boolean }>(
    `SELECT now() - make_interval(secs => $1) AS until,
       $2::timestamptz < now() - make_interval(secs => $1 * 2) AS due`,
    [settings.lagSeconds, kept.until],
  );
  const { until, due } = rows[0]!;
  let next = kept;
  if (due) {
    await statementTimeout(settings.foldTimeoutMs);
    const window = { from: kept.until, to: until, active: false };
    const finished = await loadAggregates(client, window, settings.foldTimeoutMs);
    next = { folded: mergeAggregates(kept.folded, finished), until };
  }
  await statementTimeout(settings.timeoutMs);
  const window = { from: next.until, to: 'infinity' as const, active: true };
  const live = await loadAggregates(client, window, settings.timeoutMs);
  await client.query('COMMIT');
  return { next, live };
}
