import { App, type CustomRoute } from '@slack/bolt';
import type { Config } from '../config/load.ts';
import type { Logger } from '../log.ts';
import type { Dispatcher } from '../operations/ports.ts';
import type { PromptStore } from '../operations/prompts.ts';
import type { StateStore } from '../operations/store.ts';
import { openBucket } from '../storage/s3.ts';
import { registerAbortRunning } from './actions/abort-running.ts';
import { registerPromptButtons } from './actions/prompt-buttons.ts';
import { createAfterAck } from './after-ack.ts';
import { SlackAnnouncer } from './announcer.ts';
import { createClusterRoles } from './approvers.ts';
import { toBoltLogger } from './bolt-logger.ts';
import { registerPachCommand } from './commands/pach.ts';
import type { BotDeps, ScheduleDeps } from './deps.ts';
import { healthRoutes } from './health-routes.ts';
import { SlackReporter } from './reporter.ts';
import { createSocketReceiver } from './socket-receiver.ts';
import { registerRestoreForm } from './views/restore-submit.ts';

export interface SlackAppOptions {
  config: Config;
  store: StateStore;
  prompts: PromptStore;
  dispatcher: Dispatcher;
  log: Logger;
  botToken: string;
  /** Checks HTTP requests' signatures; absent in Socket Mode. */
  signingSecret?: string;
  /** Readiness: the state database and Redis answer. */
  isReady: () => Promise<boolean>;
  schedules: ScheduleDeps;
  /** More routes on the same HTTP port (`/metrics`), in Socket Mode too. */
  routes?: CustomRoute[];
}

/**
 * The Bolt app: HTTP receiver (or Socket Mode when SLACK_APP_TOKEN is set), `/pach`, the prompt buttons,
 * `/healthz` + `/readyz` for the orchestrator's probes, and any further `routes` (`/metrics`).
 */
export function createSlackApp(options: SlackAppOptions): { app: App; deps: BotDeps } {
  const { config, log } = options;
  const { slackAppToken, slackApiUrl, port } = config.runtime;
  // ready: the state database and Redis answer, and in Socket Mode the socket to Slack is up
  const routes = [...healthRoutes(() => whyNotReady()), ...(options.routes ?? [])];
  const socket = slackAppToken
    ? createSocketReceiver({ appToken: slackAppToken, port, routes, slackApiUrl, log })
    : undefined;
  const whyNotReady = async () => {
    if (socket && !socket.connected()) return 'the Slack socket is not connected';
    const ready = await options.isReady().catch(() => false);
    return ready ? undefined : 'the state database or Redis does not answer';
  };
  const app = new App({
    token: options.botToken,
    // Socket Mode: the receiver is ours (readiness follows its socket); HTTP: Bolt's, with the routes
    ...(socket
      ? { receiver: socket.receiver, socketMode: true }
      : { signingSecret: options.signingSecret, port, customRoutes: routes }),
    // Bolt's conversation store keeps state per conversation for every event; nothing here reads it.
    convoStore: false,
    logger: toBoltLogger(log.child({ component: 'bolt' })),
    clientOptions: slackApiUrl ? { slackApiUrl } : undefined,
  });
  const reporter = new SlackReporter({
    client: app.client,
    config,
    store: options.store,
    prompts: options.prompts,
    log,
  });
  const buckets = new Map<string, ReturnType<typeof openBucket>>();
  const scheduler = createAfterAck();
  // every request that passed the signature check, before any listener: follow-ups wait for quiet
  app.use(async ({ next }) => {
    scheduler.arrived();
    await next();
  });
  const deps: BotDeps = {
    config,
    store: options.store,
    prompts: options.prompts,
    dispatcher: options.dispatcher,
    reporter,
    announcer: new SlackAnnouncer({ client: app.client, config, store: options.store, log }),
    log,
    ...createClusterRoles(app.client, config, log),
    schedules: options.schedules,
    afterAck: scheduler.afterAck,
    backupBucket: (cluster) => {
      if (!buckets.has(cluster.name)) buckets.set(cluster.name, openBucket(cluster.backup));
      return buckets.get(cluster.name)!;
    },
  };
  registerPachCommand(app, deps);
  registerPromptButtons(app, deps);
  registerAbortRunning(app, deps);
  registerRestoreForm(app, deps);
  app.error(async (error) => {
    log.error({ err: error }, 'unhandled error in a Slack handler');
  });
  return { app, deps };
}
