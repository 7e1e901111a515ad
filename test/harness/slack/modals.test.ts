import {
  App,
  type BlockAction,
  type ButtonAction,
  type Logger,
  LogLevel,
  type StaticSelectAction,
  type types,
  type ViewClosedAction,
  type ViewSubmitAction,
} from '@slack/bolt';
import { findFreePort } from '../free-port.ts';
import { type SlackStandin, startSlack } from './slack-standin.ts';

const ops = 'C0OPS';
const alice = 'U0ALICE';
const bob = 'U0BOB';
const carol = 'U0CAROL';

let slack: SlackStandin;
let app: App;
let botUrl: string;
const boltLog: string[] = [];
const submissions: ViewSubmitAction[] = [];
const closings: ViewClosedAction[] = [];
const viewActions: BlockAction[] = [];

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

const backups: Record<string, string[]> = {
  prod: ['prod-2024-06-01', 'prod-2024-06-02'],
  staging: ['staging-2024-06-02'],
};

type View = types.ModalView;

const plain = (text: string) => ({ type: 'plain_text' as const, text });
const option = (value: string) => ({ text: plain(value), value });

interface RestoreMeta {
  channel: string;
  requestedBy: string;
}

/** The restore modal; once a cluster is picked it also asks for the backup and a confirmation. */
function restoreView(meta: RestoreMeta, cluster?: string): View {
  return {
    type: 'modal',
    callback_id: 'restore',
    private_metadata: JSON.stringify(meta),
    notify_on_close: true,
    title: plain('Restore'),
    submit: plain('Restore'),
    close: plain('Cancel'),
    blocks: [
      { type: 'header', text: plain('Restore a Pachyderm cluster') },
      {
        type: 'input',
        block_id: 'cluster',
        dispatch_action: true,
        label: plain('Cluster'),
        element: {
          type: 'static_select',
          action_id: 'pick',
          placeholder: plain('Pick a cluster'),
          options: Object.keys(backups).map(option),
          ...(cluster ? { initial_option: option(cluster) } : {}),
        },
      },
      ...(cluster
        ? [
            {
              type: 'input' as const,
              block_id: 'backup',
              label: plain('Backup'),
              element: {
                type: 'static_select' as const,
                action_id: 'pick',
                options: backups[cluster].map(option),
              },
            },
            {
              type: 'input' as const,
              block_id: 'confirm',
              label: plain(`Type ${cluster} to confirm`),
              element: { type: 'plain_text_input' as const, action_id: 'text' },
            },
          ]
        : []),
      {
        type: 'input',
        block_id: 'reason',
        optional: true,
        label: plain('Reason'),
        element: { type: 'plain_text_input', action_id: 'text', placeholder: plain('Why?') },
      },
      {
        type: 'actions',
        block_id: 'more',
        elements: [{ type: 'button', action_id: 'details', text: plain('Details'), value: 'details' }],
      },
    ],
  };
}

const detailsView = (n: number): View => ({
  type: 'modal',
  callback_id: 'details',
  notify_on_close: true,
  title: plain(`Details ${n}`),
  submit: plain('Next'),
  close: plain('Back'),
  blocks: [
    { type: 'section', text: { type: 'mrkdwn', text: `Page ${n}` } },
    {
      type: 'input',
      block_id: 'when',
      optional: true,
      label: plain('Not before'),
      element: { type: 'datepicker', action_id: 'date' },
    },
  ],
});

function registerListeners(bolt: App): void {
  bolt.command('/pach', async ({ ack, command, client }) => {
    await ack();
    await client.views.open({
      trigger_id: command.trigger_id,
      view: restoreView({ channel: command.channel_id, requestedBy: command.user_id }),
    });
  });
  // the select in the dispatching input block: the modal grows the backup and confirm inputs
  bolt.action<BlockAction<StaticSelectAction>>(
    { block_id: 'cluster', action_id: 'pick' },
    async ({ ack, body, action, client }) => {
      await ack();
      viewActions.push(body);
      const view = body.view!;
      await client.views.update({
        view_id: view.id,
        hash: view.hash,
        view: restoreView(JSON.parse(view.private_metadata), action.selected_option.value),
      });
    },
  );
  bolt.action<BlockAction<ButtonAction>>('details', async ({ ack, body, client }) => {
    await ack();
    viewActions.push(body);
    await client.views.push({ trigger_id: body.trigger_id, view: detailsView(2) });
  });
  bolt.view<ViewSubmitAction>('restore', async ({ ack, body, view, client }) => {
    submissions.push(body);
    const meta = JSON.parse(view.private_metadata) as RestoreMeta;
    const values = view.state.values;
    if (values.reason.text.value === 'answer badly') {
      await ack({ response_action: 'errors', errors: { typo: 'no such block' } });
      return;
    }
    const cluster = values.cluster.pick.selected_option?.value;
    if (!cluster || !values.backup) {
      await ack({ response_action: 'errors', errors: { cluster: 'Pick a cluster first' } });
      return;
    }
    if (values.confirm.text.value !== cluster) {
      await ack({ response_action: 'errors', errors: { confirm: `Type ${cluster} exactly` } });
      return;
    }
    await ack();
    const backup = values.backup.pick.selected_option?.value;
    const reason = values.reason.text.value ?? 'no reason given';
    await client.chat.postMessage({
      channel: meta.channel,
      text: `Restore of ${cluster} from ${backup} requested by <@${meta.requestedBy}> (submitted by <@${body.user.id}>): ${reason}`,
    });
  });
  // pushed pages: Next pushes another page (Slack refuses a 4th view), page 3 clears the stack
  bolt.view<ViewSubmitAction>('details', async ({ ack, view }) => {
    const page = Number(/\d+/.exec(view.title.text)?.[0]);
    if (view.state.values.when.date.selected_date === '1999-01-01') {
      await ack({ response_action: 'update', view: detailsView(page) });
    } else if (page === 2) await ack({ response_action: 'push', view: detailsView(3) });
    else if (page === 3 && view.state.values.when.date.selected_date) {
      await ack({ response_action: 'push', view: detailsView(4) });
    } else await ack({ response_action: 'clear' });
  });
  bolt.view<ViewClosedAction>(
    { callback_id: /^(restore|details)$/, type: 'view_closed' },
    async ({ ack, body }) => {
      closings.push(body);
      await ack();
    },
  );
}

beforeAll(async () => {
  slack = await startSlack({ channels: { [ops]: 'ops' }, users: { [alice]: 'alice', [bob]: 'bob' } });
  const port = await findFreePort();
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

test('restore modal: open, a select updates it, bad confirmation gets errors, good values close it and post', async () => {
  await slack.command(botUrl, { userId: alice, channelId: ops, text: 'restore' });
  const opened = await slack.waitForView(alice, /Restore/);
  expect(opened.view).toMatchObject({
    id: expect.stringMatching(/^V/),
    type: 'modal',
    callback_id: 'restore',
    title: { type: 'plain_text', text: 'Restore', emoji: true },
    state: { values: {} },
    root_view_id: opened.id,
    app_id: slack.workspace.appId,
  });
  expect(slack.callsTo('views.open')[0].result).toMatchObject({ ok: true, view: { id: opened.id } });
  expect(slack.renderView(opened.id)).toContain('Cluster: [_Pick a cluster_ ▾]');

  // alice types a reason, then picks the cluster; the bot grows the modal with views.update
  const picked = await slack.actInView(botUrl, {
    userId: alice,
    actionId: 'pick',
    blockId: 'cluster',
    value: 'prod',
    values: { reason: 'disk corrupted' },
  });
  expect(picked.status).toBe(200);
  expect(picked.payload).toMatchObject({
    type: 'block_actions',
    container: { type: 'view', view_id: opened.id },
    view: { id: opened.id, hash: opened.hash, callback_id: 'restore' },
    actions: [
      {
        type: 'static_select',
        block_id: 'cluster',
        action_id: 'pick',
        selected_option: { value: 'prod' },
        placeholder: { text: 'Pick a cluster' },
      },
    ],
  });
  expect(picked.payload).not.toHaveProperty('response_url');
  const grown = await slack.waitForView(alice, /Backup/);
  expect(grown.id).toBe(opened.id);
  expect(grown.hash).not.toBe(opened.hash);
  const action = viewActions[0];
  expect(action.view?.state.values.reason.text).toEqual({
    type: 'plain_text_input',
    value: 'disk corrupted',
  });
  expect(action.channel).toBeUndefined();
  // what alice typed survives the update: same block_id and action_id
  const rendered = slack.renderView(grown.id);
  expect(rendered).toContain('Cluster: [prod ▾]');
  expect(rendered).toContain('Reason (optional): [disk corrupted]');
  expect(rendered).toContain('└ [Cancel] [Restore]');

  const bad = await slack.submitView(botUrl, {
    userId: alice,
    values: { backup: 'prod-2024-06-02', confirm: { text: 'staging' } },
  });
  expect(bad).toMatchObject({
    status: 200,
    outcome: 'errors',
    errors: { confirm: 'Type prod exactly' },
    body: { response_action: 'errors' },
    view: { id: opened.id },
  });
  expect(slack.views(alice)).toHaveLength(1);
  expect(slack.renderView(opened.id)).toMatch(/Type prod to confirm: \[staging\]\n│ {3}⚠ Type prod exactly/);
  const sent = submissions[0];
  expect(sent).toMatchObject({
    type: 'view_submission',
    team: { id: slack.workspace.teamId },
    user: { id: alice, name: 'alice' },
    api_app_id: slack.workspace.appId,
    response_urls: [],
    is_enterprise_install: false,
  });
  expect(sent.trigger_id).toEqual(expect.any(String));
  expect(sent.view.state.values).toEqual({
    cluster: { pick: { type: 'static_select', selected_option: { text: plain('prod'), value: 'prod' } } },
    backup: {
      pick: {
        type: 'static_select',
        selected_option: { text: plain('prod-2024-06-02'), value: 'prod-2024-06-02' },
      },
    },
    confirm: { text: { type: 'plain_text_input', value: 'staging' } },
    reason: { text: { type: 'plain_text_input', value: 'disk corrupted' } },
  });

  // only alice sees her modal; she fixes the one field
  await expect(slack.submitView(botUrl, { userId: bob, viewId: opened.id })).rejects.toThrow(
    /U0BOB has no modal open/,
  );
  const good = await slack.submitView(botUrl, { userId: alice, values: { confirm: 'prod' } });
  expect(good).toMatchObject({ status: 200, outcome: 'closed', text: '' });
  expect(good.view).toBeUndefined();
  expect(slack.views(alice)).toEqual([]);
  expect(slack.view(opened.id)).toMatchObject({ closedBy: 'submit' });
  // private_metadata carried the channel and requester from the command to the submission
  await slack.waitForMessage(
    ops,
    /Restore of prod from prod-2024-06-02 requested by <@U0ALICE> \(submitted by <@U0ALICE>\): disk corrupted/,
  );
  expect(closings).toHaveLength(0);
  expect(slack.renderView(opened.id)).toContain('(closed: submit)');
});

test('the stand-in refuses what the Slack client would not send', async () => {
  await slack.command(botUrl, { userId: bob, channelId: ops, text: 'restore' });
  const { id } = await slack.waitForView(bob);
  await expect(slack.submitView(botUrl, { userId: bob, values: { nope: 'x' } })).rejects.toThrow(
    /no block "nope" with an input element; blocks with inputs: cluster, reason/,
  );
  await expect(slack.submitView(botUrl, { userId: bob, values: { cluster: 'qa' } })).rejects.toThrow(
    /cluster\/pick \(static_select\) has no option "qa"; its options: "prod", "staging"/,
  );
  await expect(slack.submitView(botUrl, { userId: bob })).rejects.toThrow(
    /would not submit .*"Cluster" \(cluster\/pick\) is required/,
  );
  await expect(slack.actInView(botUrl, { userId: bob, actionId: 'text', value: 'x' })).rejects.toThrow(
    /no block_actions for reason\/text .*no dispatch_action/,
  );
  await expect(slack.actInView(botUrl, { userId: bob, actionId: 'nope' })).rejects.toThrow(
    /no element with action_id "nope"; it has: cluster\/pick \(static_select\)/,
  );
  await expect(slack.submitView(botUrl, { userId: carol })).rejects.toThrow(/U0CAROL has no modal open/);
  await expect(slack.submitView(botUrl, { userId: bob, viewId: 'V0NOPE' })).rejects.toThrow(
    /U0BOB has no open view V0NOPE/,
  );
  expect(submissions.filter((s) => s.user.id === bob)).toHaveLength(0);
  // picked without the dispatch (no update yet): the bot asks again
  const early = await slack.submitView(botUrl, { userId: bob, values: { cluster: 'staging' } });
  expect(early).toMatchObject({ outcome: 'errors', errors: { cluster: 'Pick a cluster first' } });
  // errors for a block the view does not have: Slack refuses the answer, the view stays
  const wrong = await slack.submitView(botUrl, { userId: bob, values: { reason: 'answer badly' } });
  expect(wrong).toMatchObject({
    outcome: 'failed',
    problem: expect.stringMatching(
      /names "typo", which is not an input block .*\(input blocks: cluster, reason\)/,
    ),
    view: { id },
  });
  expect(slack.renderView(id)).not.toContain('⚠');

  // Cancel: view_closed reaches the bot (notify_on_close), with the state and private_metadata
  const closed = await slack.closeView(botUrl, { userId: bob });
  expect(closed.closed).toEqual([id]);
  expect(closed.replies.map((r) => r.status)).toEqual([200]);
  const closing = closings[closings.length - 1];
  expect(closing).toMatchObject({ type: 'view_closed', is_cleared: false, user: { id: bob } });
  expect(JSON.parse(closing.view.private_metadata)).toEqual({ channel: ops, requestedBy: bob });
  expect(closing.view.state.values.cluster.pick.selected_option?.value).toBe('staging');
  expect(slack.views(bob)).toEqual([]);
});

test('views.update answers hash_conflict, not_found and duplicate_external_id as Slack does', async () => {
  const { client } = app;
  const error = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: { data?: { error?: string } }) => e.data?.error,
    );
  await slack.command(botUrl, { userId: bob, channelId: ops, text: 'restore' });
  const record = await slack.waitForView(bob);
  const view = { ...detailsView(1), external_id: 'restore-bob' };
  expect(await error(client.views.update({ view_id: record.id, hash: '1.stale', view }))).toBe(
    'hash_conflict',
  );
  const updated = await client.views.update({ view_id: record.id, hash: record.hash, view });
  expect(updated.view).toMatchObject({ id: record.id, external_id: 'restore-bob', callback_id: 'details' });
  const byExternal = await client.views.update({
    external_id: 'restore-bob',
    view: { ...detailsView(2), external_id: 'restore-bob' },
  });
  expect(byExternal.view).toMatchObject({ id: record.id, title: { text: 'Details 2' } });
  expect(await error(client.views.update({ view_id: 'V0NOPE', view }))).toBe('not_found');
  const invalid = await client.views
    .update({ view_id: record.id, view: { ...view, title: plain('A title that is far too long') } })
    .catch((e: { data?: Record<string, unknown> }) => e.data);
  expect(invalid).toMatchObject({
    error: 'invalid_arguments',
    response_metadata: {
      messages: ['[ERROR] must be less than 25 characters [json-pointer:/view/title/text]'],
    },
  });
  // an external_id stays taken, even by a closed view
  await slack.closeView(botUrl, { userId: bob });
  expect(await error(client.views.update({ view_id: record.id, view: detailsView(1) }))).toBe('not_found');
  await slack.command(botUrl, { userId: bob, channelId: ops, text: 'restore' });
  const next = await slack.waitForView(bob, (v) => v.id !== record.id);
  expect(await error(client.views.update({ view_id: next.id, view }))).toBe('duplicate_external_id');
  await slack.closeView(botUrl, { userId: bob });
});

test('stacks: views.push from a button, Back, response_action push/update/clear, push limit', async () => {
  boltLog.length = 0;
  await slack.command(botUrl, { userId: alice, channelId: ops, text: 'restore' });
  const root = await slack.waitForView(alice);
  await slack.actInView(botUrl, { userId: alice, actionId: 'details' });
  const page2 = await slack.waitForView(alice, /Details 2/);
  expect(viewActions[viewActions.length - 1].actions[0]).toMatchObject({ type: 'button', value: 'details' });
  expect(page2.view).toMatchObject({ root_view_id: root.id, close: { text: 'Back' } });
  expect(slack.views(alice).map((v) => v.id)).toEqual([root.id, page2.id]);
  expect(slack.views().map((v) => v.id)).toEqual(expect.arrayContaining([root.id, page2.id]));

  // Back on the pushed view: only it closes
  const back = await slack.closeView(botUrl, { userId: alice });
  expect(back.closed).toEqual([page2.id]);
  expect(slack.views(alice).map((v) => v.id)).toEqual([root.id]);
  await expect(slack.submitView(botUrl, { userId: alice, viewId: page2.id })).rejects.toThrow(/no open view/);

  await slack.actInView(botUrl, { userId: alice, actionId: 'details' });
  const again = await slack.waitForView(alice, /Details 2/);
  await expect(slack.submitView(botUrl, { userId: alice, viewId: root.id })).rejects.toThrow(
    /under .* only the top view/,
  );
  const pushed = await slack.submitView(botUrl, { userId: alice });
  expect(pushed).toMatchObject({ outcome: 'pushed', view: { view: { title: { text: 'Details 3' } } } });
  expect(slack.views(alice).map((v) => v.view.title.text)).toEqual(['Restore', 'Details 2', 'Details 3']);

  const page3 = pushed.view!;
  const updated = await slack.submitView(botUrl, { userId: alice, values: { when: '1999-01-01' } });
  expect(updated).toMatchObject({ outcome: 'updated', view: { id: page3.id } });
  expect(updated.view!.hash).not.toBe(page3.hash);
  expect(slack.renderView(page3.id)).toContain('Not before (optional): [📅 1999-01-01]');

  // a 4th view is refused: Slack keeps the view and shows an error
  const limit = await slack.submitView(botUrl, { userId: alice, values: { when: '2024-06-01' } });
  expect(limit).toMatchObject({ outcome: 'failed', problem: 'response_action push: push_limit_reached' });
  expect(slack.views(alice)).toHaveLength(3);

  const cleared = await slack.submitView(botUrl, { userId: alice, values: { when: null } });
  expect(cleared.outcome).toBe('cleared');
  expect(cleared.view).toBeUndefined();
  expect(slack.views(alice)).toEqual([]);
  expect([root.id, again.id, page3.id].map((id) => slack.view(id)?.closedBy)).toEqual([
    'cleared',
    'cleared',
    'cleared',
  ]);
  expect(boltLog).toEqual([]);
});

test('X on a stack: every view with notify_on_close gets view_closed with is_cleared', async () => {
  await slack.command(botUrl, { userId: alice, channelId: ops, text: 'restore' });
  const root = await slack.waitForView(alice);
  await slack.actInView(botUrl, { userId: alice, actionId: 'details' });
  const page2 = await slack.waitForView(alice, /Details 2/);
  const before = closings.length;
  const result = await slack.closeView(botUrl, { userId: alice, clear: true });
  expect(result.closed).toEqual([page2.id, root.id]);
  expect(closings.slice(before).map((c) => [c.view.id, c.is_cleared])).toEqual([
    [page2.id, true],
    [root.id, true],
  ]);
});
