/**
 * Refusals of requests, through the real bot's HTTP receiver and the Slack stand-in: forged and replayed
 * requests, malformed `/pach` commands, the wrong channel, a second backup while one is active; and
 * Reject, before the pause (nothing touched) and while paused (resume first). A refusal is said to the
 * one who typed or clicked only, and starts nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { click, commandReply, requestBackup, waitForPrompt } from '../harness/drive.ts';
import { CHANNELS, type Scenario, startScenario, USERS } from '../harness/scenario.ts';
import { type SlackMessage, signSlackRequest } from '../harness/slack/slack-standin.ts';
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

interface OperationRow {
  id: string;
  backup_id: string;
  status: string;
  cluster_paused: boolean;
  finished_at: Date | null;
  state: { pause?: { replicas: Record<string, number> } };
}

async function operationOf(parent: SlackMessage): Promise<OperationRow> {
  const [row] = await sql<OperationRow>('SELECT * FROM operations WHERE thread_ts = $1', parent.ts);
  if (!row) throw new Error(`no operation for thread ${parent.ts}`);
  return row;
}

const phasesOf = (operationId: string) =>
  sql('SELECT name, status, runs FROM phases WHERE operation_id = $1 ORDER BY position', operationId);

const waitForText = (parent: SlackMessage, pattern: RegExp) =>
  scenario.slack.waitForMessage(CHANNELS.ops, pattern, { threadTs: parent.ts, timeoutMs: 20_000 });

const parentMessages = () =>
  scenario.slack.messages(CHANNELS.ops).filter((m) => !m.thread_ts || m.thread_ts === m.ts);

/** What a request could have caused: operations, messages posted anywhere, ephemerals, response_url posts. */
async function effects() {
  const [{ n }] = await sql<{ n: string }>('SELECT count(*) AS n FROM operations');
  return {
    operations: Number(n),
    postMessage: scenario.slack.callsTo('chat.postMessage').length,
    parents: parentMessages().length,
    random: scenario.slack.messages(CHANNELS.random).length,
    ephemerals: scenario.slack.ephemerals().length,
    responses: scenario.slack.responses.length,
  };
}

const ephemeralReply = (userId: string, text: string, channelId?: string) =>
  commandReply(scenario, userId, text, channelId);

test('a forged signature and a replayed request get 401 and start nothing', async () => {
  const before = await effects();
  const { workspace } = scenario.slack;
  const body = new URLSearchParams({
    token: workspace.verificationToken,
    team_id: workspace.teamId,
    team_domain: workspace.teamDomain,
    channel_id: CHANNELS.ops,
    channel_name: 'ops',
    user_id: USERS.approver,
    user_name: 'alice',
    command: '/pach',
    text: 'backup prod',
    api_app_id: workspace.appId,
    is_enterprise_install: 'false',
    response_url: `${scenario.slack.apiUrl.replace(/api\/$/, '')}commands/${workspace.teamId}/1/forged`,
    trigger_id: '1.2.forged',
  }).toString();

  const forged = await scenario.slack.sendRaw(scenario.bot!.url, body, { secret: 'not-the-signing-secret' });
  expect(forged.status).toBe(401);
  const garbage = await scenario.slack.sendRaw(scenario.bot!.url, body, { signature: 'v0=deadbeef' });
  expect(garbage.status).toBe(401);
  // Correctly signed, but 6 minutes ago: Slack's replay window is 5.
  const old = Math.floor(Date.now() / 1000) - 6 * 60;
  const replayed = await scenario.slack.sendRaw(scenario.bot!.url, body, {
    timestamp: old,
    signature: signSlackRequest(scenario.slack.signingSecret, old, body),
  });
  expect(replayed.status).toBe(401);

  await sleep(1000);
  expect(await effects()).toEqual(before);
});

test('malformed commands, an unknown cluster or database and the wrong channel get a clear ephemeral refusal', async () => {
  const before = await effects();
  const usage = /`\/pach backup \[cluster\][^\n]*\n`\/pach status`/;
  const cases: [text: string, expected: RegExp[], channel?: string][] = [
    ['frobnicate', [/unknown command `frobnicate`/, usage]],
    ['backup --bogus', [/--bogus/, usage]],
    ['backup prod extra', [/does not take `extra`/, usage]],
    ['show', [/`\/pach show` takes one backup id/, usage]],
    ['backup staging', [/unknown cluster `staging`/, /configured: prod/]],
    [
      'backup prod --skip-db nosuchdb',
      [/--skip-db nosuchdb: not a database of prod/, new RegExp(scenario.names.pachyderm)],
    ],
    ['backup prod', [/\/pach is accepted in <#C0OPS> only/], CHANNELS.random],
  ];
  for (const [text, expected, channel] of cases) {
    const answer = await ephemeralReply(USERS.requester, text, channel);
    for (const pattern of expected)
      expect({ text, answer }).toEqual({ text, answer: expect.stringMatching(pattern) });
  }
  await sleep(1000);
  // One ephemeral answer per command, and nothing else.
  expect(await effects()).toEqual({
    ...before,
    ephemerals: before.ephemerals + cases.length,
    responses: expect.any(Number),
  });
});

test('/pach help, status and list answer ephemerally; a second backup of an active cluster is refused', async () => {
  const before = await effects();
  expect(await ephemeralReply(USERS.outsider, 'help')).toMatch(
    /every phase waits for an approver[\s\S]*`\/pach list/,
  );
  expect(await ephemeralReply(USERS.outsider, 'status')).toMatch(/No operation is in progress/);
  expect(await ephemeralReply(USERS.outsider, 'list')).toMatch(
    new RegExp(`\\*prod\\* \\(\`${scenario.names.backup}\`\\)[\\s\\S]*no complete backups`),
  );
  expect(await effects()).toMatchObject({ operations: before.operations, postMessage: before.postMessage });

  const parent = await requestBackup(scenario, USERS.requester);
  const prompt = await waitForPrompt(scenario, parent.ts, APPROVE, PAUSE);
  const operation = await operationOf(parent);
  expect(await ephemeralReply(USERS.outsider, 'status')).toMatch(
    new RegExp(
      `\\*prod\\*: backup \`${operation.backup_id}\` — awaiting-approval \\(pause: awaiting-approval\\).*requested by <@${USERS.requester}>`,
    ),
  );

  const active = await effects();
  const refusal = await ephemeralReply(USERS.approver, 'backup prod');
  expect(refusal).toMatch(/prod already has an active operation/);
  expect(refusal).toContain(operation.backup_id);
  expect(refusal).toContain(`requested by <@${USERS.requester}>`);
  await sleep(1000);
  expect(await effects()).toMatchObject({
    operations: active.operations,
    parents: active.parents,
    postMessage: active.postMessage,
  });

  // Leave the cluster free for the next test.
  expect((await click(scenario, USERS.requester, prompt, REJECT)).status).toBe(200);
  await waitForText(parent, /Backup rejected/);
});

test('Reject before pause ends the operation as rejected without touching the cluster', async () => {
  const changesToCluster = () => scenario.kube.requests.filter((r) => r.method !== 'GET').length;
  const changesBefore = changesToCluster();
  const parent = await requestBackup(scenario, USERS.requester);
  const prompt = await waitForPrompt(scenario, parent.ts, APPROVE, PAUSE);

  expect((await click(scenario, USERS.approver, prompt, REJECT)).status).toBe(200);
  await waitForText(parent, /Backup rejected; nothing more will run/);
  await waitForText(parent, /Pause the cluster\*: :no_entry: rejected by <@U0APPROVER>/);
  await scenario.slack.waitFor(
    () => /: rejected$/.test(scenario.slack.thread(CHANNELS.ops, parent.ts)[0].text),
    {
      what: 'the checklist to say rejected',
    },
  );

  const operation = await operationOf(parent);
  expect(operation).toMatchObject({ status: 'rejected', cluster_paused: false });
  expect(operation.finished_at).not.toBeNull();
  expect(await phasesOf(operation.id)).toEqual([
    { name: 'plan', status: 'succeeded', runs: 1 },
    { name: 'precopy', status: 'succeeded', runs: 1 },
    { name: 'announce', status: 'succeeded', runs: 1 },
    ...['pause', 'dump', 'mirror', 'resume', 'verify'].map((name) => ({ name, status: 'skipped', runs: 0 })),
  ]);

  await sleep(1000);
  expect(changesToCluster()).toBe(changesBefore);
  expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
  expect(
    scenario.slack.thread(CHANNELS.ops, parent.ts).filter((m) => /^pause (running|done)/.test(m.text)),
  ).toEqual([]);
});

test('Reject while the cluster is paused resumes it first, then ends the operation as rejected', async () => {
  const parent = await requestBackup(scenario, USERS.requester);
  expect(
    (await click(scenario, USERS.approver, await waitForPrompt(scenario, parent.ts, APPROVE, PAUSE), APPROVE))
      .status,
  ).toBe(200);
  const dumpPrompt = await waitForPrompt(scenario, parent.ts, REJECT, DUMP, 20_000);
  const paused = await operationOf(parent);
  const recorded = paused.state.pause!.replicas;
  expect(paused.cluster_paused).toBe(true);
  expect(recorded).toEqual({
    'Deployment/pachd': 1,
    'Deployment/pachw': 1,
    'ReplicationController/default-edges-v1': 2,
    'ReplicationController/default-montage-v1': 1,
  });
  expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(0);
  expect(scenario.kube.listPods('app=pachd')).toEqual([]);

  // The requester may stop their own operation.
  expect((await click(scenario, USERS.requester, dumpPrompt, REJECT)).status).toBe(200);
  const notice = await waitForText(
    parent,
    /Rejected by <@U0REQUESTER> while the cluster is paused: resuming it first/,
  );
  const resumed = await waitForText(parent, /:white_check_mark: \*resume\* done/);
  const finished = await waitForText(parent, /Backup rejected; nothing more will run/);
  const order = scenario.slack.thread(CHANNELS.ops, parent.ts).map((m) => m.ts);
  expect(order.indexOf(notice.ts)).toBeLessThan(order.indexOf(resumed.ts));
  expect(order.indexOf(resumed.ts)).toBeLessThan(order.indexOf(finished.ts));
  await waitForText(parent, /Dump the databases\*: :no_entry: rejected by <@U0REQUESTER>/);

  await scenario.kube.waitForSettled(undefined, 10_000);
  for (const [key, replicas] of Object.entries(recorded)) {
    const [kind, name] = key.split('/');
    const workload =
      kind === 'Deployment'
        ? scenario.kube.getDeployment(name)
        : scenario.kube.getReplicationController(name);
    expect({ key, replicas: workload?.spec.replicas }).toEqual({ key, replicas });
  }
  expect(scenario.kube.listPods('app=pachd').filter((p) => !p.metadata.deletionTimestamp)).toHaveLength(1);

  const ended = await operationOf(parent);
  expect(ended).toMatchObject({ status: 'rejected', cluster_paused: false });
  expect(ended.finished_at).not.toBeNull();
  expect(await phasesOf(ended.id)).toEqual([
    { name: 'plan', status: 'succeeded', runs: 1 },
    { name: 'precopy', status: 'succeeded', runs: 1 },
    { name: 'announce', status: 'succeeded', runs: 1 },
    { name: 'pause', status: 'succeeded', runs: 1 },
    { name: 'dump', status: 'skipped', runs: 0 },
    { name: 'mirror', status: 'skipped', runs: 0 },
    { name: 'resume', status: 'succeeded', runs: 1 },
    { name: 'verify', status: 'skipped', runs: 0 },
  ]);
  await scenario.slack.waitFor(
    () => /: rejected$/.test(scenario.slack.thread(CHANNELS.ops, parent.ts)[0].text),
    {
      what: 'the checklist to say rejected',
    },
  );
});
