import { Queue, Worker } from 'bullmq';
import type { RunnerDeps } from './run-phase.ts';
import { runWatchdog } from './watchdog.ts';

export const WATCHDOG_QUEUE = 'pachops-watchdog';

/**
 * The watchdog's own queue and repeatable job (one scheduler, however many workers run): it keeps
 * running when an operation's own jobs are stuck, failed or lost.
 */
export async function startWatchdog(deps: RunnerDeps, phases: Queue): Promise<{ close(): Promise<void> }> {
  const { redis, jobs } = deps.config;
  const connection = { url: redis.url, maxRetriesPerRequest: null };
  const queue = new Queue(WATCHDOG_QUEUE, { prefix: redis.prefix, connection });
  await queue.upsertJobScheduler(
    'watchdog',
    { every: jobs.watchdogIntervalSeconds * 1000 },
    { name: 'watchdog', opts: { removeOnComplete: 10, removeOnFail: 50 } },
  );
  const worker = new Worker(WATCHDOG_QUEUE, () => runWatchdog(deps, phases), {
    prefix: redis.prefix,
    connection,
    concurrency: 1,
  });
  worker.on('failed', (_job, error) => deps.log.warn({ err: error }, 'watchdog run failed'));
  return {
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
