/**
 * The bot in Socket Mode (SLACK_APP_TOKEN set), a real process against the Slack stand-in's Socket Mode:
 * it connects with its app-level token; commands and clicks come as envelopes and are acked on the socket
 * within Slack's 3 s; its PORT still serves /healthz, /readyz and /metrics (the Helm chart's probes and
 * ServiceMonitor) but no Slack requests.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebClient } from '@slack/web-api';
import { execa } from 'execa';
import { parseExposition } from '../harness/prom-text.ts';
import { CHANNELS, type Scenario, startRgwScenario, USERS } from '../harness/scenario.ts';
import type { EphemeralMessage, SocketAck } from '../harness/slack/slack-standin.ts';
import { queryState } from '../harness/state-db.ts';

let scenario: Scenario;

beforeAll(async () => {
  // no signing secret: in Socket Mode nothing arrives over HTTP to check
  scenario = await startRgwScenario({ socketMode: true, env: { SLACK_SIGNING_SECRET: '' } });
  await scenario.startBot();
  await scenario.slack.waitFor(() => openConnections().length > 0, {
    timeoutMs: 15_000,
    what: `the bot to connect over Socket Mode; its log:\n${scenario.bot!.log().slice(-2000)}`,
  });
  // app.start() resolves (and the bot logs that it started) once Slack's hello has arrived
  await scenario.slack.waitFor(() => /"msg":"bot started"/.test(scenario.bot!.log()), {
    what: 'the bot to log that it started',
  });
}, 120_000);

afterAll(async () => {
  await scenario?.stop();
});

const openConnections = () => scenario.slack.socket.connections.filter((c) => c.closedAt === undefined);

/** Resolves with the next ephemeral message `userId` sees after `action`. */
async function nextEphemeral(userId: string, action: () => Promise<unknown>): Promise<EphemeralMessage> {
  const seen = scenario.slack.ephemerals({ userId }).length;
  await action();
  return scenario.slack.waitFor(() => scenario.slack.ephemerals({ userId })[seen], {
    what: `an ephemeral message to ${userId}`,
  });
}

/** The ack is for the envelope just sent (the stand-in fails an envelope not acked within Slack's 3 s). */
function expectAckOfLastEnvelope(ack: SocketAck | undefined, type: string): void {
  const envelope = scenario.slack.socket.envelopes.at(-1)!;
  expect(envelope.type).toBe(type);
  expect(ack?.envelopeId).toBe(envelope.envelope_id);
}

test('the bot connects with its app-level token, over one socket, and logs no token', async () => {
  const opens = scenario.slack.callsTo('apps.connections.open');
  expect(opens.length).toBeGreaterThanOrEqual(1);
  expect(opens.every((call) => call.result.ok === true)).toBe(true);
  expect(openConnections()).toHaveLength(1);
  expect(scenario.slack.socket.refused).toEqual([]);
  const log = scenario.bot!.log();
  expect(log).toMatch(/"socketMode":true[^\n]*"msg":"bot started"/);
  for (const secret of [scenario.slack.appToken, scenario.slack.botToken, scenario.slack.signingSecret]) {
    expect(log).not.toContain(secret);
  }
});

test('PORT answers /healthz, /readyz and /metrics (Prometheus text with pachops metrics)', async () => {
  const get = (path: string) => fetch(`${scenario.bot!.url}${path}`);
  const health = await get('/healthz');
  expect([health.status, await health.text()]).toEqual([200, 'ok']);
  const ready = await get('/readyz');
  expect([ready.status, await ready.text()]).toEqual([200, 'ready']);

  const metrics = await get('/metrics');
  expect(metrics.status).toBe(200);
  expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const exposition = parseExposition(await metrics.text());
  expect(exposition.types.get('pachops_operations_total')).toBe('counter');
  expect(exposition.types.get('pachops_phase_duration_seconds')).toBe('histogram');
  expect(exposition.value('pachops_cluster_paused', { cluster: 'prod' })).toBe(0);
  expect(exposition.value('pachops_last_complete_backup_timestamp_seconds', { cluster: 'prod' })).toBe(0);
});

/** `/pach <text>` from the requester in the ops channel, over the socket: its ack and the answer they see. */
async function commandOverSocket(text: string): Promise<{ ack: SocketAck; answer: EphemeralMessage }> {
  let ack: SocketAck | undefined;
  const answer = await nextEphemeral(USERS.requester, async () => {
    ack = await scenario.slack.socket.command({ userId: USERS.requester, channelId: CHANNELS.ops, text });
  });
  expectAckOfLastEnvelope(ack, 'slash_commands');
  return { ack: ack!, answer };
}

test('/pach help as an envelope is acked at once, and its answer reaches only the one who typed it', async () => {
  const { ack, answer } = await commandOverSocket('help');
  expect(ack.payload).toEqual({});
  expect(answer).toMatchObject({ channel: CHANNELS.ops, via: 'response_url' });
  expect(answer.text).toMatch(/^\*pachops\* backs up Pachyderm/);
  expect(answer.text).toContain('`/pach status` — operations in progress');
});

test('a malformed command is refused in the ack payload itself', async () => {
  const { ack, answer } = await commandOverSocket('frobnicate');
  expect(ack.payload).toMatchObject({
    response_type: 'ephemeral',
    text: expect.stringMatching(/frobnicate/),
  });
  expect(answer).toMatchObject({ channel: CHANNELS.ops, via: 'ack' });
  expect(answer.text).toMatch(/unknown command `frobnicate`/);
});

test('a click on an approval button of no known operation is acked and refused to the clicker only', async () => {
  // A message with an Approve button whose prompt id the bot never issued, as if left from another install.
  const bot = new WebClient(scenario.slack.botToken, { slackApiUrl: scenario.slack.apiUrl });
  const posted = await bot.chat.postMessage({
    channel: CHANNELS.ops,
    text: 'Approval needed',
    blocks: [
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: 'pachops:approve',
            text: { type: 'plain_text', text: 'Approve' },
            value: randomUUID(),
          },
        ],
      },
    ],
  });
  const operations = async () => (await queryState(scenario, 'SELECT id FROM operations')).length;
  const before = { operations: await operations(), messages: scenario.slack.messages(CHANNELS.ops).length };

  let ack: SocketAck | undefined;
  const answer = await nextEphemeral(USERS.approver, async () => {
    ack = await scenario.slack.socket.click({
      userId: USERS.approver,
      channelId: CHANNELS.ops,
      messageTs: posted.ts!,
      actionId: 'pachops:approve',
    });
  });
  expectAckOfLastEnvelope(ack, 'interactive');
  expect(answer).toMatchObject({ channel: CHANNELS.ops, text: 'This button belongs to no known operation.' });
  await sleep(300);
  expect({ operations: await operations(), messages: scenario.slack.messages(CHANNELS.ops).length }).toEqual(
    before,
  );
});

test('a signed slash command POSTed to PORT is not handled: only the custom routes are served', async () => {
  const seen = scenario.slack.ephemerals().length;
  const envelopes = scenario.slack.socket.envelopes.length;
  // to /slack/events, where the HTTP receiver would take it
  const input = { userId: USERS.requester, channelId: CHANNELS.ops, text: 'frobnicate' };
  const reply = await scenario.slack.command(scenario.bot!.url, input);
  expect(reply.status).toBe(404);
  await sleep(300);
  expect(scenario.slack.ephemerals()).toHaveLength(seen);
  expect(scenario.slack.socket.envelopes).toHaveLength(envelopes);
});

test("/readyz says not ready while the socket is down (Slack's disconnect), ready once Bolt has reconnected", async () => {
  const readyz = async () => {
    const response = await fetch(`${scenario.bot!.url}/readyz`);
    return `${response.status} ${await response.text()}`;
  };
  const [first] = openConnections();
  scenario.slack.socket.disconnect('refresh_requested');
  const down = await scenario.slack.waitFor(
    async () => {
      const answer = await readyz();
      return answer.startsWith('503') ? answer : undefined;
    },
    { what: '/readyz to say not ready' },
  );
  expect(down).toBe('503 not ready: the Slack socket is not connected');
  await scenario.slack.waitFor(() => openConnections().some((c) => c !== first), {
    timeoutMs: 20_000,
    what: 'the bot to reconnect',
  });
  await scenario.slack.waitFor(async () => (await readyz()) === '200 ready', {
    what: '/readyz to say ready',
  });
  // and commands reach it again, on the new socket
  const ack = await scenario.slack.socket.command({
    userId: USERS.requester,
    channelId: CHANNELS.ops,
    text: 'help',
  });
  expectAckOfLastEnvelope(ack, 'slash_commands');
  expect(scenario.bot!.log()).toMatch(/Slack socket down; Bolt reconnects/);
});

test('a second bot on a port already in use exits 1 naming the port, without a stack trace', async () => {
  const port = new URL(scenario.bot!.url).port;
  const second = await execa(process.execPath, [new URL('../../src/bot.ts', import.meta.url).pathname], {
    env: { ...scenario.env, SLACK_SIGNING_SECRET: '', PORT: port },
    reject: false,
    timeout: 30_000,
  });
  expect(second.exitCode).toBe(1);
  expect(second.stderr).toContain(
    `pachops-bot: cannot serve /healthz, /readyz, /metrics on port ${port}: listen EADDRINUSE`,
  );
  expect(second.stderr).not.toMatch(/\n\s+at /);
  // the first bot still answers, on its one socket
  expect(openConnections()).toHaveLength(1);
  expect((await fetch(`${scenario.bot!.url}/healthz`)).status).toBe(200);
});

test('on SIGTERM the bot exits 0 after closing its socket with a close frame (1000), not dropping it', async () => {
  const [connection] = openConnections();
  expect(await scenario.bot!.stop()).toBe(0);
  await scenario.slack.waitFor(() => connection!.closedAt !== undefined, { what: 'the socket to close' });
  expect(connection!.closeCode).toBe(1000);
});
