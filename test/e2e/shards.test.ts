/**
 * `mirror.shards`: the live precopy and the paused mirror fan out into BullMQ child jobs by key range (a
 * flow), shared by two worker processes; the parent joins the shards' object lists in key order, and the
 * backup verifies whole.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { approvePhases, requestBackup, waitForFinish } from '../harness/drive.ts';
import type { RunningProcess } from '../harness/process.ts';
import { makeS3Client } from '../harness/s3-client.ts';
import { CHANNELS, type Scenario, startRgwScenario, USERS } from '../harness/scenario.ts';
import { stackEnv } from '../harness/stack-env.ts';

/** More than a page under `chunk/`: the bucket is split into 16 key ranges, 4 per shard. */
const OBJECTS = 1200;

let scenario: Scenario;
let firstWorker: RunningProcess;
beforeAll(async () => {
  scenario = await startRgwScenario({
    objects: OBJECTS,
    // Few copies per shard at once, so that each shard lasts long enough for the other worker to take one.
    mirror: { concurrency: 4, shards: 4 },
  });
  await scenario.startBot();
  firstWorker = await scenario.startWorker();
  await scenario.startWorker();
}, 180_000);
afterAll(async () => {
  await firstWorker?.stop();
  await scenario?.stop();
});

test('precopy and mirror run as 4 shards on both workers; the object list is whole and in order, and the backup verifies', async () => {
  const parent = await requestBackup(scenario, USERS.requester);
  await approvePhases(scenario, parent.ts, USERS.approver, ['pause', 'dump', 'mirror', 'resume', 'verify']);
  const final = await waitForFinish(scenario, parent.ts, 180_000);

  expect(final.text).toMatch(/^:tada: Backup/);
  const thread = scenario.slack.thread(CHANNELS.ops, parent.ts);
  const precopy = thread.find((m) => /^precopy done in /.test(m.text))!;
  const mirror = thread.find((m) => /^mirror done in /.test(m.text))!;
  const verify = thread.find((m) => /^verify done in /.test(m.text))!;
  const report = (m: { text: string; blocks?: unknown }) => m.text + JSON.stringify(m.blocks ?? []);
  // The precopy copied the bulk across both workers; the paused mirror listed everything again in shards.
  expect(report(mirror)).toMatch(/4 shards on 2 workers \([^)]*: \d shards?, [^)]*: \d shards?\)/);
  expect(report(precopy)).toMatch(/copied while the cluster runs/);
  expect(report(mirror)).toMatch(
    /consistency: all [\d,]+ chunk objects that the database references are in the backup/,
  );
  expect(report(verify)).not.toMatch(/missing|mismatch/i);
  // the shards' parts of the object list were joined and removed
  const client = makeS3Client(stackEnv().rgw!);
  const page = await client.send(
    new ListObjectsV2Command({ Bucket: scenario.names.backup, Prefix: '.pachops/backups/' }),
  );
  client.destroy();
  const keys = (page.Contents ?? []).map((o) => o.Key!);
  expect(keys.some((k) => k.endsWith('/objects.jsonl.gz'))).toBe(true);
  expect(keys.filter((k) => k.includes('.shards/') || k.includes('.parts/'))).toEqual([]);
});
