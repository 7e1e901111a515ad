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

/**
 * Sums over the whole history without reading it all on every scrape: operations that finished more
 * than FOLD_LAG_SECONDS ago are summed once (the first read sums everything up to then) and kept; each
 * read then sums only the active operations and those finished since, in one snapshot. Finished
 * operations do not change, so the kept totals stay right; every bot replica derives the same numbers.
 */
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

export function createRollup(pool: pg.Pool, options: RollupOptions = {}): Rollup {
  const lag = options.lagSeconds ?? FOLD_LAG_SECONDS;
  const timeoutMs = options.timeoutMs ?? 5000;
  const foldTimeoutMs = options.foldTimeoutMs ?? 120_000;
  const statementTimeout = (client: pg.PoolClient, ms: number) =>
    client.query(`SET LOCAL statement_timeout = ${Math.round(ms)}`);
  let folded: Aggregates = EMPTY_AGGREGATES;
  let foldedUntil: Date | '-infinity' = '-infinity';
  let reading: Promise<Aggregates> | undefined;
  const readOnce = async (): Promise<Aggregates> => {
    const client = await pool.connect();
    let failed: Error | undefined;
    try {
      await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { rows } = await client.query<{ until: Date; due: boolean }>(
        `SELECT now() - make_interval(secs => $1) AS until,
             $2::timestamptz < now() - make_interval(secs => $1 * 2) AS due`,
        [lag, foldedUntil],
      );
      const { until, due } = rows[0]!;
      let nextFolded = folded;
      let nextUntil = foldedUntil;
      if (due) {
        await statementTimeout(client, foldTimeoutMs);
        const window = { from: foldedUntil, to: until, active: false };
        const finished = await loadAggregates(client, window, foldTimeoutMs);
        nextFolded = mergeAggregates(folded, finished);
        nextUntil = until;
      }
      await statementTimeout(client, timeoutMs);
      const live = await loadAggregates(client, { from: nextUntil, to: 'infinity', active: true }, timeoutMs);
      await client.query('COMMIT');
      // Kept only once the whole read succeeded: a timed-out read leaves the totals as they were.
      folded = nextFolded;
      foldedUntil = nextUntil;
      return mergeAggregates(folded, live);
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
