import { createPhaseQueue, createQueueDispatcher } from '../jobs/queue.ts';
import { createScheduleQueue } from '../jobs/schedules.ts';
import { loadConfig, requireSlack } from './config/load.ts';
import { configSecrets } from './config/secrets.ts';
import { runUntilSignalled } from './lifecycle.ts';
import { createLogger } from './log.ts';
import { createMetricsEndpoint } from './metrics/endpoint.ts';
import { PromptStore } from './operations/prompts.ts';
import { ScheduleStore } from './operations/schedules.ts';
import { StateStore } from './operations/store.ts';
import { createSlackApp } from './slack/app.ts';

/** The bot process: Slack in, operations recorded, phase jobs enqueued. It never touches a cluster. */
export async function startBot(
  env: Record<string, string | undefined> = process.env,
): Promise<{ stop(): Promise<void> }> {
  const config = await loadConfig(env);
  const log = createLogger({
    name: 'pachops-bot',
    level: config.runtime.logLevel ?? 'info',
    secrets: configSecrets(config),
  });
  const { botToken, signingSecret } = requireSlack(config, { receiver: true });
  const store = new StateStore(config.stateDatabase.url, {
    onError: (error) => log.warn({ err: error }, 'a state database connection was lost; the pool reconnects'),
  });
  await store.migrate();
  const prompts = new PromptStore(store.pool);
  const queue = createPhaseQueue(config.redis);
  const dispatcher = createQueueDispatcher(store, queue, config.jobs);
  const schedules = { store: new ScheduleStore(store.pool), queue: createScheduleQueue(config.redis) };
  const isReady = async () => {
    await store.pool.query('SELECT 1');
    await queue.getWaitingCount();
    return true;
  };
  const metrics = createMetricsEndpoint({
    stateDatabaseUrl: config.stateDatabase.url,
    clusters: Object.keys(config.clusters),
    log,
    defaultMetrics: true,
  });
  const { app } = createSlackApp({
    config,
    store,
    prompts,
    dispatcher,
    log,
    botToken,
    signingSecret,
    isReady,
    schedules,
    routes: [{ path: '/metrics', method: 'GET', handler: (req, res) => metrics.handle(req, res) }],
  });
  await app.start();
  log.info({ port: config.runtime.port, socketMode: Boolean(config.runtime.slackAppToken) }, 'bot started');
  return {
    async stop() {
      await app.stop();
      await queue.close();
      await schedules.queue.close();
      await store.close();
      await metrics.close();
      log.info('bot stopped');
    },
  };
}

if (import.meta.main) await runUntilSignalled('pachops-bot', () => startBot());
