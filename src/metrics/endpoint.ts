import type { IncomingMessage, ServerResponse } from 'node:http';
import pg from 'pg';
import type { Logger } from '../log.ts';
import { createMetricsRegistry } from './registry.ts';
import { createRollup } from './rollup.ts';

/** A scrape that cannot read the state database within this long answers 503 (Prometheus' default timeout is 10 s). */
const DEFAULT_TIMEOUT_MS = 5000;

export interface MetricsEndpointOptions {
  stateDatabaseUrl: string;
  clusters: readonly string[];
  log: Logger;
  timeoutMs?: number;
  defaultMetrics?: boolean;
}

export interface MetricsEndpoint {
  /** `GET /metrics`: Prometheus' text format, or 503 with a one-line reason. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

/**
 * `/metrics` on the bot's HTTP port. Its own one-connection pool, with connect and query timeouts, so
 * that a slow or unreachable state database makes a scrape fail fast (503) and never holds a connection
 * that Slack handlers need. A read that outlasts the scrape (the first fold of a long history) goes on,
 * and the next scrape finds its totals.
 */
export function createMetricsEndpoint(options: MetricsEndpointOptions): MetricsEndpoint {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const log = options.log.child({ component: 'metrics' });
  const pool = openPool(options.stateDatabaseUrl, timeoutMs, log);
  const rollup = createRollup(pool, { timeoutMs });
  const registry = createMetricsRegistry({
    read: () => rollup.read(),
    clusters: options.clusters,
    defaultMetrics: options.defaultMetrics,
  });
  let failing = false;
  return {
    handle(_req, res) {
      within(timeoutMs, registry.metrics()).then(
        (text) => {
          if (failing) log.info('metrics read again from the state database');
          failing = false;
          res.writeHead(200, { 'Content-Type': registry.contentType }).end(text);
        },
        (error: Error) => {
          // Once per outage in the logs, not once per scrape.
          if (!failing) log.warn({ err: error }, 'cannot read metrics from the state database');
          failing = true;
          res
            .writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' })
            .end('metrics unavailable: the state database did not answer in time (details in the bot log)\n');
        },
      );
    },
    close: () => pool.end(),
  };
}

function openPool(url: string, timeoutMs: number, log: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: 1,
    connectionTimeoutMillis: timeoutMs,
    keepAlive: true,
    idleTimeoutMillis: 60_000,
    application_name: 'pachops-metrics',
  });
  pool.on('error', (error) =>
    log.warn({ err: error }, 'a metrics connection was lost; the next scrape reconnects'),
  );
  return pool;
}

/** `promise`, or a rejection after `ms` (the promise itself goes on). */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
