import type pg from 'pg';

/** Upper bounds (seconds) of the duration histograms: a second to eight hours. */
export const DURATION_BUCKETS: readonly number[] = [
  1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800,
];

/** One histogram series: observations per bucket (index i: ≤ DURATION_BUCKETS[i]; the last: +Inf). */
export interface HistogramSeries {
  labels: Record<string, string>;
  buckets: number[];
  count: number;
  sum: number;
}

/** What the state database says, summed over a set of operations (see `loadAggregates`). */
export interface Aggregates {
  /** Operations by cluster, kind and status; `finished` ones are final, the others still active. */
  operations: { cluster: string; kind: string; status: string; finished: boolean; count: number }[];
  /** Active operations holding their cluster paused, by cluster. */
  paused: { cluster: string; count: number }[];
  phaseSeconds: HistogramSeries[];
  downtimeSeconds: HistogramSeries[];
  /** Objects and bytes copied into a backup (or restore) bucket, by cluster and phase. */
  copied: { cluster: string; phase: string; objects: number; bytes: number }[];
  /** When each cluster's newest complete (mirrored and verified) backup was written, in epoch seconds. */
  lastBackup: { cluster: string; at: number }[];
}

/**
 * Which operations to sum: those finished in [from, to), plus the active ones when `active`. Dates come
 * from the database's clock; `-infinity`/`infinity` are open ends.
 */
export interface OperationWindow {
  from: Date | '-infinity';
  to: Date | 'infinity';
  active: boolean;
}

const WINDOW = `WITH ops AS (
  SELECT * FROM operations
  WHERE (finished_at >= $1::timestamptz AND finished_at < $2::timestamptz) OR ($3 AND finished_at IS NULL))`;

/**
 * The bucket index of a duration in seconds: how many bounds lie below it (Prometheus' `le`). width_bucket
 * counts the bounds at or below a value, so it is given the value and the bounds negated ($4, ascending).
 */
const BUCKET = (seconds: string) =>
  `${DURATION_BUCKETS.length} - width_bucket(-(${seconds}), $4::float8[]) AS bucket`;

/** The bounds negated, in ascending order: what BUCKET hands width_bucket. */
const NEGATED_BOUNDS = DURATION_BUCKETS.map((b) => -b).reverse();

const QUERIES = {
  operations: `${WINDOW}
    SELECT cluster, kind, status, finished_at IS NOT NULL AS finished, count(*)::int AS count,
      count(*) FILTER (WHERE cluster_paused AND finished_at IS NULL)::int AS paused
    FROM ops GROUP BY 1, 2, 3, 4`,
  phases: `${WINDOW}
    SELECT o.cluster, o.kind, p.name AS phase, ${BUCKET('p.duration_ms / 1000.0')},
      count(*)::int AS count, sum(p.duration_ms)::float8 / 1000 AS sum
    FROM ops o JOIN phases p ON p.operation_id = o.id
    WHERE p.status = 'succeeded' AND p.duration_ms IS NOT NULL
    GROUP BY 1, 2, 3, 4`,
  downtime: `${WINDOW}
    SELECT cluster, kind, ${BUCKET(`(state->>'downtimeMs')::float8 / 1000`)},
      count(*)::int AS count, sum((state->>'downtimeMs')::float8) / 1000 AS sum
    FROM ops WHERE state->>'downtimeMs' IS NOT NULL
    GROUP BY 1, 2, 3`,
  copied: `${WINDOW}
    SELECT o.cluster, c.phase, sum(c.objects)::float8 AS objects, sum(c.bytes)::float8 AS bytes
    FROM ops o CROSS JOIN LATERAL (VALUES
      ('precopy', (o.state->'precopy'->>'copied')::float8, (o.state->'precopy'->>'copiedBytes')::float8),
      ('mirror', (o.state->'mirror'->>'copied')::float8, (o.state->'mirror'->>'copiedBytes')::float8),
      ('restore-bucket', (o.state->'restore'->'bucket'->>'copied')::float8,
        (o.state->'restore'->'bucket'->>'copiedBytes')::float8)
    ) AS c (phase, objects, bytes)
    WHERE c.objects IS NOT NULL
    GROUP BY 1, 2`,
  lastBackup: `${WINDOW}
    SELECT o.cluster, extract(epoch FROM max(m.finished_at))::float8 AS at
    FROM ops o
    JOIN phases m ON m.operation_id = o.id AND m.name = 'mirror' AND m.status = 'succeeded'
    JOIN phases v ON v.operation_id = o.id AND v.name = 'verify' AND v.status = 'succeeded'
    WHERE o.kind = 'backup' AND NOT o.dry_run
    GROUP BY 1`,
};

/**
 * Sums the operations of one window in SQL: a handful of rows per cluster come back, however long the
 * history. Run it inside one REPEATABLE READ transaction so that every part sees the same rows; each
 * query is abandoned after `timeoutMs`.
 */
export async function loadAggregates(
  client: pg.ClientBase,
  window: OperationWindow,
  timeoutMs: number,
): Promise<Aggregates> {
  const params = [window.from, window.to, window.active];
  const run = async (text: string) => {
    // Only the histogram queries take the bucket bounds ($4): PostgreSQL refuses a parameter it cannot type.
    const values = text.includes('$4') ? [...params, NEGATED_BOUNDS] : params;
    // query_timeout: the client gives up even when the server cannot say so (a dead network path).
    return (await client.query({ text, values, query_timeout: timeoutMs } as pg.QueryConfig)).rows;
  };
  const operations = await run(QUERIES.operations);
  return {
    operations: operations.map((r) => ({
      cluster: r.cluster,
      kind: r.kind,
      status: r.status,
      finished: r.finished,
      count: r.count,
    })),
    paused: operations.filter((r) => r.paused > 0).map((r) => ({ cluster: r.cluster, count: r.paused })),
    phaseSeconds: toHistograms(await run(QUERIES.phases), ['cluster', 'kind', 'phase']),
    downtimeSeconds: toHistograms(await run(QUERIES.downtime), ['cluster', 'kind']),
    copied: (await run(QUERIES.copied)).map((r) => ({
      cluster: r.cluster,
      phase: r.phase,
      objects: r.objects,
      bytes: r.bytes,
    })),
    lastBackup: (await run(QUERIES.lastBackup)).map((r) => ({ cluster: r.cluster, at: r.at })),
  };
}

function toHistograms(rows: Record<string, unknown>[], labelNames: string[]): HistogramSeries[] {
  const series = new Map<string, HistogramSeries>();
  for (const row of rows) {
    const labels = Object.fromEntries(labelNames.map((name) => [name, String(row[name])]));
    const key = JSON.stringify(labels);
    let entry = series.get(key);
    if (!entry) {
      entry = { labels, buckets: new Array(DURATION_BUCKETS.length + 1).fill(0), count: 0, sum: 0 };
      series.set(key, entry);
    }
    entry.buckets[row.bucket as number] += row.count as number;
    entry.count += row.count as number;
    entry.sum += row.sum as number;
  }
  return [...series.values()];
}

/** The sums of two disjoint sets of operations. */
export function mergeAggregates(a: Aggregates, b: Aggregates): Aggregates {
  return {
    operations: mergeBy(a.operations, b.operations, ['cluster', 'kind', 'status', 'finished'], ['count']),
    paused: mergeBy(a.paused, b.paused, ['cluster'], ['count']),
    phaseSeconds: mergeHistograms(a.phaseSeconds, b.phaseSeconds),
    downtimeSeconds: mergeHistograms(a.downtimeSeconds, b.downtimeSeconds),
    copied: mergeBy(a.copied, b.copied, ['cluster', 'phase'], ['objects', 'bytes']),
    lastBackup: [...a.lastBackup, ...b.lastBackup].reduce<Aggregates['lastBackup']>((out, row) => {
      const same = out.find((r) => r.cluster === row.cluster);
      if (!same) out.push({ ...row });
      else same.at = Math.max(same.at, row.at);
      return out;
    }, []),
  };
}

export const EMPTY_AGGREGATES: Aggregates = {
  operations: [],
  paused: [],
  phaseSeconds: [],
  downtimeSeconds: [],
  copied: [],
  lastBackup: [],
};

function mergeBy<T extends object>(a: T[], b: T[], keys: (keyof T)[], sums: (keyof T)[]): T[] {
  const out = new Map<string, T>();
  for (const row of [...a, ...b]) {
    const key = JSON.stringify(keys.map((k) => row[k]));
    const same = out.get(key);
    if (!same) out.set(key, { ...row });
    else for (const s of sums) (same[s] as number) += row[s] as number;
  }
  return [...out.values()];
}

function mergeHistograms(a: HistogramSeries[], b: HistogramSeries[]): HistogramSeries[] {
  const out = new Map<string, HistogramSeries>();
  for (const series of [...a, ...b]) {
    const key = JSON.stringify(series.labels);
    const same = out.get(key);
    if (!same) out.set(key, { ...series, buckets: [...series.buckets] });
    else {
      same.count += series.count;
      same.sum += series.sum;
      series.buckets.forEach((n, i) => {
        same.buckets[i]! += n;
      });
    }
  }
  return [...out.values()];
}
