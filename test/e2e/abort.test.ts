/**
 * [Abort] on a running phase's progress message: an approver's click stops the phase within seconds (the
 * bot only records the request; the worker polls for it), the thread names who stopped it and how far it
 * got, and Retry continues from there. Anyone else's click is refused, only to them, and changes nothing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  approvePhases,
  click,
  PHASE_TITLES,
  requestBackup,
  waitForFinish,
  waitForPrompt,
} from '../harness/drive.ts';
import { backupFileKeys, forgetMirror, pachops } from '../harness/restore-helpers.ts';
import { CHANNELS, type Scenario, startRgwScenario, USERS } from '../harness/scenario.ts';
import type { SlackMessage } from '../harness/slack/types.ts';
import { endActiveOperations, queryState } from '../harness/state-db.ts';

const ABORT = 'pachops:abort-running';
/** Enough objects that the paused mirror, one copy at a time, runs for several seconds. */
const OBJECTS = 400;

let scenario: Scenario;
beforeAll(async () => {
  scenario = await startRgwScenario({
    objects: OBJECTS,
    // No live pre-copy and one copy at a time: the paused mirror copies everything, slowly enough to click.
    mirror: { concurrency: 1, precopy: false },
  });
  await scenario.startBot();
  await scenario.startWorker();
}, 180_000);
afterEach(() => endActiveOperations(scenario), 35_000);
afterAll(async () => {
  await scenario?.stop();
});

/** The phase's own message in the thread (updated in place from "running" to its report). */
function phaseMessage(parentTs: string, ts: string): SlackMessage {
  return scenario.slack.thread(CHANNELS.ops, parentTs).find((m) => m.ts === ts)!;
}

/** The phase's running message once it shows progress matching `progress`, with its [Abort]. */
function waitForRunning(parentTs: string, phase: string, progress: RegExp): Promise<SlackMessage> {
  return scenario.slack.waitFor(
    () =>
      scenario.slack
        .thread(CHANNELS.ops, parentTs)
        .find(
          (m) =>
            m.text.startsWith(`${phase} running: `) &&
            progress.test(m.text) &&
            scenario.slack.findButton(m, ABORT),
        ),
    { timeoutMs: 30_000, what: `${phase} running with progress and [Abort]` },
  );
}

test('Abort by a non-approver is refused, only to them; by an approver it stops the pause within seconds, and the Retry runs', async () => {
  const release = scenario.kube.stuckPods('app=pachw');
  try {
    const parent = await requestBackup(scenario, USERS.requester);
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause']);
    const running = await waitForRunning(parent.ts, 'pause', /waiting: /);
    expect(scenario.slack.findButton(running, ABORT)!.element).toMatchObject({
      text: { text: 'Abort' },
      style: 'danger',
      confirm: { title: { text: 'Abort pause?' }, confirm: { text: 'Abort' }, style: 'danger' },
    });

    // Neither an approver nor the requester: refused, only to them; the pause goes on.
    await click(scenario, USERS.outsider, running, ABORT);
    const refusal = await scenario.slack.waitFor(() =>
      scenario.slack.ephemerals({ userId: USERS.outsider }).find((e) => /Not allowed/.test(e.text)),
    );
    expect(refusal.text).toMatch(/only approvers or the requester can abort.*Nothing was stopped/);
    await sleep(2000);
    expect(phaseMessage(parent.ts, running.ts).text).toMatch(/^pause running: waiting: /);

    // An approver (through the approvers' user group): stopped within seconds, the thread says by whom and where.
    const clickedAt = Date.now();
    await click(scenario, USERS.groupMember, running, ABORT);
    const failure = await waitForPrompt(scenario, parent.ts, 'pachops:retry', /^pause aborted/, 10_000);
    expect(Date.now() - clickedAt).toBeLessThan(5000);
    expect(failure.text).toMatch(/^pause aborted by <@U0GROUPIE>; it had got to: waiting: .*app=pachw/);
    expect(phaseMessage(parent.ts, running.ts).text).toMatch(/^pause aborted by <@U0GROUPIE>/);
    expect(scenario.slack.findButton(phaseMessage(parent.ts, running.ts), ABORT)).toBeUndefined();
    expect(scenario.slack.findButton(failure, 'pachops:resume')).toBeTruthy();
    expect(
      scenario.slack.ephemerals({ userId: USERS.groupMember }).some((e) => /Abort requested/.test(e.text)),
    ).toBe(true);
    const audit = await queryState<{ actor: string; action: string }>(
      scenario,
      `SELECT actor, action FROM audit a JOIN operations o ON o.id = a.operation_id
       WHERE o.thread_ts = $1 AND action LIKE 'pause.%' ORDER BY a.id`,
      parent.ts,
    );
    // One attempt (ABORTED is permanent: BullMQ does not start it again by itself), the request, the end.
    expect(audit.map((a) => `${a.actor} ${a.action}`)).toEqual([
      `${USERS.approver} pause.approve`,
      'pachops pause.started',
      `${USERS.groupMember} pause.abort-requested`,
      'pachops pause.aborted',
    ]);

    // The request was for the aborted run: the retry runs to the end.
    release();
    await click(scenario, USERS.approver, failure, 'pachops:retry');
    await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.dump);
    expect(phaseMessage(parent.ts, running.ts).text).toMatch(/^pause done in /);
  } finally {
    release();
  }
}, 90_000);

test('an approver aborts the running mirror: the thread says how far it got, and Retry copies only the rest', async () => {
  const parent = await requestBackup(scenario, USERS.requester);
  await approvePhases(scenario, parent.ts, USERS.approver, ['pause', 'dump', 'mirror']);
  const running = await waitForRunning(parent.ts, 'mirror', /copied/);
  const clickedAt = Date.now();
  await click(scenario, USERS.approver, running, ABORT);
  const failure = await waitForPrompt(scenario, parent.ts, 'pachops:retry', /^mirror aborted/, 10_000);
  expect(Date.now() - clickedAt).toBeLessThan(5000);
  // Who stopped it and the partial state, in the phase's report and in the prompt offering the ways out.
  expect(failure.text).toMatch(/^mirror aborted by <@U0APPROVER>; it had got to: .*copied/);
  const partial = /it had got to: (.*)$/.exec(failure.text)![1];
  expect(phaseMessage(parent.ts, running.ts).text).toBe(
    `mirror aborted by <@U0APPROVER>; it had got to: ${partial}`,
  );
  expect(JSON.stringify(phaseMessage(parent.ts, running.ts).blocks)).toContain(`Stopped at: ${partial}`);
  expect(JSON.stringify(failure.blocks)).toMatch(
    /Retry continues from where it stopped.*The cluster is paused/,
  );
  // "1,200 copied" (or "1,200 of ~4,000 objects copied"): some, not all.
  const copiedBefore = count(/([\d,]+)(?: of ~?[\d,]+)?(?: objects)? copied/.exec(partial)![1]);
  expect(copiedBefore).toBeGreaterThan(0);
  expect(copiedBefore).toBeLessThan(OBJECTS);

  await click(scenario, USERS.approver, failure, 'pachops:retry');
  await approvePhases(scenario, parent.ts, USERS.approver, ['resume', 'verify']);
  expect((await waitForFinish(scenario, parent.ts)).text).toMatch(/complete and verified/);
  const report = /^mirror done in .*?: ([\d,]+) objects .*?, ([\d,]+) copied in/.exec(
    phaseMessage(parent.ts, running.ts).text,
  )!;
  const [listed, copiedAfter] = [count(report[1]), count(report[2])];
  // Continued, not restarted: nothing copied before the abort was copied again.
  expect(copiedAfter).toBeGreaterThan(0);
  expect(copiedBefore + copiedAfter).toBeLessThanOrEqual(listed);
}, 180_000);

test('/pach resume while the mirror runs: the mirror stops first and writes no manifest, then the cluster comes back and the backup ends aborted', async () => {
  await forgetMirror(scenario); // the earlier test mirrored the bucket: this mirror must copy it all again
  const parent = await requestBackup(scenario, USERS.requester);
  await approvePhases(scenario, parent.ts, USERS.approver, ['pause', 'dump', 'mirror']);
  const running = await waitForRunning(parent.ts, 'mirror', /copied/);
  await scenario.slack.command(scenario.bot!.url, {
    userId: USERS.approver,
    channelId: CHANNELS.ops,
    text: 'resume prod',
  });
  expect((await waitForFinish(scenario, parent.ts, 30_000)).text).toMatch(/Backup aborted/);
  const thread = scenario.slack.thread(CHANNELS.ops, parent.ts);
  expect(thread.some((m) => /Stopping \*mirror\* first/.test(m.text))).toBe(true);
  expect(phaseMessage(parent.ts, running.ts).text).toMatch(
    /^mirror aborted by <@U0APPROVER>; it had got to: .*copied/,
  );
  // The operation is ending: the stopped mirror offers no Retry and no second way out.
  expect(
    thread.some((m) => /^mirror aborted/.test(m.text) && scenario.slack.findButton(m, 'pachops:retry')),
  ).toBe(false);
  const { backupId, actions } = await operationAudit(parent.ts);
  // Asked to stop, stopped, and only then resumed.
  const stopped = actions.indexOf('mirror.stopped-for-resume');
  expect(actions.indexOf('mirror.abort-requested')).toBeGreaterThan(
    actions.indexOf('cluster.emergency-resume'),
  );
  expect(stopped).toBeGreaterThan(actions.indexOf('mirror.abort-requested'));
  expect(actions.indexOf('resume.started')).toBeGreaterThan(stopped);
  expect(await backupFileKeys(scenario, backupId)).not.toContain(
    `.pachops/backups/${backupId}/manifest.json`,
  );
  await scenario.kube.waitForSettled();
  expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
}, 120_000);

test('/pach resume while the pause waits for its pods: the pause is stopped first, then the cluster is scaled back as it was', async () => {
  const release = scenario.kube.stuckPods('app=pachw');
  try {
    const parent = await requestBackup(scenario, USERS.requester);
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause']);
    await waitForRunning(parent.ts, 'pause', /waiting: /);
    await scenario.slack.command(scenario.bot!.url, {
      userId: USERS.approver,
      channelId: CHANNELS.ops,
      text: 'resume prod',
    });
    expect((await waitForFinish(scenario, parent.ts, 30_000)).text).toMatch(/Backup aborted/);
    const { actions } = await operationAudit(parent.ts);
    expect(actions.indexOf('pause.stopped-for-resume')).toBeGreaterThan(
      actions.indexOf('pause.abort-requested'),
    );
    expect(actions.indexOf('resume.started')).toBeGreaterThan(actions.indexOf('pause.stopped-for-resume'));
    expect(actions.indexOf('resume.succeeded')).toBeGreaterThan(actions.indexOf('resume.started'));
  } finally {
    release();
  }
  await scenario.kube.waitForSettled();
  expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
  expect(scenario.kube.getDeployment('pachw')?.spec.replicas).toBeGreaterThan(0);
}, 90_000);

test('`pachops abort` while a phase runs: asks it to stop, waits for it, then resumes the cluster and ends the operation', async () => {
  const release = scenario.kube.stuckPods('app=pachw');
  try {
    const parent = await requestBackup(scenario, USERS.requester);
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause']);
    const running = await waitForRunning(parent.ts, 'pause', /waiting: /);
    const [{ id }] = await queryState<{ id: string }>(
      scenario,
      'SELECT id FROM operations WHERE thread_ts = $1',
      parent.ts,
    );
    const result = await pachops(scenario, ['abort', id, '--yes']);
    expect(result).toMatchObject({ code: 0 });
    // Stopped first (nothing else touched the cluster while it ran), then the way out of the pause.
    expect(result.stdout).toMatch(/^pause is running: asked it to stop…\npause stopped\.\n[\s\S]*resume +✓/);
    expect(phaseMessage(parent.ts, running.ts).text).toMatch(
      /^pause aborted by `cli:[^`]+`; it had got to: /,
    );
    expect((await waitForFinish(scenario, parent.ts, 10_000)).text).toMatch(/aborted/);
    const audit = await queryState<{ actor: string; action: string }>(
      scenario,
      'SELECT actor, action FROM audit WHERE operation_id = $1 ORDER BY id',
      id,
    );
    const actions = audit.map((a) => a.action);
    const requested = actions.indexOf('pause.abort-requested');
    expect(audit[requested]!.actor).toMatch(/^cli:/);
    expect(actions.indexOf('pause.aborted')).toBeGreaterThan(requested);
    expect(actions.indexOf('operation.abort')).toBeGreaterThan(actions.indexOf('pause.aborted'));
    expect(actions.lastIndexOf('resume.started')).toBeGreaterThan(actions.indexOf('operation.abort'));
    const [operation] = await queryState<{ status: string }>(
      scenario,
      'SELECT status FROM operations WHERE id = $1',
      id,
    );
    expect(operation!.status).toBe('aborted');
  } finally {
    release();
  }
}, 120_000);

/** The thread's operation: its backup id and the actions of its audit, oldest first. */
async function operationAudit(parentTs: string): Promise<{ backupId: string; actions: string[] }> {
  const [{ id, backup_id: backupId }] = await queryState<{ id: string; backup_id: string }>(
    scenario,
    'SELECT id, backup_id FROM operations WHERE thread_ts = $1',
    parentTs,
  );
  const audit = await queryState<{ action: string }>(
    scenario,
    'SELECT action FROM audit WHERE operation_id = $1 ORDER BY id',
    id,
  );
  return { backupId, actions: audit.map((a) => a.action) };
}

function count(text: string): number {
  return Number(text.replace(/,/g, ''));
}
