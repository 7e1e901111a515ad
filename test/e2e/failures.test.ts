/**
 * When a phase fails: the thread says what failed in words a person can act on, the checklist shows where
 * it stopped, [Retry] continues, [Resume cluster] brings a paused cluster back, and an incomplete backup
 * is never listed. Also the enterprise pause (pachctl) path, working and refused.
 */
import {
  approvePhases,
  click,
  PHASE_TITLES,
  requestBackup,
  waitForFinish,
  waitForPrompt,
} from '../harness/drive.ts';
import { type RedisServer, startRedis } from '../harness/redis.ts';
import { backupFileKeys, withMissingChunk } from '../harness/restore-helpers.ts';
import {
  CHANNELS,
  type Scenario,
  type ScenarioOptions,
  startRgwScenario,
  USERS,
} from '../harness/scenario.ts';
import { endActiveOperations, queryState } from '../harness/state-db.ts';

async function start(options: Partial<ScenarioOptions> = {}): Promise<Scenario> {
  const scenario = await startRgwScenario({
    objects: 30,
    pauseTimeoutSeconds: 6,
    ...options,
  });
  await scenario.startBot();
  await scenario.startWorker();
  return scenario;
}

function counts(scenario: Scenario) {
  return {
    pachd: scenario.kube.getDeployment('pachd')?.spec.replicas,
    pachw: scenario.kube.getDeployment('pachw')?.spec.replicas,
    edges: scenario.kube.getReplicationController('default-edges-v1')?.spec.replicas,
  };
}

describe('scale mode', () => {
  let scenario: Scenario;
  beforeAll(async () => {
    scenario = await start();
  }, 120_000);
  afterEach(() => endActiveOperations(scenario), 35_000);
  afterAll(async () => {
    await scenario?.stop();
  });

  test('a cluster whose bucket lacks objects its database references: the backup is written, fails verification, and the operation ends without buttons', async () => {
    await withMissingChunk(scenario, async () => {
      const parent = await requestBackup(scenario, USERS.requester);
      await approvePhases(scenario, parent.ts, USERS.approver, [
        'pause',
        'dump',
        'mirror',
        'resume',
        'verify',
      ]);
      const final = await waitForFinish(scenario, parent.ts);

      expect(final.text).toMatch(
        /^:warning: Backup `prod-\S+` is written .* but FAILED verification: the cluster's own bucket lacks 1 chunk object/,
      );
      const thread = scenario.slack.thread(CHANNELS.ops, parent.ts);
      const mirror = thread.find((m) => /^mirror done in /.test(m.text))!;
      expect(JSON.stringify(mirror)).toMatch(/:warning: consistency: 1 of [\d,]+ chunk objects/);
      // nothing to retry or abort: the operation has ended, the cluster runs, the next backup may start
      expect(thread.some((m) => scenario.slack.findButton(m, 'pachops:retry'))).toBe(false);
      expect(counts(scenario)).toMatchObject({ pachd: 1 });
      const [operation] = await queryState<{ status: string; finished: boolean }>(
        scenario,
        'SELECT status, finished_at IS NOT NULL AS finished FROM operations WHERE thread_ts = $1',
        parent.ts,
      );
      expect(operation).toEqual({ status: 'failed', finished: true });
    });
  }, 120_000);

  test('stuck pods time out the pause with a clear failure; Retry continues once they are gone', async () => {
    const release = scenario.kube.stuckPods('app=pachw');
    try {
      const parent = await requestBackup(scenario, USERS.requester);
      await approvePhases(scenario, parent.ts, USERS.approver, ['pause']);
      const failure = await waitForPrompt(scenario, parent.ts, 'pachops:retry');
      expect(failure.text).toMatch(
        /pause failed: timed out after 6 s waiting for Pachyderm pods to terminate: 1 pod\(s\) with app=pachw still running/,
      );
      expect(scenario.slack.findButton(failure, 'pachops:resume')).toBeTruthy();
      expect(scenario.slack.findButton(failure, 'pachops:abort')).toBeFalsy();
      // The checklist shows where it stopped (updated just after the failure message).
      const checklist = await scenario.slack.waitFor(() => {
        const blocks = JSON.stringify(scenario.slack.thread(CHANNELS.ops, parent.ts)[0].blocks);
        return /❌ \*pause\* — failed: timed out/.test(blocks) && blocks;
      });
      expect(checklist).toMatch(/cluster paused/);
      // The requester may not retry (a forward step); an approver may.
      await click(scenario, USERS.requester, failure, 'pachops:retry');
      await scenario.slack.waitFor(() =>
        scenario.slack
          .ephemerals({ userId: USERS.requester })
          .find((e) => /only approvers can retry/.test(e.text)),
      );
      release();
      await click(scenario, USERS.approver, failure, 'pachops:retry');
      await approvePhases(scenario, parent.ts, USERS.approver, ['dump', 'mirror', 'resume', 'verify']);
      const last = await waitForFinish(scenario, parent.ts);
      expect(last.text).toMatch(/complete and verified/);
      expect(counts(scenario)).toEqual({ pachd: 1, pachw: 1, edges: 2 });
    } finally {
      release();
    }
  }, 90_000);

  test('a permanent failure while paused offers Resume cluster, which brings it back and ends the backup incomplete', async () => {
    const parent = await requestBackup(scenario, USERS.requester);
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause']);
    await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.dump);
    // The Helm release secrets become unreadable: a 403, as when the Role lacks `list secrets`.
    scenario.kube.failRequests({ method: 'GET', pathRegex: /\/secrets/, status: 403, times: 5 });
    await approvePhases(scenario, parent.ts, USERS.approver, ['dump']);
    const failure = await waitForPrompt(scenario, parent.ts, 'pachops:resume');
    expect(failure.text).toMatch(
      /dump failed: Kubernetes refused to list secrets in namespace pachyderm \(HTTP 403\)/,
    );
    expect(failure.text).toMatch(/Role/);
    expect(scenario.kube.listPods('app=pachd')).toHaveLength(0);
    await click(scenario, USERS.approver, failure, 'pachops:resume');
    const last = await waitForFinish(scenario, parent.ts);
    expect(last.text).toMatch(/aborted/);
    await scenario.kube.waitForSettled();
    expect(counts(scenario)).toEqual({ pachd: 1, pachw: 1, edges: 2 });
    const thread = scenario.slack.thread(CHANNELS.ops, parent.ts);
    expect(thread.some((m) => /^resume done in /.test(m.text))).toBe(true);
    // The dumps were written before the failure, but without a manifest the backup is not a backup.
    const backupId = /Backup id\* `([^`]+)`/.exec(JSON.stringify(thread[0].blocks))![1];
    expect(await backupFileKeys(scenario, backupId)).not.toContain(
      `.pachops/backups/${backupId}/manifest.json`,
    );
    await scenario.slack.command(scenario.bot!.url, {
      userId: USERS.requester,
      channelId: CHANNELS.ops,
      text: 'list',
    });
    const list = await scenario.slack.waitFor(() =>
      scenario.slack
        .ephemerals({ userId: USERS.requester })
        .find((e) => /prod/.test(e.text) && /```/.test(e.text)),
    );
    expect(list.text).not.toContain(backupId);
  }, 90_000);

  test('a transient failure is retried by the queue without bothering anyone', async () => {
    const parent = await requestBackup(scenario, USERS.requester);
    scenario.kube.failRequests({
      method: 'PATCH',
      pathRegex: /deployments\/pachd\/scale/,
      status: 503,
      times: 1,
    });
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause']);
    await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.dump);
    const thread = scenario.slack.thread(CHANNELS.ops, parent.ts);
    expect(thread.some((m) => scenario.slack.findButton(m, 'pachops:retry'))).toBe(false);
    const pause = thread.find((m) => /^pause done in /.test(m.text));
    expect(pause).toBeDefined();
    expect(thread.some((m) => /stopped before it finished/.test(m.text))).toBe(false);
    await click(
      scenario,
      USERS.requester,
      (await waitForPrompt(scenario, parent.ts, 'pachops:reject'))!,
      'pachops:reject',
    );
    expect((await waitForFinish(scenario, parent.ts)).text).toMatch(/rejected/);
    await scenario.kube.waitForSettled();
    expect(counts(scenario)).toEqual({ pachd: 1, pachw: 1, edges: 2 });
  }, 60_000);
});

describe('enterprise mode (pachctl enterprise pause)', () => {
  let scenario: Scenario;
  beforeAll(async () => {
    scenario = await start({ pauseMode: 'enterprise' });
  }, 120_000);
  afterEach(() => endActiveOperations(scenario), 35_000);
  afterAll(async () => {
    await scenario?.stop();
  });

  test('pauses with pachctl, backs up, and unpauses', async () => {
    const parent = await requestBackup(scenario, USERS.requester);
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause']);
    await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.dump);
    expect(scenario.kube.getConfigMap('pachd-config')?.data?.MODE).toBe('paused');
    // A paused pachd keeps running; its workers are scaled to 0 by pachd itself.
    expect(scenario.kube.listPods('app=pachd').length).toBeGreaterThan(0);
    expect(scenario.kube.getReplicationController('default-edges-v1')?.spec.replicas).toBe(0);
    await approvePhases(scenario, parent.ts, USERS.approver, ['dump', 'mirror', 'resume', 'verify']);
    expect((await waitForFinish(scenario, parent.ts)).text).toMatch(/complete and verified/);
    expect(scenario.kube.getConfigMap('pachd-config')?.data?.MODE).toBe('full');
    const pause = scenario.slack.thread(CHANNELS.ops, parent.ts).find((m) => /^pause done in /.test(m.text))!;
    expect(pause.text).toMatch(/pachctl enterprise pause: paused/);
    await scenario.kube.waitFor(
      () => scenario.kube.getReplicationController('default-edges-v1')?.spec.replicas === 2,
      'pachd to restore the workers',
    );
  }, 90_000);

  test('a pachctl that is not authorised fails at once with a hint, and Resume cluster is offered', async () => {
    await scenario.worker!.stop();
    const denied = 'rpc error: code = PermissionDenied desc = not authorized to perform this operation';
    scenario.env.PACHCTL_STANDIN_FAIL = `enterprise pause:${denied}`;
    await scenario.startWorker();
    const parent = await requestBackup(scenario, USERS.requester);
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause']);
    const failure = await waitForPrompt(scenario, parent.ts, 'pachops:resume');
    expect(failure.text).toContain(`pause failed: pachctl enterprise pause failed: ${denied}`);
    expect(failure.text).toMatch(/clusterAdmin/);
    expect(
      scenario.slack.thread(CHANNELS.ops, parent.ts).filter((m) => /attempt \d of/.test(m.text)),
    ).toHaveLength(0);
    await click(scenario, USERS.requester, failure, 'pachops:resume');
    expect((await waitForFinish(scenario, parent.ts)).text).toMatch(/aborted/);
    expect(scenario.kube.getConfigMap('pachd-config')?.data?.MODE).toBe('full');
  }, 60_000);
});

describe('Redis away', () => {
  let scenario: Scenario;
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
    scenario = await start({ redisUrl: redis.url });
  }, 120_000);
  afterAll(async () => {
    await scenario?.stop();
    await redis?.stop();
  });

  test('an approval that cannot be enqueued is refused, starts nothing, and can be clicked again', async () => {
    const parent = await requestBackup(scenario, USERS.requester);
    const prompt = await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.pause);
    await redis.kill();
    await click(scenario, USERS.approver, prompt, 'pachops:approve');
    const refusal = await scenario.slack.waitFor(() =>
      scenario.slack.ephemerals({ userId: USERS.approver }).find((e) => /Could not approve/.test(e.text)),
    );
    expect(refusal.text).toMatch(/Redis.*The prompt is still open/);
    expect(
      scenario.slack.findButton(
        scenario.slack.thread(CHANNELS.ops, parent.ts).find((m) => m.ts === prompt.ts)!,
        'pachops:approve',
      ),
    ).toBeTruthy();
    expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
    await redis.restart();
    // The worker reconnects on its own; the approver clicks again until the job is taken.
    await scenario.slack.waitFor(
      async () => {
        const thread = scenario.slack.thread(CHANNELS.ops, parent.ts);
        if (thread.some((m) => /^pause done in /.test(m.text))) return true;
        const live = thread.find(
          (m) => m.ts === prompt.ts && scenario.slack.findButton(m, 'pachops:approve'),
        );
        if (live) await click(scenario, USERS.approver, live, 'pachops:approve');
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 1000, what: 'the pause to run once Redis is back' },
    );
    // Rejected while paused, Redis away: the resume cannot be queued, so nothing claims that it is coming.
    const next = await waitForPrompt(scenario, parent.ts, 'pachops:reject');
    await redis.kill();
    await click(scenario, USERS.requester, next, 'pachops:reject');
    const refused = await scenario.slack.waitFor(() =>
      scenario.slack.ephemerals({ userId: USERS.requester }).find((e) => /Could not reject/.test(e.text)),
    );
    expect(refused.text).toMatch(/The prompt is still open/);
    const [{ state }] = await queryState<{ state: Record<string, unknown> }>(
      scenario,
      'SELECT state FROM operations WHERE thread_ts = $1',
      parent.ts,
    );
    expect(state.endAfterResume).toBeUndefined();
    const thread = () => scenario.slack.thread(CHANNELS.ops, parent.ts);
    expect(thread().some((m) => /resuming it first/.test(m.text))).toBe(false);
    await redis.restart();
    await scenario.slack.waitFor(
      async () => {
        if (thread().some((m) => /resuming it first/.test(m.text))) return true;
        const live = thread().find((m) => m.ts === next.ts && scenario.slack.findButton(m, 'pachops:reject'));
        if (live) await click(scenario, USERS.requester, live, 'pachops:reject');
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 1000, what: 'the reject to be taken once Redis is back' },
    );
    expect((await waitForFinish(scenario, parent.ts)).text).toMatch(/rejected/);
    expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
  }, 90_000);
});
