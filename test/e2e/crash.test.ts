/**
 * Crashes mid-operation: a worker SIGKILLed in the middle of a phase, and the bot restarted between
 * approvals. The operation continues, no phase's effect is doubled, and the thread tells what happened.
 * (Redis restarting without its data is in watchdog.test.ts.)
 */
import {
  approvePhases,
  PHASE_TITLES,
  requestBackup,
  waitForFinish,
  waitForPrompt,
} from '../harness/drive.ts';
import { CHANNELS, type Scenario, startRgwScenario, USERS } from '../harness/scenario.ts';
import { queryState } from '../harness/state-db.ts';

let scenario: Scenario;

beforeAll(async () => {
  scenario = await startRgwScenario({
    objects: 30,
    lockSeconds: 3,
  });
  await scenario.startBot();
  await scenario.startWorker();
}, 120_000);

afterAll(async () => {
  await scenario?.stop();
});

const phase = async (operationId: string, name: string) =>
  (
    await queryState<{ status: string; runs: number }>(
      scenario,
      'SELECT status, runs FROM phases WHERE operation_id = $1 AND name = $2',
      operationId,
      name,
    )
  )[0];

test('a worker killed in the middle of the pause: another takes the phase up, and the recorded counts stay the real ones', async () => {
  const release = scenario.kube.stuckPods('app=pachw');
  try {
    const parent = await requestBackup(scenario, USERS.requester);
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause']);
    const [operation] = await queryState<{ id: string }>(
      scenario,
      'SELECT id FROM operations WHERE thread_ts = $1',
      parent.ts,
    );
    // The pause has scaled everything to 0 and waits for the stuck pod: kill the worker now.
    await scenario.kube.waitFor(
      () => scenario.kube.getDeployment('pachd')?.spec.replicas === 0,
      'pachd scaled to 0',
    );
    await scenario.worker!.kill();
    release();
    await scenario.startWorker();
    await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.dump, 60_000);
    expect(await phase(operation.id, 'pause')).toEqual({ status: 'succeeded', runs: 1 });
    expect(
      scenario.slack
        .thread(CHANNELS.ops, parent.ts)
        .some((m) => /The worker running \*pause\* stopped before it finished/.test(m.text)),
    ).toBe(true);
    // Run again from its record: the counts it restores are those before the pause, not the zeros.
    await approvePhases(scenario, parent.ts, USERS.approver, ['dump', 'mirror', 'resume', 'verify']);
    expect((await waitForFinish(scenario, parent.ts)).text).toMatch(/complete and verified/);
    await scenario.kube.waitForSettled();
    expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
    expect(scenario.kube.getReplicationController('default-edges-v1')?.spec.replicas).toBe(2);
    expect(
      scenario.slack.thread(CHANNELS.ops, parent.ts).filter((m) => /^pause done in /.test(m.text)),
    ).toHaveLength(1);
  } finally {
    release();
  }
}, 120_000);

test('the bot restarted between two approvals: the thread carries on where it was', async () => {
  const parent = await requestBackup(scenario, USERS.requester);
  await approvePhases(scenario, parent.ts, USERS.approver, ['pause']);
  const dump = await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.dump);
  await scenario.bot!.kill();
  await scenario.startBot();
  await scenario.slack.click(scenario.bot!.url, {
    userId: USERS.approver,
    channelId: CHANNELS.ops,
    messageTs: dump.ts,
    actionId: 'pachops:approve',
  });
  await approvePhases(scenario, parent.ts, USERS.approver, ['mirror', 'resume', 'verify']);
  expect((await waitForFinish(scenario, parent.ts)).text).toMatch(/complete and verified/);
}, 120_000);
