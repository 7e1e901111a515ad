import { createServer } from 'node:net';
import { App, type BlockAction, type ButtonAction, type Logger, LogLevel } from '@slack/bolt';
import { type SlackStandin, startSlack } from './slack-standin.ts';

const ops = 'C0OPS';
const alice = 'U0ALICE';

let slack: SlackStandin;
let app: App;
let botUrl: string;
const boltLog: string[] = [];
const rejectBodies: BlockAction[] = [];

/** Bolt's (and its WebClient's) logger, kept quiet: the expected API errors would print otherwise. */
function quietLogger(sink: string[]): Logger {
  let level = LogLevel.ERROR;
  const keep = (...msgs: unknown[]) => {
    sink.push(msgs.map(String).join(' '));
  };
  return {
    debug: () => {},
    info: () => {},
    warn: keep,
    error: keep,
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const approvalBlocks = (text: string) => [
  { type: 'section', text: { type: 'mrkdwn', text } },
  {
    type: 'actions',
    block_id: 'approval',
    elements: [
      {
        type: 'button',
        action_id: 'approve',
        text: { type: 'plain_text', text: 'Approve' },
        style: 'primary',
        value: 'op-1',
      },
      { type: 'button', action_id: 'reject', text: { type: 'plain_text', text: 'Reject' }, value: 'op-1' },
    ],
  },
];

function registerListeners(bolt: App): void {
  bolt.command('/pach', async ({ ack, command, client, respond }) => {
    if (command.text === 'help') return ack('Usage: /pach backup');
    await ack();
    if (command.text === 'respond') {
      await respond({ response_type: 'ephemeral', text: 'Only you can see this' });
      return;
    }
    if (command.text === 'modal') {
      await client.views.open({
        trigger_id: command.trigger_id,
        view: { type: 'modal', title: { type: 'plain_text', text: 'Restore' }, blocks: [] },
      });
      return;
    }
    const parent = await client.chat.postMessage({
      channel: command.channel_id,
      text: `Backup of prod requested by <@${command.user_id}>`,
      blocks: approvalBlocks(`*Backup of prod* requested by <@${command.user_id}>`),
    });
    await client.chat.postMessage({
      channel: command.channel_id,
      thread_ts: parent.ts,
      text: 'Waiting for approval',
    });
  });
  bolt.action<BlockAction<ButtonAction>>('approve', async ({ ack, body, action, client }) => {
    await ack();
    await client.chat.update({
      channel: body.channel!.id,
      ts: body.message!.ts,
      text: `Approved by <@${body.user.id}>`,
      blocks: [
        {
          type: 'section',
          text: { type: 'mrkdwn', text: `:white_check_mark: Approved by <@${body.user.id}>` },
        },
      ],
    });
    await client.chat.postEphemeral({
      channel: body.channel!.id,
      user: body.user.id,
      text: `You approved ${action.value}`,
    });
  });
  bolt.action('reject', async ({ ack, body, respond }) => {
    await ack();
    rejectBodies.push(body as BlockAction);
    await respond({ replace_original: true, text: 'Rejected' });
  });
}

beforeAll(async () => {
  slack = await startSlack({ channels: { [ops]: 'ops' }, users: { [alice]: 'alice' } });
  const port = await freePort();
  app = new App({
    token: slack.botToken,
    signingSecret: slack.signingSecret,
    clientOptions: { slackApiUrl: slack.apiUrl },
    port,
    logger: quietLogger(boltLog),
  });
  registerListeners(app);
  await app.start();
  botUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await app?.stop();
  await slack?.close();
});

test('Bolt checks its token with auth.test against the stand-in', async () => {
  const call = await slack.waitFor(() => slack.callsTo('auth.test')[0]);
  expect(call.result).toMatchObject({ ok: true, user_id: 'U0PACHOPS', bot_id: 'B0PACHOPS' });
});

test('a command posts an approval thread; a click updates it and answers ephemerally', async () => {
  const reply = await slack.command(botUrl, { userId: alice, channelId: ops, text: 'backup prod' });
  expect(reply.status).toBe(200);
  const parent = await slack.waitForMessage(ops, /Backup of prod/);
  await slack.waitForMessage(ops, /Waiting for approval/, { threadTs: parent.ts });
  const post = slack.callsTo('chat.postMessage')[0];
  expect(post.args.blocks).toEqual(
    expect.arrayContaining([expect.objectContaining({ block_id: 'approval' })]),
  );
  expect(slack.findButton(parent, 'approve')?.element.value).toBe('op-1');
  expect(slack.renderThread(ops, parent.ts)).toContain('[Approve] [Reject]');

  const click = await slack.click(botUrl, {
    userId: alice,
    channelId: ops,
    messageTs: parent.ts,
    actionId: 'approve',
  });
  expect(click.status).toBe(200);
  const [note] = await slack.waitFor(() =>
    slack.ephemerals({ userId: alice }).filter((m) => /approved op-1/.test(m.text)),
  );
  expect(note).toMatchObject({ channel: ops, via: 'chat.postEphemeral' });
  const [updated, reply1] = slack.thread(ops, parent.ts);
  expect(updated).toMatchObject({
    text: `Approved by <@${alice}>`,
    edited: { user: 'U0PACHOPS' },
    reply_count: 1,
  });
  expect(reply1).toMatchObject({ thread_ts: parent.ts, text: 'Waiting for approval' });
  expect(slack.renderThread(ops, parent.ts)).toMatch(
    /Approved by <@U0ALICE>[\s\S]*↳ @pachops[\s\S]*Waiting for approval/,
  );
});

test('a forged signature, a wrong secret and a 6-minute-old timestamp are refused with 401', async () => {
  const before = slack.calls.length;
  const body = { command: '/pach', text: 'backup', user_id: alice, channel_id: ops, team_id: 'T0PACHOPS' };
  expect((await slack.sendRaw(botUrl, body, { signature: 'v0=deadbeef' })).status).toBe(401);
  expect((await slack.sendRaw(botUrl, body, { secret: 'not-the-secret' })).status).toBe(401);
  const old = Math.floor(Date.now() / 1000) - 6 * 60;
  expect((await slack.sendRaw(botUrl, body, { timestamp: old })).status).toBe(401);
  expect(slack.calls.length).toBe(before);
  expect(boltLog.join('\n')).toMatch(/signature mismatch[\s\S]*signature mismatch[\s\S]*request is stale/);
});

test('respond() and an immediate ack reply reach the user; replace_original replaces the message', async () => {
  await slack.command(botUrl, { userId: alice, channelId: ops, text: 'respond' });
  const response = await slack.waitFor(() =>
    slack.responses.find((r) => r.body.text === 'Only you can see this'),
  );
  expect(response).toMatchObject({ effect: 'ephemeral', user: alice, channel: ops });

  const help = await slack.command(botUrl, { userId: alice, channelId: ops, text: 'help' });
  expect(help.body).toBe('Usage: /pach backup');
  expect(slack.ephemerals({ userId: alice }).some((m) => m.via === 'ack' && m.text === help.body)).toBe(true);

  await slack.command(botUrl, { userId: alice, channelId: ops, text: 'backup prod' });
  const messages = await slack.waitFor(() => {
    const withButtons = slack.messages(ops).filter((m) => slack.findButton(m, 'reject'));
    return withButtons.length > 0 && withButtons;
  });
  const target = messages[messages.length - 1];
  await slack.click(botUrl, { userId: alice, channelId: ops, messageTs: target.ts, actionId: 'reject' });
  await slack.waitFor(() => slack.responses.find((r) => r.effect === 'replaced'));
  const replaced = slack.messages(ops).find((m) => m.ts === target.ts);
  expect(replaced).toMatchObject({ text: 'Rejected' });
  expect(replaced?.blocks).toBeUndefined();
});

test('a button in an ephemeral message: no message in the payload, replace_original edits the ephemeral', async () => {
  const rejectButton = approvalBlocks('Only for alice').slice(1);
  const { message_ts: ts } = await app.client.chat.postEphemeral({
    channel: ops,
    user: alice,
    text: 'Only for alice',
    blocks: rejectButton,
  });
  await slack.click(botUrl, { userId: alice, channelId: ops, messageTs: ts!, actionId: 'reject' });
  await slack.waitFor(() => slack.ephemerals({ userId: alice }).find((m) => m.ts === ts && m.replaced));
  expect(slack.ephemerals({ userId: alice }).find((m) => m.ts === ts)).toMatchObject({ text: 'Rejected' });
  const body = rejectBodies[rejectBodies.length - 1];
  expect(body.container).toMatchObject({ type: 'message', message_ts: ts, is_ephemeral: true });
  expect(body.message).toBeUndefined();
  await expect(
    slack.click(botUrl, { userId: 'U0BOB', channelId: ops, messageTs: ts!, actionId: 'x' }),
  ).rejects.toThrow(/no message .* visible to U0BOB/);
});

test('views.open takes a fresh trigger_id once', async () => {
  await slack.command(botUrl, { userId: alice, channelId: ops, text: 'modal' });
  const call = await slack.waitFor(() => slack.callsTo('views.open')[0]);
  expect(call.result).toMatchObject({ ok: true, view: { type: 'modal' } });
  const again = await app.client.views
    .open({
      trigger_id: String(call.args.trigger_id),
      view: { type: 'modal', title: { type: 'plain_text', text: 'x' }, blocks: [] },
    })
    .catch((error: { data?: { error?: string } }) => error.data);
  expect(again).toMatchObject({ error: 'exchanged_trigger_id' });
  expect(slack.views(alice)).toHaveLength(1);
});

test('the Web API answers errors the way Slack does', async () => {
  const error = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: { data?: { error?: string } }) => e.data?.error,
    );
  const { client } = app;
  expect(await error(client.auth.test({ token: 'xoxb-wrong' }))).toBe('invalid_auth');
  expect(await error(client.chat.postMessage({ channel: 'C0NOPE', text: 'x' }))).toBe('channel_not_found');
  slack.addChannel('C0QUIET', { botIsMember: false });
  expect(await error(client.chat.postMessage({ channel: 'C0QUIET', text: 'x' }))).toBe('not_in_channel');
  expect(await error(client.chat.update({ channel: ops, ts: '1.000100', text: 'x' }))).toBe(
    'message_not_found',
  );
  expect(await error(client.usergroups.users.list({ usergroup: 'S0NONE' }))).toBe('no_such_subteam');
  const invalid = [{ type: 'section', text: { type: 'mrkdwn', text: '' } }];
  expect(await error(client.chat.postMessage({ channel: ops, text: 'x', blocks: invalid }))).toBe(
    'invalid_blocks',
  );
});

test('directory lookups, permalinks and deletes', async () => {
  const { client } = app;
  slack.setUserGroup('S0SRE', [alice, 'U0BOB']);
  expect((await client.usergroups.users.list({ usergroup: 'S0SRE' })).users).toEqual([alice, 'U0BOB']);
  expect((await client.users.info({ user: alice })).user).toMatchObject({ id: alice, name: 'alice' });
  expect((await client.conversations.info({ channel: ops })).channel).toMatchObject({ id: ops, name: 'ops' });
  const posted = await client.chat.postMessage({ channel: ops, text: 'to delete' });
  const link = await client.chat.getPermalink({ channel: ops, message_ts: posted.ts! });
  expect(link.permalink).toBe(
    `https://pachops-test.slack.com/archives/${ops}/p${posted.ts!.replace('.', '')}`,
  );
  await client.chat.delete({ channel: ops, ts: posted.ts! });
  expect(slack.messages(ops).some((m) => m.ts === posted.ts)).toBe(false);
  const tss = slack.callsTo('chat.postMessage').flatMap((c) => (c.result.ok ? [String(c.result.ts)] : []));
  for (const ts of tss) expect(ts).toMatch(/^\d{10}\.\d{6}$/);
  for (let i = 1; i < tss.length; i++) expect(tss[i] > tss[i - 1]).toBe(true);
});
