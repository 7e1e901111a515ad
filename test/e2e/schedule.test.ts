/**
 * Scheduled backups: `/pach schedule backup` (approvers), the queue firing it at each cron occurrence with
 * its thread and prompts in the ops channel, advance notices in the users' channels, a busy cluster
 * skipped and a missed occurrence (pachops down) reported rather than silently dropped.
 * Seconds-resolution cron (six fields) keeps the test short.
 */
import { approvePhases, click, PHASE_TITLES, waitForFinish, waitForPrompt } from '../harness/drive.ts';
import { CHANNELS, type Scenario, startRgwScenario, USERS } from '../harness/scenario.ts';
import { queryState } from '../harness/state-db.ts';

let scenario: Scenario;

beforeAll(async () => {
  scenario = await startRgwScenario({
    objects: 20,
    // Notices 2 s ahead of each occurrence; an occurrence more than 3 s late counts as missed.
    schedules: { noticeLeadMinutes: [2 / 60], missedGraceMinutes: 3 / 60 },
  });
  await scenario.startBot();
  await scenario.startWorker();
}, 120_000);

afterAll(async () => {
  await scenario?.stop();
});

async function say(userId: string, text: string): Promise<string> {
  const before = scenario.slack.ephemerals({ userId }).length;
  await scenario.slack.command(scenario.bot!.url, { userId, channelId: CHANNELS.ops, text });
  const reply = await scenario.slack.waitFor(() => scenario.slack.ephemerals({ userId })[before], {
    what: `the reply to /pach ${text}`,
  });
  return reply.text;
}

const parents = () => scenario.slack.messages(CHANNELS.ops).filter((m) => /^Backup of prod/.test(m.text));

test('only approvers schedule; a bad cron or time zone is refused with the reason', async () => {
  expect(await say(USERS.requester, 'schedule backup prod "0 2 * * *"')).toMatch(
    /only approvers can schedule backups/,
  );
  expect(await say(USERS.approver, 'schedule backup prod "0 25 * * *"')).toMatch(/is not a cron expression/);
  expect(await say(USERS.approver, 'schedule backup prod "0 2 * * *" --tz Mars/Olympus')).toMatch(
    /unknown time zone Mars\/Olympus/,
  );
  expect(await say(USERS.approver, 'schedule backup prod')).toMatch(/schedule backup <cluster> "<cron>"/);
  expect(await queryState(scenario, 'SELECT id FROM schedules')).toEqual([]);
});

test('a schedule fires a backup with its own thread, the users are told ahead, a busy cluster is skipped, delete stops it', async () => {
  const created = await say(
    USERS.approver,
    'schedule backup prod "*/6 * * * * *" --tz Europe/Berlin --note "nightly"',
  );
  const id = /Scheduled `(sch-[0-9a-f]+)`/.exec(created)![1];
  expect(created).toMatch(/next \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  expect(created).toMatch(/As the schedule is yours, another approver approves its runs/);
  expect(await say(USERS.requester, 'schedule list')).toContain(id);
  const parent = await scenario.slack.waitFor(() => parents()[0], {
    timeoutMs: 20_000,
    what: 'the scheduled backup thread',
  });
  expect(JSON.stringify(parent.blocks)).toMatch(new RegExp(`Requested by schedule \`${id}\``));
  expect(JSON.stringify(parent.blocks)).toMatch(/\*Note\* nightly/);
  // An advance notice went to the users' channel before the occurrence.
  const notice = await scenario.slack.waitForMessage(CHANNELS.users, /for a backup/, { timeoutMs: 20_000 });
  expect(notice.text).toMatch(/Expected downtime: /);
  // named as the backup's own notice and thread name it
  expect(notice.text).toContain(`Started by schedule \`${id}\``);
  // While the first backup waits for approval, the next occurrence finds the cluster busy.
  await scenario.slack.waitForMessage(
    CHANNELS.ops,
    new RegExp(`Scheduled backup \`${id}\` of prod skipped: backup .* is still`),
    { timeoutMs: 20_000 },
  );
  expect(await say(USERS.requester, `schedule delete ${id}`)).toMatch(/only approvers can delete schedules/);
  expect(await say(USERS.approver, `schedule delete ${id}`)).toMatch(
    new RegExp(`Schedule \`${id}\` deleted`),
  );
  // The schedule is its creator's standing request: another approver approves what it started.
  const pause = await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.pause);
  await click(scenario, USERS.approver, pause, 'pachops:approve');
  const refusal = await scenario.slack.waitFor(() =>
    scenario.slack.ephemerals({ userId: USERS.approver }).find((e) => /Not allowed/.test(e.text)),
  );
  expect(refusal.text).toMatch(/you created its schedule; another approver has to approve it/);
  await approvePhases(scenario, parent.ts, USERS.groupMember, [
    'pause',
    'dump',
    'mirror',
    'resume',
    'verify',
  ]);
  expect((await waitForFinish(scenario, parent.ts)).text).toMatch(/complete and verified/);
  const count = parents().length;
  await new Promise((resolve) => setTimeout(resolve, 8000));
  expect(parents().length).toBe(count);
  const actions = (
    await queryState<{ action: string }>(
      scenario,
      `SELECT action FROM audit WHERE action LIKE 'schedule.%' ORDER BY id`,
    )
  ).map((r) => r.action);
  expect(actions).toEqual(
    expect.arrayContaining(['schedule.created', 'schedule.fired', 'schedule.skipped', 'schedule.deleted']),
  );
}, 120_000);

test('an occurrence missed while pachops was down is reported, not run and not silently dropped', async () => {
  const created = await say(USERS.approver, 'schedule backup prod "*/5 * * * * *"');
  const id = /Scheduled `(sch-[0-9a-f]+)`/.exec(created)![1];
  await scenario.worker!.stop();
  await new Promise((resolve) => setTimeout(resolve, 12_000));
  await scenario.startWorker();
  const report = await scenario.slack.waitForMessage(
    CHANNELS.ops,
    new RegExp(
      `Scheduled backup \`${id}\` .*(was due at .* but pachops was down|missed while pachops was down)`,
    ),
    { timeoutMs: 20_000 },
  );
  expect(report.text).toMatch(/not run/);
  await say(USERS.approver, `schedule delete ${id}`);
  const missed = await queryState(
    scenario,
    `SELECT 1 FROM audit WHERE action = 'schedule.missed' AND actor = $1`,
    `schedule:${id}`,
  );
  expect(missed.length).toBeGreaterThan(0);
}, 90_000);
