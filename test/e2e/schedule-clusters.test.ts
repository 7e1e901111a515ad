/**
 * Scheduled backups with two clusters: prod takes the global channels and approvers, staging has its own.
 * A schedule of staging, created in staging's ops channel, sends its advance notice to staging's users'
 * channel, opens its backup thread (prompts for staging's approvers) in staging's ops channel, and turns
 * its outage notice into the all-clear there; prod's users and ops channels hear nothing of it, and a prod
 * schedule's advance notice, due at the same moment, goes to prod's users' channel alone.
 * Each schedule has one occurrence (a six-field cron naming one second of the year, in UTC) a few seconds
 * ahead, so the test waits for nothing else.
 */
import { PHASE_TITLES } from '../harness/drive.ts';
import { CHANNELS, type Scenario, STAGING_SLACK, startRgwScenario, USERS } from '../harness/scenario.ts';
import type { SlackMessage } from '../harness/slack/slack-standin.ts';
import { queryState } from '../harness/state-db.ts';

const APPROVE = 'pachops:approve';
const LEAD_SECONDS = 10;

let scenario: Scenario;

beforeAll(async () => {
  scenario = await startRgwScenario({
    objects: 20,
    // Notices 10 s ahead of each occurrence; one more than 10 s late counts as missed. Margins of seconds
    // on a loaded two-core machine: the commands, the notice job and the deletion below each take some.
    schedules: { noticeLeadMinutes: [LEAD_SECONDS / 60], missedGraceMinutes: 10 / 60 },
    // staging's one approver creates its schedule and approves what it starts: allowed on staging only.
    clusterSlack: { staging: { ...STAGING_SLACK, allowSelfApproval: true } },
  });
  await scenario.startBot();
  await scenario.startWorker();
}, 120_000);

afterAll(async () => {
  await scenario?.stop();
});

async function say(userId: string, channelId: string, text: string): Promise<string> {
  const before = scenario.slack.ephemerals({ userId }).length;
  await scenario.slack.command(scenario.bot!.url, { userId, channelId, text });
  const reply = await scenario.slack.waitFor(() => scenario.slack.ephemerals({ userId })[before], {
    what: `the reply to /pach ${text}`,
  });
  return reply.text;
}

/** A six-field cron (seconds first) whose only occurrence this year is `at`, read in UTC. */
const cronAt = (at: Date) =>
  `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`;

const scheduleId = (reply: string) => {
  const id = /Scheduled `(sch-[0-9a-f]+)`/.exec(reply)?.[1];
  if (!id) throw new Error(`no schedule id in: ${reply}`);
  return id;
};

/** Every chat.postMessage / chat.update the bot or worker sent to a channel, with when it arrived. */
const postsTo = (channel: string) =>
  scenario.slack.calls
    .filter((c) => ['chat.postMessage', 'chat.update'].includes(c.method) && c.args.channel === channel)
    .map((c) => ({ at: c.at, text: String(c.args.text ?? '') }));

/** Approves each phase of a thread in staging's ops channel as staging's approver. */
async function approveInStaging(parentTs: string, phases: string[]): Promise<SlackMessage[]> {
  const prompts: SlackMessage[] = [];
  const open = (phase: string) =>
    scenario.slack
      .thread(CHANNELS.stagingOps, parentTs)
      .filter((m) => PHASE_TITLES[phase].test(m.text) && scenario.slack.findButton(m, APPROVE))
      .at(-1);
  for (const phase of phases) {
    const prompt = await scenario.slack.waitFor(() => open(phase), {
      timeoutMs: 60_000,
      what: `the ${phase} prompt\n${scenario.slack.renderThread(CHANNELS.stagingOps, parentTs)}`,
    });
    prompts.push(prompt);
    const reply = await scenario.slack.click(scenario.bot!.url, {
      userId: USERS.stagingApprover,
      channelId: CHANNELS.stagingOps,
      messageTs: prompt.ts,
      actionId: APPROVE,
    });
    if (reply.status !== 200) throw new Error(`click on ${phase}: HTTP ${reply.status}`);
    await scenario.slack.waitFor(() => !open(phase), { what: `the ${phase} prompt to be decided` });
  }
  return prompts;
}

test("staging's schedule must be made in staging's ops channel, by staging's approvers", async () => {
  const cron = '"0 3 * * *"';
  expect(await say(USERS.stagingApprover, CHANNELS.ops, `schedule backup staging ${cron}`)).toMatch(
    /^\/pach is accepted in <#C0STAGEOPS> only for staging/,
  );
  expect(await say(USERS.approver, CHANNELS.stagingOps, `schedule backup staging ${cron}`)).toMatch(
    /only approvers can schedule backups \(the approvers of staging\)/,
  );
  expect(await say(USERS.stagingApprover, CHANNELS.stagingOps, `schedule backup prod ${cron}`)).toMatch(
    /^\/pach is accepted in <#C0OPS> only for prod/,
  );
  expect(await queryState(scenario, 'SELECT id FROM schedules')).toEqual([]);
});

test("a staging schedule's advance notice, backup thread and all-clear stay in staging's channels; prod's notice in prod's", async () => {
  // One occurrence 20 s ahead, the same second for both schedules: the notices come 10 s before it.
  const due = new Date(Math.ceil(Date.now() / 1000) * 1000 + 20_000);
  const staging = scheduleId(
    await say(
      USERS.stagingApprover,
      CHANNELS.stagingOps,
      `schedule backup staging "${cronAt(due)}" --tz UTC --note "staging nightly"`,
    ),
  );
  const prod = scheduleId(
    await say(USERS.approver, CHANNELS.ops, `schedule backup prod "${cronAt(due)}" --tz UTC`),
  );

  // Both advance notices arrive ahead of the occurrence, each in its own cluster's users' channel.
  const stagingNotice = await scenario.slack.waitForMessage(
    CHANNELS.stagingUsers,
    new RegExp(`Pachyderm staging goes down .*for a backup[^]*schedule \`${staging}`),
    { timeoutMs: 25_000 },
  );
  const prodNotice = await scenario.slack.waitForMessage(
    CHANNELS.users,
    new RegExp(`Pachyderm prod goes down .*for a backup[^]*schedule \`${prod}`),
    { timeoutMs: 25_000 },
  );
  // prod's occurrence must not run (the two clusters share one installation): deleted before it is due.
  expect(await say(USERS.approver, CHANNELS.ops, `schedule delete ${prod}`)).toMatch(/deleted/);
  expect(Date.now()).toBeLessThan(due.getTime());
  // Each was the first word in its channel, and came ahead of the occurrence.
  for (const [channel, notice] of [
    [CHANNELS.stagingUsers, stagingNotice],
    [CHANNELS.users, prodNotice],
  ] as const) {
    const [first] = postsTo(channel);
    expect(first.text).toBe(notice.text);
    expect(first.at).toBeLessThan(due.getTime());
  }
  expect(stagingNotice.text).toMatch(/Expected downtime: /);
  expect(stagingNotice.text).toMatch(/Note: staging nightly/);
  expect(prodNotice.text).not.toMatch(/staging/);

  // At the occurrence, staging's backup thread opens in staging's ops channel.
  const parent = await scenario.slack.waitFor(
    () => scenario.slack.messages(CHANNELS.stagingOps).find((m) => /^Backup of staging/.test(m.text)),
    { timeoutMs: 20_000, what: "staging's scheduled backup thread" },
  );
  expect(JSON.stringify(parent.blocks)).toContain(`Requested by schedule \`${staging}\``);
  const prompts = await approveInStaging(parent.ts, ['pause', 'dump', 'mirror', 'resume', 'verify']);
  expect(JSON.stringify(prompts[0].blocks)).toContain(`Approvers: <@${USERS.stagingApprover}> ·`);
  const finished = await scenario.slack.waitForMessage(CHANNELS.stagingOps, /^:tada: Backup/, {
    threadTs: parent.ts,
    timeoutMs: 120_000,
  });
  expect(finished.text).toMatch(/complete and verified/);

  // staging's users: the advance notice, then the backup's outage notice turned all-clear.
  await scenario.slack.waitForMessage(CHANNELS.stagingUsers, /Pachyderm staging is back/);
  expect(scenario.slack.messages(CHANNELS.stagingUsers).map((m) => m.text)).toEqual([
    stagingNotice.text,
    expect.stringMatching(/^:white_check_mark: \*Pachyderm staging is back\*: it was down /),
  ]);
  // prod's users heard of prod's schedule only; prod's ops channel of nothing.
  expect(postsTo(CHANNELS.users).map((p) => p.text)).toEqual([prodNotice.text]);
  expect(postsTo(CHANNELS.ops)).toEqual([]);
  expect(scenario.slack.messages(CHANNELS.stagingUsers).some((m) => m.text.includes(prod))).toBe(false);

  expect(await say(USERS.stagingApprover, CHANNELS.stagingOps, `schedule delete ${staging}`)).toMatch(
    new RegExp(`Schedule \`${staging}\` deleted`),
  );
  const fired = await queryState<{ actor: string }>(
    scenario,
    `SELECT actor FROM audit WHERE action = 'schedule.fired' ORDER BY id`,
  );
  expect(fired).toEqual([{ actor: `schedule:${staging}` }]);
}, 120_000);
