import { createPhaseQueue, createQueueDispatcher } from '../jobs/queue.ts';
import { loadConfig, requireSlack } from './config/load.ts';
import { ConfigError, describeError } from './errors.ts';
import { createLogger } from './log.ts';
import { PromptStore } from './operations/prompts.ts';
import { StateStore } from './operations/store.ts';
import { createSlackApp } from './slack/app.ts';

/** The bot process: Slack in, operations recorded, phase jobs enqueued. It never touches a cluster. */
export async function startBot(
  env: Record<string, string | undefined> = process.env,
): Promise<{ stop(): Promise<void> }> {
  const config = await loadConfig(env);
  const log = createLogger({ name: 'pachops-bot', level: config.runtime.logLevel });
  const { botToken, signingSecret } = requireSlack(config, { signingSecret: true });
  const store = new StateStore(config.stateDatabase.url);
  await store.migrate();
  const prompts = new PromptStore(store.pool);
  const queue = createPhaseQueue(config.redis);
  const dispatcher = createQueueDispatcher(store, queue, config.jobs);
  const isReady = async () => {
    await store.pool.query('SELECT 1');
    await queue.getWaitingCount();
    return true;
  };
  const { app } = createSlackApp({
    config,
    store,
    prompts,
    dispatcher,
    log,
    botToken,
    signingSecret: signingSecret!,
    isReady,
  });
  await app.start();
  log.info({ port: config.runtime.port, socketMode: Boolean(config.runtime.slackAppToken) }, 'bot started');
  return {
    async stop() {
      await app.stop();
      await queue.close();
      await store.close();
      log.info('bot stopped');
    },
  };
}

/** Runs an entry until SIGTERM/SIGINT, then stops it gracefully; a bad configuration exits 2 with its message. */
export async function runUntilSignalled(
  name: string,
  start: () => Promise<{ stop(): Promise<void> }>,
): Promise<void> {
  let running: { stop(): Promise<void> };
  try {
    running = await start();
  } catch (error) {
    process.stderr.write(`${name}: ${describeError(error)}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  }
  const shutdown = async (signal: string) => {
    process.stderr.write(`${name}: ${signal}, shutting down\n`);
    await running.stop().catch((error) => process.stderr.write(`${name}: ${describeError(error)}\n`));
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

if (import.meta.main) await runUntilSignalled('pachops-bot', () => startBot());
