/**
 * The stand-in's Socket Mode against Bolt's own SocketModeReceiver (the real @slack/socket-mode
 * client): tokens, the one-time URL, hello, envelopes and acks, Slack's disconnect message.
 */
import {
  App,
  type BlockAction,
  type ButtonAction,
  type Logger,
  LogLevel,
  SocketModeReceiver,
} from '@slack/bolt';
import { WebSocket } from 'ws';
import { type SlackStandin, startSlack } from './slack-standin.ts';

const ops = 'C0OPS';
const alice = 'U0ALICE';

let slack: SlackStandin;
let app: App;

/** Bolt's and the socket client's logger, silent: the warnings of a test that fails show in its assertions. */
function quietLogger(): Logger {
  let level = LogLevel.ERROR;
  return {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: () => {},
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

function registerListeners(bolt: App): void {
  bolt.command('/pach', async ({ ack, command, client, respond }) => {
    if (command.text === 'help') return ack('Usage: /pach backup');
    if (command.text === 'slow') return; // never acked
    await ack();
    if (command.text === 'respond') {
      await respond({ response_type: 'ephemeral', text: 'Only you can see this' });
      return;
    }
    await client.chat.postMessage({
      channel: command.channel_id,
      text: 'Backup of prod requested',
      blocks: [
        {
          type: 'actions',
          elements: [
            {
              type: 'button',
              action_id: 'approve',
              text: { type: 'plain_text', text: 'Approve' },
              value: 'op-1',
            },
          ],
        },
      ],
    });
  });
  bolt.action<BlockAction<ButtonAction>>('approve', async ({ ack, body, action, client }) => {
    await ack();
    await client.chat.postEphemeral({
      channel: body.channel!.id,
      user: body.user.id,
      text: `You approved ${action.value}`,
    });
  });
}

beforeAll(async () => {
  slack = await startSlack({ channels: { [ops]: 'ops' }, users: { [alice]: 'alice' } });
  const logger = quietLogger();
  app = new App({
    token: slack.botToken,
    logger,
    clientOptions: { slackApiUrl: slack.apiUrl },
    receiver: new SocketModeReceiver({
      appToken: slack.appToken,
      logger,
      // Reconnects after Slack's disconnect message wait this long (default 5 s).
      clientPingTimeout: 500,
      installerOptions: { clientOptions: { slackApiUrl: slack.apiUrl } },
    }),
  });
  registerListeners(app);
  await app.start();
});

afterAll(async () => {
  await app?.stop();
  await slack?.close();
});

async function callApi(method: string, token: string | undefined): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const response = await fetch(`${slack.apiUrl}${method}`, { method: 'POST', headers });
  return (await response.json()) as Record<string, unknown>;
}

test('apps.connections.open takes the app-level token only, and the bot methods refuse it', async () => {
  expect(await callApi('apps.connections.open', slack.appToken)).toMatchObject({
    ok: true,
    url: expect.stringMatching(/^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=[\w-]+&app_id=A0PACHOPS$/),
  });
  expect(await callApi('apps.connections.open', slack.botToken)).toEqual({
    ok: false,
    error: 'not_allowed_token_type',
  });
  expect(await callApi('apps.connections.open', 'xapp-1-A0OTHER-1-0000')).toEqual({
    ok: false,
    error: 'invalid_auth',
  });
  expect(await callApi('apps.connections.open', undefined)).toEqual({ ok: false, error: 'not_authed' });
  expect(await callApi('auth.test', slack.appToken)).toEqual({ ok: false, error: 'not_allowed_token_type' });
});

test('Bolt connects over the socket; a command is acked with its payload shown, a respond arrives', async () => {
  expect(slack.socket.connections.filter((c) => !c.closedAt)).toHaveLength(1);
  const help = await slack.socket.command({ userId: alice, channelId: ops, text: 'help' });
  expect(help).toMatchObject({
    envelopeId: slack.socket.envelopes.at(-1)!.envelope_id,
    payload: { text: 'Usage: /pach backup' },
  });
  expect(slack.ephemerals({ userId: alice }).at(-1)).toMatchObject({
    text: 'Usage: /pach backup',
    via: 'ack',
  });

  const respond = await slack.socket.command({ userId: alice, channelId: ops, text: 'respond' });
  expect(respond.payload).toEqual({});
  await slack.waitFor(() =>
    slack
      .ephemerals({ userId: alice })
      .find((m) => m.text === 'Only you can see this' && m.via === 'response_url'),
  );
});

test('a button click in an interactive envelope is acked and handled', async () => {
  await slack.socket.command({ userId: alice, channelId: ops, text: 'backup prod' });
  const message = await slack.waitForMessage(ops, /Backup of prod requested/);
  const ack = await slack.socket.click({
    userId: alice,
    channelId: ops,
    messageTs: message.ts,
    actionId: 'approve',
  });
  expect(slack.socket.envelopes.at(-1)).toMatchObject({
    envelope_id: ack.envelopeId,
    type: 'interactive',
    accepts_response_payload: false,
    payload: { type: 'block_actions', actions: [{ action_id: 'approve', value: 'op-1' }] },
  });
  await slack.waitFor(() => slack.ephemerals({ userId: alice }).find((m) => m.text === 'You approved op-1'));
});

test('an envelope the app does not ack fails after the ack timeout', async () => {
  await expect(slack.socket.command({ userId: alice, channelId: ops, text: 'slow' })).rejects.toThrow(
    /not acked within 3000 ms/,
  );
});

test('a URL opens one connection only', async () => {
  const opened = slack.callsTo('apps.connections.open').filter((c) => c.result.ok);
  const used = String(opened[0]!.result.url);
  const refusedBefore = slack.socket.refused.length;
  const status = await new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(used);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => reject(new Error('a used ticket connected')));
    ws.on('error', () => {});
  });
  expect(status).toBe(401);
  expect(slack.socket.refused).toHaveLength(refusedBefore + 1);
});

test("Slack's disconnect message makes the client reconnect with a fresh URL, and envelopes flow again", async () => {
  const [first] = slack.socket.connections.filter((c) => !c.closedAt);
  const opens = slack.callsTo('apps.connections.open').length;
  slack.socket.disconnect();
  const second = await slack.waitFor(
    () => slack.socket.connections.find((c) => c.id !== first!.id && !c.closedAt),
    {
      timeoutMs: 5000,
      what: 'a new connection',
    },
  );
  expect(first!.closedAt).toBeDefined();
  expect(slack.callsTo('apps.connections.open').length).toBe(opens + 1);
  const ack = await slack.socket.command({ userId: alice, channelId: ops, text: 'help' });
  expect(ack.connectionId).toBe(second.id);
});
