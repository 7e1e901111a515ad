/**
 * The watchdog's escalation of a long pause mentions the approvers of the paused cluster: its own when it
 * has some, else the global ones. Real state database, Redis queue and Slack reporter (on the Slack
 * stand-in); the watchdog run is the worker's own function.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { webApi } from '@slack/bolt';
import { Queue } from 'bullmq';
import { createQueueDispatcher } from '../../jobs/queue.ts';
import { runWatchdog } from '../../jobs/watchdog.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log.ts';
import { PromptStore } from '../../src/operations/prompts.ts';
import { StateStore } from '../../src/operations/store.ts';
import { SlackAnnouncer } from '../../src/slack/announcer.ts';
import { SlackReporter } from '../../src/slack/reporter.ts';
import { twoClusters } from '../config/two-clusters.ts';
import { type SlackStandin, startSlack } from '../harness/slack/slack-standin.ts';
import { stackEnv, uniqueName } from '../harness/stack-env.ts';

const env = stackEnv();
const config = parseConfig(twoClusters(), {});
const log = createLogger({
  name: 'test',
  level: 'silent',
  destination: new Writable({ write: (_c, _e, done) => done() }),
});
let slack: SlackStandin;
let store: StateStore;
let queue: Queue;

beforeAll(async () => {
  slack = await startSlack({ channels: { C0OPS: 'ops', C0STAGE: 'staging-ops' } });
  store = new StateStore(await env.postgres.createDatabase(uniqueName('pachops-watchdog')));
  await store.migrate();
  queue = new Queue(uniqueName('phases'), { connection: { url: env.redis.url } });
});

afterAll(async () => {
  await queue?.close();
  await store?.close();
  await slack?.close();
});

/** An operation of `cluster` whose thread is in `channel`, paused by pachops `minutes` ago. */
async function pausedOperation(client: webApi.WebClient, cluster: string, channel: string, minutes: number) {
  const id = randomUUID();
  await store.createOperation({
    id,
    kind: 'backup',
    cluster,
    requestedBy: 'U0RITA',
    via: 'slack',
    options: { skipDatabases: [], dryRun: false },
    backupId: `${cluster}-20261124t120000z-${id.slice(0, 4)}`,
  });
  const parent = await client.chat.postMessage({ channel, text: `backup of ${cluster}` });
  await store.setThread(id, { channel, ts: parent.ts! });
  await store.setClusterPaused(id, true);
  const startedAt = new Date(Date.now() - minutes * 60_000).toISOString();
  await store.patchState(id, { pause: { mode: 'scale', startedAt, replicas: {} } });
}

test("an escalation mentions the paused cluster's own approvers, else the global ones", async () => {
  const client = new webApi.WebClient(slack.botToken, { slackApiUrl: slack.apiUrl });
  const prompts = new PromptStore(store.pool);
  await pausedOperation(client, 'prod', 'C0OPS', 61);
  await pausedOperation(client, 'staging', 'C0STAGE', 61);
  await runWatchdog(
    {
      config,
      store,
      prompts,
      dispatcher: createQueueDispatcher(store, queue, config.jobs),
      reporter: new SlackReporter({ client, config, store, prompts, log }),
      announcer: new SlackAnnouncer({ client, config, store, log }),
      log,
      services: () => {
        throw new Error('the watchdog does not act on clusters when it escalates');
      },
    },
    queue,
  );
  const alerts = (channel: string) =>
    slack.messages(channel).filter((m) => /:rotating_light:/.test(m.text) && !m.thread_ts);
  expect(alerts('C0STAGE').map((m) => m.text)).toEqual([
    expect.stringMatching(
      /^:rotating_light: <@U0BOB> <!subteam\^S0STAGE> staging has been paused for 1 h 1 min/,
    ),
  ]);
  expect(alerts('C0OPS').map((m) => m.text)).toEqual([
    expect.stringMatching(
      /^:rotating_light: <@U0ALICE> <!subteam\^S0SRE> prod has been paused for 1 h 1 min/,
    ),
  ]);
});
