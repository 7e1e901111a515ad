/**
 * Two clusters in one config, through the real bot and worker and the Slack stand-in: prod takes the
 * global channels and approvers, staging has its own. A cluster's commands are accepted in its own ops
 * channels only, its approvers alone may approve its phases, and its users' channels alone hear of its
 * outage. Refusals are said to the one who typed or clicked only, and start nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { clickReply, commandReply, requestBackup } from '../harness/drive.ts';
import { pachops, submitRestoreForm } from '../harness/restore-helpers.ts';
import {
  APPROVER_GROUP,
  CHANNELS,
  type Scenario,
  STAGING_SLACK,
  startRgwScenario,
  USERS,
} from '../harness/scenario.ts';
import type { SlackMessage } from '../harness/slack/slack-standin.ts';
import { queryState } from '../harness/state-db.ts';

const APPROVE = 'pachops:approve';
const REJECT = 'pachops:reject';
const PAUSE = /Approval needed: Pause the cluster/;

let scenario: Scenario;

beforeAll(async () => {
  scenario = await startRgwScenario({
    objects: 20,
    clusterSlack: { staging: STAGING_SLACK },
  });
  await scenario.startBot();
  await scenario.startWorker();
}, 120_000);

afterAll(async () => {
  await scenario?.stop();
});

const operationCount = async () =>
  Number((await queryState<{ n: string }>(scenario, 'SELECT count(*) AS n FROM operations'))[0].n);

const ephemeralReply = (userId: string, text: string, channelId: string) =>
  commandReply(scenario, userId, text, channelId);
const clickForAnswer = (userId: string, message: SlackMessage, actionId: string) =>
  clickReply(scenario, userId, message, actionId, CHANNELS.stagingOps);

test("a cluster's commands are refused outside its ops channels, naming where they are accepted", async () => {
  const before = await operationCount();
  const cases: [channel: string, user: string, text: string, expected: RegExp][] = [
    [
      CHANNELS.ops,
      USERS.requester,
      'backup staging',
      /^\/pach is accepted in <#C0STAGEOPS> only for staging/,
    ],
    [CHANNELS.stagingOps, USERS.requester, 'backup prod', /^\/pach is accepted in <#C0OPS> only for prod/],
    [
      CHANNELS.random,
      USERS.requester,
      'backup staging',
      /^\/pach is accepted in <#C0OPS>, <#C0STAGEOPS> only\.$/,
    ],
    [
      CHANNELS.stagingOps,
      USERS.requester,
      'backup',
      /^Several clusters are configured: name one, `\/pach backup <cluster>`\. Here: `staging`\. Elsewhere: `prod` \(in <#C0OPS>\)\.$/,
    ],
    [
      CHANNELS.stagingOps,
      USERS.requester,
      'backup nosuch',
      /unknown cluster `nosuch`; configured: prod, staging/,
    ],
    // prod's approver is no approver of staging.
    [
      CHANNELS.stagingOps,
      USERS.approver,
      'resume staging',
      /only approvers can resume a cluster \(the approvers of staging\)/,
    ],
    [CHANNELS.stagingOps, USERS.outsider, 'help', /every phase waits for an approver/],
  ];
  for (const [channel, user, text, expected] of cases) {
    const answer = await ephemeralReply(user, text, channel);
    expect({ text, channel, answer }).toEqual({ text, channel, answer: expect.stringMatching(expected) });
  }
  await sleep(500);
  expect(await operationCount()).toBe(before);
  expect(scenario.slack.messages(CHANNELS.stagingOps)).toEqual([]);
});

test("staging's backup: its own approvers are asked, prod's approvers are refused, its users alone are told", async () => {
  const parent = await requestBackup(scenario, USERS.requester, 'backup staging', CHANNELS.stagingOps);
  const prompt = await scenario.slack.waitFor(
    () =>
      scenario.slack
        .thread(CHANNELS.stagingOps, parent.ts)
        .find((m) => PAUSE.test(m.text) && scenario.slack.findButton(m, APPROVE)),
    {
      timeoutMs: 60_000,
      what: `the pause prompt\n${scenario.slack.renderThread(CHANNELS.stagingOps, parent.ts)}`,
    },
  );
  expect(JSON.stringify(prompt.blocks)).toContain(`Approvers: <@${USERS.stagingApprover}> ·`);

  // The outage notice (posted by the announce phase, before the pause prompt) is in staging's users' channel only.
  const [notice] = scenario.slack.messages(CHANNELS.stagingUsers);
  expect(notice?.text).toMatch(/^:warning: \*Pachyderm staging goes down soon for a backup/);
  expect(scenario.slack.messages(CHANNELS.users)).toEqual([]);
  expect(scenario.slack.messages(CHANNELS.ops)).toEqual([]);

  // prod's approvers, by user id and by user group, may not approve staging's pause, nor stop it.
  const groupMember = USERS.groupMember; // in APPROVER_GROUP, one of the global (prod's) approvers
  expect(APPROVER_GROUP).toBe('S0SRE');
  for (const user of [USERS.approver, groupMember]) {
    expect(await clickForAnswer(user, prompt, APPROVE)).toBe(
      `Not allowed: only approvers can approve: <@${USERS.stagingApprover}> (the approvers of staging). Nothing was started.`,
    );
  }
  expect(await clickForAnswer(USERS.approver, prompt, REJECT)).toMatch(
    /^Not allowed: only approvers or the requester can reject: <@U0STAGER>, the requester <@U0REQUESTER> \(for staging\)/,
  );
  const [pause] = await queryState<{ status: string }>(
    scenario,
    `SELECT ph.status FROM phases ph JOIN operations o ON o.id = ph.operation_id
     WHERE o.thread_ts = $1 AND ph.name = 'pause'`,
    parent.ts,
  );
  expect(pause.status).toBe('awaiting-approval');
  expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);

  // staging's approver may; the users of staging hear it is called off, prod's users hear nothing.
  expect(
    (
      await scenario.slack.click(scenario.bot!.url, {
        userId: USERS.stagingApprover,
        channelId: CHANNELS.stagingOps,
        messageTs: prompt.ts,
        actionId: REJECT,
      })
    ).status,
  ).toBe(200);
  await scenario.slack.waitForMessage(CHANNELS.stagingOps, /Backup rejected/, {
    threadTs: parent.ts,
    timeoutMs: 20_000,
  });
  await scenario.slack.waitForMessage(CHANNELS.stagingUsers, /Pachyderm staging will not go down after all/);
  expect(scenario.slack.messages(CHANNELS.stagingUsers)).toHaveLength(1);
  expect(scenario.slack.messages(CHANNELS.users)).toEqual([]);
  expect(scenario.slack.messages(CHANNELS.ops)).toEqual([]);
});

test("a restore into staging is refused on the form when requested from prod's ops channel", async () => {
  const taken = await pachops(scenario, ['backup', '--cluster', 'prod', '--yes']);
  const backupId = /backup (prod-\S+) complete and verified/.exec(taken.stdout)?.[1];
  if (taken.code !== 0 || !backupId) throw new Error(`the backup failed:\n${taken.stdout}${taken.stderr}`);
  const before = await operationCount();
  const form = await submitRestoreForm(scenario, backupId, {
    cluster: 'staging',
    db_suffix: '_s1',
    bucket: `${scenario.names.source}-s1`,
  });
  expect(form.submitted.outcome).toBe('errors');
  expect(form.submitted.errors).toEqual({
    cluster: `restores of staging are requested in #${CHANNELS.stagingOps} only`,
  });
  expect(await operationCount()).toBe(before);
}, 60_000);
