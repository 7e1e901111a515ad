/**
 * Retention and prune end to end: four backups of the simulated cluster while it writes chunks, a key
 * rewritten between backups (so `.pachops/versions/` is used) and keys that later vanish from the source;
 * then prune from Slack and the CLI. Every retained backup must still verify and restore (`verify
 * --drill`: dumps restored into scratch databases, every chunk key they reference present).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { parse, stringify } from 'yaml';
import { approvePhases, requestBackup, waitForFinish, waitForPrompt } from '../harness/drive.ts';
import { command, deleteObject, listedKeys, pachops } from '../harness/restore-helpers.ts';
import { makeS3Client } from '../harness/s3-client.ts';
import { CHANNELS, type Scenario, startScenario, USERS } from '../harness/scenario.ts';
import { stackEnv } from '../harness/stack-env.ts';

let scenario: Scenario;
const backups: string[] = [];

async function keysOf(bucket: string): Promise<string[]> {
  const client = makeS3Client(scenario.s3);
  const keys: string[] = [];
  let token: string | undefined;
  try {
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } finally {
    client.destroy();
  }
  return keys;
}

async function putSource(key: string, body: string) {
  const client = makeS3Client(scenario.s3);
  await client.send(new PutObjectCommand({ Bucket: scenario.names.source, Key: key, Body: body }));
  client.destroy();
}

async function backupFromCli(): Promise<string> {
  const result = await pachops(scenario, ['backup', '--yes']);
  expect(result.code).toBe(0);
  return /backup (prod-\S+) complete and verified/.exec(result.stdout)![1]!;
}

beforeAll(async () => {
  const { redis, postgres, rgw } = stackEnv();
  scenario = await startScenario({
    redisUrl: redis.url,
    postgres,
    s3: rgw!,
    objects: 30,
    workloadIntervalMs: 20,
    retention: { keepLast: 2 },
    approvals: { precopy: 'auto' },
  });
  // Keys only the first two backups hold (gone from the source before the third), and one key whose
  // content changes before every backup: each new content goes under .pachops/versions/.
  for (let i = 0; i < 5; i++) await putSource(`extra/only-old-${i}`, `old ${i}`);
  for (let n = 1; n <= 4; n++) {
    await putSource('meta/changing', `content of backup ${n} `.repeat(n));
    if (n === 3)
      for (let i = 0; i < 5; i++) await deleteObject(scenario, scenario.names.source, `extra/only-old-${i}`);
    backups.push(await backupFromCli());
  }
}, 240_000);

afterAll(async () => {
  await scenario?.stop();
});

test('without retention configured, or without --yes, prune refuses and says why', async () => {
  const config = parse(readFileSync(scenario.configPath, 'utf8'));
  delete config.clusters.prod.retention;
  const bare = join(scenario.dir, 'no-retention.yaml');
  writeFileSync(bare, stringify(config));
  const unset = await pachops({ ...scenario, env: { ...scenario.env, PACHOPS_CONFIG: bare } }, [
    'prune',
    '--dry-run',
  ]);
  expect(unset.code).toBe(3);
  expect(unset.stderr).toMatch(/no retention configured for prod: set clusters\.prod\.retention/);
  const noYes = await pachops(scenario, ['prune']);
  expect(noYes.code).toBe(3);
  expect(noYes.stderr).toMatch(/pass --yes/);
  expect((await pachops(scenario, ['prune', '--cluster', 'nope'])).stderr).toMatch(/unknown cluster/);
});

test('a dry run shows the plan and deletes nothing', async () => {
  const before = await keysOf(scenario.names.backup);
  const dry = await pachops(scenario, ['prune', '--dry-run']);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toMatch(/keepLast 2: keep 2 backup\(s\), delete 2/);
  expect(dry.stdout).toContain(`keep   \`${backups[3]}\``);
  expect(dry.stdout).toContain(`delete \`${backups[0]}\``);
  expect(dry.stdout).toMatch(/dry run: planned only/);
  expect(await keysOf(scenario.names.backup)).toEqual(before);
}, 60_000);

test('Slack: a non-approver may only dry-run; a prune is refused while a backup runs', async () => {
  await scenario.startBot();
  await scenario.startWorker();
  const refused = await command(scenario, 'prune prod', USERS.requester);
  expect(refused.text).toMatch(/only approvers of prod can prune its backups/);
  const dry = await requestBackup(scenario, USERS.requester, 'prune prod --dry-run');
  const done = await waitForFinish(scenario, dry.ts, 60_000);
  expect(done.text).toMatch(/Dry run: this is the plan\. Nothing was deleted/);
  expect(scenario.slack.renderThread(CHANNELS.ops, dry.ts)).toMatch(
    /Mirror objects that no kept backup lists: \d+/,
  );

  const backup = await requestBackup(scenario, USERS.requester);
  await waitForPrompt(scenario, backup.ts, 'pachops:approve');
  const busy = await command(scenario, 'prune prod', USERS.approver);
  expect(busy.text).toMatch(/prod already has an active operation: backup/);
  const cli = await pachops(scenario, ['prune', '--yes']);
  expect(cli.code).toBe(3);
  expect(cli.stderr).toMatch(/already has an active operation/);
  const id = /operation `([^`]+)`/.exec(
    JSON.stringify(scenario.slack.thread(CHANNELS.ops, backup.ts)[0]!.blocks),
  )![1]!;
  expect((await pachops(scenario, ['abort', id, '--yes'])).code).toBe(0);
  await waitForFinish(scenario, backup.ts, 10_000);
}, 90_000);

test('a prune approved in the thread deletes the pruned backups and only their objects; every kept backup still restores', async () => {
  const before = await keysOf(scenario.names.backup);
  const parent = await requestBackup(scenario, USERS.approver, 'prune prod');
  // The requester cannot approve their own prune; another approver (a member of the group) does.
  await approvePhases(scenario, parent.ts, USERS.groupMember, ['prune']);
  const done = await waitForFinish(scenario, parent.ts, 60_000);
  expect(done.text).toMatch(
    /:broom: Prune of prod complete: 2 backup\(s\) \(\d+ files, [\d.]+ \w+\) and \d+ mirror objects/,
  );

  const after = await keysOf(scenario.names.backup);
  for (const gone of backups.slice(0, 2)) expect(after.some((k) => k.includes(gone))).toBe(false);
  for (const kept of backups.slice(2)) expect(after).toContain(`.pachops/backups/${kept}/manifest.json`);
  expect(after.filter((k) => k.startsWith('extra/'))).toEqual([]);
  expect(before.filter((k) => k.startsWith('extra/'))).toHaveLength(5);
  // The root copy of the rewritten key was the first backup's, and the second's version is gone too;
  // the kept backups' versions stay.
  expect(after).not.toContain('meta/changing');
  expect(before.filter((k) => k.startsWith('.pachops/versions/'))).toHaveLength(3);
  expect(after.filter((k) => k.startsWith('.pachops/versions/'))).toHaveLength(2);
  // Chunks: exactly those a kept backup lists stay. The others came from the aborted backup's live
  // pre-copy (the workload kept writing): no complete backup lists them.
  const listed = new Set([
    ...(await listedKeys(scenario, backups[2]!)),
    ...(await listedKeys(scenario, backups[3]!)),
  ]);
  const chunks = (keys: string[]) => keys.filter((k) => k.startsWith('chunk/'));
  expect(chunks(after)).toEqual(chunks(before).filter((k) => listed.has(k)));
  expect(chunks(after)).toHaveLength([...listed].filter((k) => k.startsWith('chunk/')).length);

  const list = await pachops(scenario, ['list']);
  expect(list.stdout).not.toContain(backups[0]);
  expect(list.stdout).not.toContain(backups[1]);
  for (const kept of backups.slice(2)) {
    expect(list.stdout).toContain(kept);
    const verify = await pachops(scenario, ['verify', kept]);
    expect(verify.stdout).toMatch(/verified/);
    expect(verify.code).toBe(0);
    const drill = await pachops(scenario, ['verify', kept, '--drill']);
    expect(drill.stdout).toMatch(
      /all \d+ chunk objects the restored metadata references are in the backup bucket/,
    );
    expect(drill.stdout).toContain(`restore drill of ${kept} passed`);
    expect(drill.code).toBe(0);
  }
  const audit = await pachops(scenario, ['audit', '--cluster', 'prod', '--limit', '40']);
  expect(audit.stdout).toMatch(/U0GROUPIE +prune\.approve/);
  expect(audit.stdout).toMatch(/prune\.succeeded/);

  // Nothing left to prune: a second run keeps both and deletes nothing.
  const again = await pachops(scenario, ['prune', '--yes']);
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/deleted 0 backup\(s\) and 0 mirror objects/);
}, 180_000);
