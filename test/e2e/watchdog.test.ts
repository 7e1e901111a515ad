/**
 * The safety net: a cluster pachops paused is never left so unnoticed. The watchdog reminds, escalates
 * to the approvers and (when configured) resumes by itself, every step audited; an approver can resume
 * at once with `/pach resume`; a phase whose job Redis lost runs again.
 */
import { Queue } from 'bullmq';
import { PHASE_QUEUE } from '../../jobs/queue.ts';
import {
  approvePhases,
  click,
  PHASE_TITLES,
  requestBackup,
  waitForFinish,
  waitForPrompt,
} from '../harness/drive.ts';
import { type RedisServer, startRedis } from '../harness/redis.ts';
import { CHANNELS, type Scenario, startScenario, USERS } from '../harness/scenario.ts';
import { stackEnv } from '../harness/stack-env.ts';
import { queryState } from '../harness/state-db.ts';

const counts = (scenario: Scenario) => ({
  pachd: scenario.kube.getDeployment('pachd')?.spec.replicas,
  edges: scenario.kube.getReplicationController('default-edges-v1')?.spec.replicas,
});

describe('the watchdog on a long pause', () => {
  let scenario: Scenario;
  beforeAll(async () => {
    const stack = stackEnv();
    scenario = await startScenario({
      redisUrl: stack.redis.url,
      postgres: stack.postgres,
      s3: stack.rgw!,
      objects: 20,
      watchdogIntervalSeconds: 1,
      // remind after 3 s, escalate after 6 s, resume by itself after 12 s
      watchdog: { reminderMarginMinutes: 0.05, escalateAfterMinutes: 0.1, autoResumeAfterMinutes: 0.2 },
    });
    await scenario.startBot();
    await scenario.startWorker();
  }, 120_000);
  afterAll(async () => {
    await scenario?.stop();
  });

  test('reminds, escalates to the approvers, then resumes the cluster by itself; all audited', async () => {
    const parent = await requestBackup(scenario, USERS.requester);
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause']);
    await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.dump);
    // Nobody approves the dump: the cluster stays paused. Slack refuses the reminder's channel post twice:
    // it is given again at the next look each time, not counted as given.
    scenario.slack.failNext('chat.postMessage', 'internal_error');
    scenario.slack.failNext('chat.postMessage', 'internal_error');
    const inChannel = (pattern: RegExp) =>
      scenario.slack.waitFor(
        () => scenario.slack.messages(CHANNELS.ops).find((m) => !m.thread_ts && pattern.test(m.text)),
        {
          timeoutMs: 20_000,
          what: `a channel message matching ${pattern}`,
        },
      );
    const reminder = await inChannel(/has been paused for .* and is waiting on this thread/);
    expect(reminder.text).toMatch(/\|thread>/);
    const escalation = await inChannel(/<@U0APPROVER> <!subteam\^S0SRE> prod has been paused for/);
    expect(escalation.text).toMatch(/\/pach resume prod/);
    await inChannel(/resuming it now \(watchdog.autoResumeAfterMinutes\)/);
    expect((await waitForFinish(scenario, parent.ts, 30_000)).text).toMatch(/Backup aborted/);
    await scenario.kube.waitForSettled();
    expect(counts(scenario)).toEqual({ pachd: 1, edges: 2 });
    const actions = (
      await queryState<{ action: string }>(
        scenario,
        `SELECT action FROM audit WHERE actor = 'watchdog' ORDER BY id`,
      )
    ).map((r) => r.action);
    expect(actions).toEqual(['watchdog.remind', 'watchdog.escalate', 'watchdog.auto-resume']);
  }, 90_000);

  test('/pach resume: an approver brings the cluster back at once; anyone else is refused', async () => {
    const parent = await requestBackup(scenario, USERS.requester);
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause']);
    await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.dump);
    await scenario.slack.command(scenario.bot!.url, {
      userId: USERS.outsider,
      channelId: CHANNELS.ops,
      text: 'resume prod',
    });
    await scenario.slack.waitFor(() =>
      scenario.slack
        .ephemerals({ userId: USERS.outsider })
        .find((e) => /only approvers can resume/.test(e.text)),
    );
    expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(0);
    await scenario.slack.command(scenario.bot!.url, {
      userId: USERS.groupMember,
      channelId: CHANNELS.ops,
      text: 'resume prod',
    });
    expect((await waitForFinish(scenario, parent.ts, 30_000)).text).toMatch(/Backup aborted/);
    expect(
      scenario.slack
        .thread(CHANNELS.ops, parent.ts)
        .some((m) => /Emergency resume requested by <@U0GROUPIE>/.test(m.text)),
    ).toBe(true);
    await scenario.kube.waitForSettled();
    expect(counts(scenario)).toEqual({ pachd: 1, edges: 2 });
    await scenario.slack.command(scenario.bot!.url, {
      userId: USERS.requester,
      channelId: CHANNELS.ops,
      text: 'audit prod',
    });
    const audit = await scenario.slack.waitFor(() =>
      scenario.slack
        .ephemerals({ userId: USERS.requester })
        .find((e) => /cluster\.emergency-resume/.test(e.text)),
    );
    expect(audit.text).toMatch(/U0GROUPIE +cluster\.emergency-resume/);
    expect(audit.text).toMatch(/pause\.approve/);
  }, 60_000);
});

describe('a job Redis lost', () => {
  let scenario: Scenario;
  let redis: RedisServer;
  beforeAll(async () => {
    const stack = stackEnv();
    redis = await startRedis();
    scenario = await startScenario({
      redisUrl: redis.url,
      postgres: stack.postgres,
      s3: stack.rgw!,
      objects: 20,
      watchdogIntervalSeconds: 1,
    });
    await scenario.startBot();
    await scenario.startWorker();
  }, 120_000);
  afterAll(async () => {
    await scenario?.stop();
    await redis?.stop();
  });

  test('runs again once Redis is back, and the thread says so', async () => {
    const parent = await requestBackup(scenario, USERS.requester);
    const prompt = await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.pause);
    await scenario.worker!.stop();
    await scenario.slack.click(scenario.bot!.url, {
      userId: USERS.approver,
      channelId: CHANNELS.ops,
      messageTs: prompt.ts,
      actionId: 'pachops:approve',
    });
    // The pause job waits in Redis for a worker; Redis restarts without its data and the job is gone.
    await scenario.slack.waitFor(
      async () =>
        (await queryState(scenario, `SELECT 1 FROM phases WHERE name = 'pause' AND status = 'queued'`))
          .length > 0,
    );
    await redis.restart();
    await scenario.startWorker();
    await scenario.slack.waitForMessage(CHANNELS.ops, /The job of \*pause\* was lost/, {
      threadTs: parent.ts,
      timeoutMs: 30_000,
    });
    await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.dump, 30_000);
    expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(0);
    const [pause] = await queryState<{ runs: number; status: string }>(
      scenario,
      `SELECT runs, status FROM phases WHERE name = 'pause'`,
    );
    expect(pause).toEqual({ runs: 2, status: 'succeeded' });
    await scenario.slack.command(scenario.bot!.url, {
      userId: USERS.approver,
      channelId: CHANNELS.ops,
      text: 'resume prod',
    });
    await waitForFinish(scenario, parent.ts, 30_000);
  }, 90_000);

  test('a job BullMQ failed without the phase recording it (stalled too often, or failed before it began): reported as failed, with the way out', async () => {
    const parent = await requestBackup(scenario, USERS.requester);
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause']);
    const prompt = await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.dump);
    await scenario.worker!.stop();
    await click(scenario, USERS.approver, prompt, 'pachops:approve');
    const { id } = await scenario.slack.waitFor(async () => {
      const [queued] = await queryState<{ id: string }>(
        scenario,
        `SELECT o.id FROM operations o JOIN phases p ON p.operation_id = o.id
         WHERE o.thread_ts = $1 AND p.name = 'dump' AND p.status = 'queued'`,
        parent.ts,
      );
      return queued;
    });
    // The job's processor fails on every attempt before the phase starts, so the phase never records it.
    const queue = new Queue(PHASE_QUEUE, {
      prefix: `pachops-${scenario.names.state}`,
      connection: { url: redis.url },
    });
    try {
      await (await queue.getJob(`${id}.dump.1`))!.updateData({ operationId: id });
    } finally {
      await queue.close();
    }
    await scenario.startWorker();
    const failure = await waitForPrompt(scenario, parent.ts, 'pachops:resume', /^dump failed/, 30_000);
    expect(failure.text).toMatch(/its job ended without finishing it \(/);
    expect(scenario.slack.findButton(failure, 'pachops:retry')).toBeTruthy();
    const [dump] = await queryState<{ status: string }>(
      scenario,
      `SELECT status FROM phases WHERE operation_id = $1 AND name = 'dump'`,
      id,
    );
    expect(dump!.status).toBe('failed');
    const audit = await queryState<{ actor: string; action: string }>(
      scenario,
      `SELECT actor, action FROM audit WHERE operation_id = $1 AND action LIKE 'dump.%' ORDER BY id`,
      id,
    );
    expect(audit.map((a) => `${a.actor} ${a.action}`)).toEqual([
      `${USERS.approver} dump.approve`,
      'watchdog dump.job-failed',
      'pachops dump.failed',
    ]);
    await click(scenario, USERS.approver, failure, 'pachops:resume');
    expect((await waitForFinish(scenario, parent.ts, 30_000)).text).toMatch(/Backup aborted/);
    expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
  }, 90_000);
});
