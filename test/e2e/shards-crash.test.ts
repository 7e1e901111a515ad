/**
 * A worker SIGKILLed while it mirrors a shard: its shard job is taken up by the other worker once its lock
 * lapses (retried alone: the shards already done are not run again), and the backup completes whole.
 */
import { approvePhases, requestBackup, waitForFinish } from '../harness/drive.ts';
import type { RunningProcess } from '../harness/process.ts';
import { CHANNELS, type Scenario, startRgwScenario, USERS } from '../harness/scenario.ts';
import { completedShards } from '../harness/shard-jobs.ts';

let scenario: Scenario;
let doomed: RunningProcess;
beforeAll(async () => {
  scenario = await startRgwScenario({
    objects: 1100,
    lockSeconds: 3,
    // No precopy and two copies at a time per shard: the paused mirror lasts long enough to kill a worker.
    mirror: { concurrency: 2, shards: 4, precopy: false },
  });
  await scenario.startBot();
  doomed = await scenario.startWorker();
  await scenario.startWorker();
}, 180_000);
afterAll(async () => {
  await scenario?.stop();
});

test('a worker killed mid-shard: the other worker finishes its shard, and the backup verifies', async () => {
  const parent = await requestBackup(scenario, USERS.requester);
  await approvePhases(scenario, parent.ts, USERS.approver, ['pause', 'dump', 'mirror']);
  await scenario.slack.waitFor(
    () =>
      scenario.slack
        .thread(CHANNELS.ops, parent.ts)
        .find(
          (m) => /^mirror running: /.test(m.text) && /[1-9]\d{1,} (of ~?[\d,]+ )?objects copied/.test(m.text),
        ),
    { timeoutMs: 60_000, what: 'the sharded mirror under way' },
  );
  await doomed.kill();

  await approvePhases(scenario, parent.ts, USERS.approver, ['resume', 'verify']);
  const final = await waitForFinish(scenario, parent.ts, 180_000);

  expect(final.text).toMatch(/complete and verified/);
  const mirror = scenario.slack.thread(CHANNELS.ops, parent.ts).find((m) => /^mirror done in /.test(m.text))!;
  const report = mirror.text + JSON.stringify(mirror.blocks ?? []);
  expect(report).toMatch(/4 shards on \d workers?/);
  expect(report).toMatch(
    /consistency: all [\d,]+ chunk objects that the database references are in the backup/,
  );
  // Retried alone: one flow of 4 shard jobs; only a shard whose worker died (stalled) ran a second time.
  const shards = await completedShards(scenario);
  expect(shards).toHaveLength(4);
  const ranTwice = shards.filter((job) => job.attemptsStarted > 1);
  expect(ranTwice.filter((job) => job.stalledCounter === 0).map((job) => job.id)).toEqual([]);
  expect(ranTwice.length).toBeGreaterThanOrEqual(1); // the killed worker's shard
});
