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
export function createRollup(pool: pg.Pool, options: { lagSeconds?: number } = {}): Rollup {
  const lag = options.lagSeconds ?? FOLD_LAG_SECONDS;
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
        const finished = await loadAggregates(client, { from: foldedUntil, to: until, active: false });
        nextFolded = mergeAggregates(folded, finished);
        nextUntil = until;
      }
      const live = await loadAggregates(client, { from: nextUntil, to: 'infinity', active: true });
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
