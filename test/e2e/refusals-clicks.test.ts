/**
 * Refusals of clicks on real approval prompts, through the real bot's HTTP receiver and the Slack
 * stand-in: outsiders, self-approval, two approvers at once, stale and expired buttons. A refused click
 * is told to the clicker only (ephemeral) and starts nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { click, findPrompt, requestBackup, waitForPrompt } from '../harness/drive.ts';
import { APPROVER_GROUP, CHANNELS, type Scenario, startScenario, USERS } from '../harness/scenario.ts';
import type { SlackMessage } from '../harness/slack/slack-standin.ts';
import { stackEnv } from '../harness/stack-env.ts';
import { endActiveOperations, queryState } from '../harness/state-db.ts';

const APPROVE = 'pachops:approve';
const REJECT = 'pachops:reject';
const PAUSE = /Approval needed: Pause the cluster/;
const DUMP = /Approval needed: Dump the databases/;

let scenario: Scenario;

beforeAll(async () => {
  const stack = stackEnv();
  scenario = await startScenario({ redisUrl: stack.redis.url, postgres: stack.postgres, s3: stack.rgw! });
  await scenario.startBot();
  await scenario.startWorker();
}, 120_000);

afterAll(async () => {
  await scenario?.stop();
});

afterEach(() => endActiveOperations(scenario), 35_000);

/** A query on the bot's state database (tables operations, phases, prompts, audit). */
const sql = <T = Record<string, unknown>>(text: string, ...params: unknown[]) =>
  queryState<T>(scenario, text, ...params);

type OperationRow = { id: string; status: string; cluster_paused: boolean; finished_at: Date | null };

async function operationOf(parent: SlackMessage): Promise<OperationRow> {
  const [row] = await sql<OperationRow>('SELECT * FROM operations WHERE thread_ts = $1', parent.ts);
  if (!row) throw new Error(`no operation for thread ${parent.ts}`);
  return row;
}

async function phase(operationId: string, name: string) {
  const [row] = await sql<{ status: string; runs: number; approved_by: string | null }>(
    'SELECT status, runs, approved_by FROM phases WHERE operation_id = $1 AND name = $2',
    operationId,
    name,
  );
  return row;
}

/** Runs `action` and resolves with the next ephemeral message `userId` sees. */
async function nextEphemeral(userId: string, action: () => Promise<unknown>) {
  const seen = scenario.slack.ephemerals({ userId }).length;
  await action();
  return scenario.slack.waitFor(() => scenario.slack.ephemerals({ userId })[seen], {
    what: `an ephemeral message to ${userId}`,
  });
}

async function clickOk(userId: string, message: SlackMessage, actionId: string) {
  const reply = await click(scenario, userId, message, actionId);
  expect(reply.status).toBe(200);
  return reply;
}

/**
 * A click on a button of `kept`, a copy of the message taken earlier: what a Slack client still showing
 * the old message sends after the bot has replaced it (the stand-in's `click` only finds current buttons).
 */
function clickKept(userId: string, kept: SlackMessage, actionId: string, options: { secret?: string } = {}) {
  const button = scenario.slack.findButton(kept, actionId);
  if (!button) throw new Error(`no ${actionId} in the kept message`);
  const { workspace: ws, apiUrl } = scenario.slack;
  const { channel: _channel, ...message } = kept;
  const payload = {
    type: 'block_actions',
    user: { id: userId, username: userId.toLowerCase(), name: userId.toLowerCase(), team_id: ws.teamId },
    api_app_id: ws.appId,
    token: ws.verificationToken,
    container: { type: 'message', message_ts: kept.ts, channel_id: CHANNELS.ops, thread_ts: kept.thread_ts },
    trigger_id: `${Date.now()}.kept`,
    team: { id: ws.teamId, domain: ws.teamDomain },
    channel: { id: CHANNELS.ops, name: 'ops' },
    message,
    state: { values: {} },
    response_url: `${apiUrl.replace(/api\/$/, '')}actions/${ws.teamId}/0/kept`,
    actions: [{ ...button.element, block_id: button.blockId, action_ts: (Date.now() / 1000).toFixed(6) }],
  };
  return scenario.slack.sendRaw(scenario.bot!.url, { payload: JSON.stringify(payload) }, options);
}

const reports = (parent: SlackMessage, name: string) =>
  scenario.slack
    .thread(CHANNELS.ops, parent.ts)
    .filter((m) => new RegExp(`^${name} (running|done|failed)`).test(m.text));

const waitForText = (parent: SlackMessage, pattern: RegExp) =>
  scenario.slack.waitForMessage(CHANNELS.ops, pattern, { threadTs: parent.ts, timeoutMs: 20_000 });

const pachdReplicas = () => scenario.kube.getDeployment('pachd')?.spec.replicas;

/** Ends the operation by rejecting its dump prompt (which resumes the paused cluster first). */
async function rejectDump(parent: SlackMessage) {
  const prompt = await waitForPrompt(scenario, parent.ts, REJECT, DUMP, 20_000);
  await clickOk(USERS.approver, prompt, REJECT);
  await waitForText(parent, /Backup rejected; nothing more will run/);
  await scenario.kube.waitForSettled(undefined, 10_000);
  expect(pachdReplicas()).toBe(1);
}

test('outsiders and the requester cannot approve; a member of the approver group can', async () => {
  // Requested by an approver, so that only the self-approval rule stands between them and their own prompt.
  const parent = await requestBackup(scenario, USERS.approver);
  const prompt = await waitForPrompt(scenario, parent.ts, APPROVE, PAUSE);
  const operation = await operationOf(parent);

  const forged = await clickKept(USERS.groupMember, prompt, APPROVE, { secret: 'not-the-signing-secret' });
  expect(forged.status).toBe(401);

  const outsider = await nextEphemeral(USERS.outsider, () => clickOk(USERS.outsider, prompt, APPROVE));
  expect(outsider.text).toMatch(/Not allowed: only approvers can approve/);
  expect(outsider.text).toContain(`<@${USERS.approver}>`);
  expect(outsider.text).toContain(`<!subteam^${APPROVER_GROUP}>`);
  expect(outsider.text).toMatch(/Nothing was started/);
  expect(outsider.thread_ts).toBe(parent.ts);
  const outsiderReject = await nextEphemeral(USERS.outsider, () => clickOk(USERS.outsider, prompt, REJECT));
  expect(outsiderReject.text).toMatch(/Not allowed: only approvers or the requester can reject/);

  const self = await nextEphemeral(USERS.approver, () => clickOk(USERS.approver, prompt, APPROVE));
  expect(self.text).toMatch(/Not allowed: you requested this operation; another approver has to approve it/);
  expect(self.text).toMatch(/Nothing was started/);
  // Someone who is neither an approver nor the requester cannot approve either.
  const bystander = await nextEphemeral(USERS.requester, () => clickOk(USERS.requester, prompt, APPROVE));
  expect(bystander.text).toMatch(/Not allowed: only approvers can approve/);

  await sleep(1000);
  const after = scenario.slack.thread(CHANNELS.ops, parent.ts).find((m) => m.ts === prompt.ts)!;
  expect(scenario.slack.findButton(after, APPROVE)).toBeDefined();
  expect(scenario.slack.findButton(after, REJECT)).toBeDefined();
  expect(scenario.slack.callsTo('chat.update').filter((c) => c.args.ts === prompt.ts)).toEqual([]);
  expect(await phase(operation.id, 'pause')).toEqual({
    status: 'awaiting-approval',
    runs: 0,
    approved_by: null,
  });
  expect((await operationOf(parent)).status).toBe('awaiting-approval');
  expect(pachdReplicas()).toBe(1);
  expect(reports(parent, 'pause')).toEqual([]);
  expect(
    await sql('SELECT action FROM audit WHERE operation_id = $1 AND action LIKE $2', operation.id, 'pause.%'),
  ).toEqual([]);

  await clickOk(USERS.groupMember, prompt, APPROVE);
  await waitForText(
    parent,
    new RegExp(`Pause the cluster\\*: :white_check_mark: approved by <@${USERS.groupMember}>`),
  );
  await waitForText(parent, /:white_check_mark: \*pause\* done/);
  expect(await phase(operation.id, 'pause')).toMatchObject({ runs: 1, approved_by: USERS.groupMember });
  expect(pachdReplicas()).toBe(0);
  await rejectDump(parent);
});

test('two approvers clicking at once start exactly one job', async () => {
  const parent = await requestBackup(scenario, USERS.requester);
  const prompt = await waitForPrompt(scenario, parent.ts, APPROVE, PAUSE);
  const operation = await operationOf(parent);
  const clickers = [USERS.approver, USERS.groupMember];
  const seen = clickers.map((u) => scenario.slack.ephemerals({ userId: u }).length);

  const replies = await Promise.all(clickers.map((u) => click(scenario, u, prompt, APPROVE)));
  expect(replies.map((r) => r.status)).toEqual([200, 200]);

  const refusal = await scenario.slack.waitFor(() =>
    clickers.flatMap((u, i) => scenario.slack.ephemerals({ userId: u }).slice(seen[i])).at(0),
  );
  expect(refusal.text).toMatch(/^Already decided: approve by <@U0\w+>\. Nothing new was started\./);
  const winner = clickers.find((u) => u !== refusal.user)!;
  expect(refusal.text).toContain(`<@${winner}>`);
  await waitForText(parent, new RegExp(`Pause the cluster\\*: :white_check_mark: approved by <@${winner}>`));
  await waitForText(parent, /:white_check_mark: \*pause\* done/);
  await waitForPrompt(scenario, parent.ts, APPROVE, DUMP);

  await sleep(1000);
  expect(clickers.flatMap((u, i) => scenario.slack.ephemerals({ userId: u }).slice(seen[i]))).toHaveLength(1);
  expect(reports(parent, 'pause')).toHaveLength(1);
  expect(await phase(operation.id, 'pause')).toEqual({ status: 'succeeded', runs: 1, approved_by: winner });
  const decisions = await sql<{ action: string; actor: string }>(
    `SELECT action, actor FROM audit WHERE operation_id = $1 AND action LIKE 'pause.%' ORDER BY id`,
    operation.id,
  );
  expect(decisions).toEqual([
    { action: 'pause.approve', actor: winner },
    { action: 'pause.started', actor: 'pachops' },
    { action: 'pause.succeeded', actor: 'pachops' },
  ]);
  expect(scenario.slack.callsTo('chat.update').filter((c) => c.args.ts === prompt.ts)).toHaveLength(1);
  await rejectDump(parent);
});

test('a decided prompt clicked again (stale button) is refused and runs nothing again', async () => {
  const parent = await requestBackup(scenario, USERS.requester);
  const pausePrompt = await waitForPrompt(scenario, parent.ts, APPROVE, PAUSE);
  const operation = await operationOf(parent);
  await clickOk(USERS.approver, pausePrompt, APPROVE);
  const dumpPrompt = await waitForPrompt(scenario, parent.ts, APPROVE, DUMP, 20_000);
  expect(
    scenario.slack.findButton(
      scenario.slack.thread(CHANNELS.ops, parent.ts).find((m) => m.ts === pausePrompt.ts)!,
      APPROVE,
    ),
  ).toBeUndefined();

  for (const [user, action] of [
    [USERS.approver, APPROVE],
    [USERS.groupMember, APPROVE],
    [USERS.approver, REJECT],
  ]) {
    const reply = await nextEphemeral(user, async () =>
      expect((await clickKept(user, pausePrompt, action)).status).toBe(200),
    );
    expect({ user, action, text: reply.text }).toEqual({
      user,
      action,
      text: expect.stringMatching(/^Already decided: approve by <@U0APPROVER>\. Nothing new was started\./),
    });
  }
  await sleep(1000);
  expect(await phase(operation.id, 'pause')).toMatchObject({ status: 'succeeded', runs: 1 });
  expect(reports(parent, 'pause')).toHaveLength(1);
  const current = await operationOf(parent);
  expect(current).toMatchObject({ status: 'awaiting-approval', finished_at: null, cluster_paused: true });
  expect(findPrompt(scenario, parent.ts, APPROVE, DUMP)?.ts).toBe(dumpPrompt.ts);

  await rejectDump(parent);
  // The operation has ended: its last prompt, clicked from an old view, starts nothing either.
  const ended = await nextEphemeral(USERS.approver, () => clickKept(USERS.approver, dumpPrompt, APPROVE));
  expect(ended.text).toMatch(new RegExp(`Operation ${operation.id} has already ended \\(rejected\\)`));
  await sleep(500);
  expect(await phase(operation.id, 'dump')).toMatchObject({ status: 'skipped', runs: 0 });
});

test('an expired prompt is refused, and the fresh prompt posted in its place works', async () => {
  const parent = await requestBackup(scenario, USERS.requester);
  const expired = await waitForPrompt(scenario, parent.ts, APPROVE, PAUSE);
  const operation = await operationOf(parent);
  const promptId = scenario.slack.findButton(expired, APPROVE)!.element.value;
  const updated = await sql(
    `UPDATE prompts SET expires_at = now() - interval '1 minute' WHERE id = $1 AND status = 'pending' RETURNING id`,
    promptId,
  );
  expect(updated).toHaveLength(1);

  const refusal = await nextEphemeral(USERS.approver, () => clickOk(USERS.approver, expired, APPROVE));
  expect(refusal.text).toMatch(/That prompt expired; a fresh one was posted in the thread/);
  const fresh = await scenario.slack.waitFor(() => {
    const prompt = findPrompt(scenario, parent.ts, APPROVE, PAUSE);
    return prompt && prompt.ts !== expired.ts && prompt;
  });
  expect(scenario.slack.findButton(fresh, APPROVE)!.element.value).not.toBe(promptId);
  // The old message no longer offers buttons: it says it expired and points below.
  const old = scenario.slack.thread(CHANNELS.ops, parent.ts).find((m) => m.ts === expired.ts)!;
  expect(old.text).toMatch(/expired at \d\d:\d\d UTC; a fresh prompt is below/);
  expect(scenario.slack.findButton(old, APPROVE)).toBeUndefined();
  await sleep(1000);
  expect(await phase(operation.id, 'pause')).toEqual({
    status: 'awaiting-approval',
    runs: 0,
    approved_by: null,
  });
  expect(pachdReplicas()).toBe(1);
  expect(reports(parent, 'pause')).toEqual([]);

  // The expired prompt stays dead once replaced.
  const again = await nextEphemeral(USERS.approver, () => clickKept(USERS.approver, expired, APPROVE));
  expect(again.text).toMatch(/replaced by a newer one/);
  expect(again.text).toMatch(/Nothing was started/);

  await clickOk(USERS.approver, fresh, APPROVE);
  await waitForText(parent, /:white_check_mark: \*pause\* done/);
  expect(await phase(operation.id, 'pause')).toMatchObject({ status: 'succeeded', runs: 1 });
  expect(reports(parent, 'pause')).toHaveLength(1);
  await rejectDump(parent);
});
