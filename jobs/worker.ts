import { WebClient } from '@slack/web-api';
import { Worker } from 'bullmq';
import { loadConfig, requireSlack } from '../src/config/load.ts';
import { configSecrets } from '../src/config/secrets.ts';
import { limitHeapGrowth, runUntilSignalled } from '../src/lifecycle.ts';
import { createLogger } from '../src/log.ts';
import { PromptStore } from '../src/operations/prompts.ts';
import { StateStore } from '../src/operations/store.ts';
import { SlackAnnouncer } from '../src/slack/announcer.ts';
import { SlackReporter } from '../src/slack/reporter.ts';
import { createShardFanOut } from './mirror-shards/fan-out.ts';
import { startShardWorker } from './mirror-shards/shard-worker.ts';
import { createPhaseQueue, createQueueDispatcher, PHASE_QUEUE, PhaseJobData, toJobError } from './queue.ts';
import { type RunnerDeps, runPhase } from './run-phase.ts';
import { startScheduleWorker } from './schedules.ts';
import { createServiceCache } from './services.ts';
import { startWatchdog } from './watchdog-worker.ts';

/** The worker process: runs phase jobs, reports them in their threads, posts the next prompt. */
export async function startWorker(
  env: Record<string, string | undefined> = process.env,
): Promise<{ stop(): Promise<void> }> {
  const config = await loadConfig(env);
  const log = createLogger({
    name: 'pachops-worker',
    level: config.runtime.logLevel ?? 'info',
    secrets: configSecrets(config),
  });
  const { botToken } = requireSlack(config, { receiver: false });
  const store = new StateStore(config.stateDatabase.url, {
    onError: (error) => log.warn({ err: error }, 'a state database connection was lost; the pool reconnects'),
  });
  await store.migrate();
  const prompts = new PromptStore(store.pool);
  const queue = createPhaseQueue(config.redis);
  const client = new WebClient(botToken, {
    slackApiUrl: config.runtime.slackApiUrl,
    logger: undefined,
  });
  const reporter = new SlackReporter({
    client,
    config,
    store,
    prompts,
    log,
  });
  const deps: RunnerDeps = {
    config,
    store,
    prompts,
    dispatcher: createQueueDispatcher(store, queue, config.jobs),
    reporter,
    announcer: new SlackAnnouncer({ client, config, store, log }),
    log,
    services: createServiceCache(config),
    shards: createShardFanOut(config.redis, config.jobs),
  };
  const worker = new Worker(
    PHASE_QUEUE,
    async (job) => {
      const data = PhaseJobData.parse(job.data);
      try {
        await runPhase(deps, { ...data, attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1 });
      } catch (error) {
        throw toJobError(error);
      }
    },
    {
      prefix: config.redis.prefix,
      connection: { url: config.redis.url, maxRetriesPerRequest: null },
      concurrency: 4,
      // A worker killed mid-phase: its job is taken up again once its lock lapses (phases are idempotent).
      lockDuration: config.jobs.lockSeconds * 1000,
      stalledInterval: config.jobs.lockSeconds * 1000,
    },
  );
  worker.on('failed', (job, error) => {
    const data = PhaseJobData.safeParse(job?.data);
    const { operationId, phase } = data.success ? data.data : {};
    log.warn({ jobId: job?.id, operationId, phase, err: error }, 'phase job attempt failed');
  });
  const shardWorker = startShardWorker(deps);
  shardWorker.on('error', (error) => log.error({ err: error }, 'shard worker error'));
  const watchdog = await startWatchdog(deps, queue);
  const schedules = await startScheduleWorker({
    ...deps,
    post: async (channel, text) => void (await client.chat.postMessage({ channel, text })),
  });
  worker.on('error', (error) => log.error({ err: error }, 'worker error'));
  log.info('worker started');
  return {
    async stop() {
      await schedules.close();
      await watchdog.close();
      await shardWorker.close();
      await deps.shards?.close();
      await worker.close();
      await queue.close();
      await store.close();
      log.info('worker stopped');
    },
  };
}

if (import.meta.main) {
  limitHeapGrowth();
  await runUntilSignalled('pachops-worker', () => startWorker());
}
