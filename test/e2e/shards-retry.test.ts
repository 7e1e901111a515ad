/**
 * `mirror.shards` when one shard fails: RGW behind the fault-injecting proxy drops one object's copies
 * (connection reset; a 503 SlowDown would do too, with throttling's longer back-off) for longer than a
 * shard's retries last, so that shard's job fails; BullMQ runs that shard
 * again alone, the other shards are not run twice, nothing is written twice, and the backup verifies.
 */
import { approvePhases, requestBackup, waitForFinish } from '../harness/drive.ts';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.ts';
import { CHANNELS, type Scenario, startScenario, USERS } from '../harness/scenario.ts';
import { completedShards } from '../harness/shard-jobs.ts';
import { stackEnv } from '../harness/stack-env.ts';

/** One copy attempt is the SDK's 6 tries; a shard makes 4 attempts (COPY_ATTEMPTS) before it fails. */
const REFUSALS = 6 * 4;

let scenario: Scenario;
let proxy: FaultProxy;
beforeAll(async () => {
  const stack = stackEnv();
  proxy = await startFaultProxy(stack.rgw!.endpoint);
  scenario = await startScenario({
    redisUrl: stack.redis.url,
    postgres: stack.postgres,
    s3: { ...stack.rgw!, endpoint: proxy.endpoint },
    objects: 1100, // more than a page under chunk/: 16 key ranges, 4 per shard
    mirror: { concurrency: 4, shards: 4, precopy: false },
  });
  await scenario.startBot();
  await scenario.startWorker();
}, 180_000);
afterAll(async () => {
  await scenario?.stop();
  await proxy?.stop();
});

test('a shard that fails is run again alone; the others run once, nothing is copied twice, and the backup verifies', async () => {
  const stubborn = [...scenario.seed.objectKeys].sort()[600]!;
  proxy.setFaults({
    resetBeforeForward: {
      failFirst: REFUSALS,
      match: (r) => r.operation === 'CopyObject' && r.key === stubborn,
    },
  });
  const parent = await requestBackup(scenario, USERS.requester);
  await approvePhases(scenario, parent.ts, USERS.approver, ['pause', 'dump', 'mirror', 'resume', 'verify']);
  const final = await waitForFinish(scenario, parent.ts, 180_000);

  expect(final.text).toMatch(/complete and verified/);
  expect(proxy.stats.faults.resetBeforeForward).toBe(REFUSALS);
  const shards = await completedShards(scenario);
  expect(shards).toHaveLength(4);
  const again = shards.filter((job) => job.attemptsStarted > 1);
  // one attempt that failed and one that passed; failed, not lost with its worker
  expect(again.map((job) => [job.attemptsStarted, job.attemptsMade, job.stalledCounter])).toEqual([
    [2, 2, 0],
  ]);
  const written = proxy.stats.keysWrittenMoreThanOnce().filter((w) => w.bucket === scenario.names.backup);
  expect(written.filter((w) => !w.key.startsWith('.pachops/'))).toEqual([]);
  const mirror = scenario.slack.thread(CHANNELS.ops, parent.ts).find((m) => /^mirror done in /.test(m.text))!;
  expect(mirror.text + JSON.stringify(mirror.blocks ?? [])).toMatch(/4 shards on 1 worker/);
});
