/**
 * `pachops`, the CLI for when Slack is down: the same phases in-process against the same cluster, state
 * database and buckets, approvals given by --yes, exit codes a script can rely on.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { approvePhases, click, requestBackup, waitForFinish, waitForPrompt } from '../harness/drive.ts';
import { withMissingChunk } from '../harness/restore-helpers.ts';
import { makeS3Client } from '../harness/s3-client.ts';
import { type Scenario, startScenario, USERS } from '../harness/scenario.ts';
import { stackEnv } from '../harness/stack-env.ts';
import { queryState } from '../harness/state-db.ts';

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;
let scenario: Scenario;

async function pachops(args: string[], env: Record<string, string> = { ...scenario.env, LOG_LEVEL: 'warn' }) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      env,
      encoding: 'utf8',
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  const stack = stackEnv();
  scenario = await startScenario({
    redisUrl: stack.redis.url,
    postgres: stack.postgres,
    s3: stack.rgw!,
    objects: 40,
    pauseTimeoutSeconds: 3,
  });
}, 120_000);

afterAll(async () => {
  await scenario?.stop();
});

test('without --yes a backup is refused (exit 3) and nothing is touched', async () => {
  const result = await pachops(['backup', '--cluster', 'prod']);
  expect(result.code).toBe(3);
  expect(result.stderr).toMatch(/pass --yes/);
  expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
});

test('a bad configuration exits 2 naming the key', async () => {
  const bad = join(scenario.dir, 'bad.yaml');
  writeFileSync(bad, 'slack: { approvers: [nobody] }\nredis: { url: redis://x }\n');
  const result = await pachops(['list'], { ...scenario.env, PACHOPS_CONFIG: bad });
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/slack\.approvers\.0/);
  expect(result.stderr).toMatch(/stateDatabase/);
});

test('a pg_dump that cannot run refuses the backup at its plan: the cluster is never paused', async () => {
  // tools.pgBin naming a folder without pg_dump: found by the plan, not by the dump with the cluster down
  const config = parseYaml(readFileSync(scenario.configPath, 'utf8'));
  const empty = join(scenario.dir, 'no-pg-tools');
  mkdirSync(empty, { recursive: true });
  config.tools.pgBin = empty;
  const path = join(scenario.dir, 'no-pg-dump.yaml');
  writeFileSync(path, toYaml(config));
  const result = await pachops(['backup', '--cluster', 'prod', '--yes'], {
    ...scenario.env,
    PACHOPS_CONFIG: path,
    LOG_LEVEL: 'warn',
  });
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(new RegExp(`\\] cannot run ${empty}/pg_dump`)); // no Slack emoji in a terminal
  expect(result.stdout).toMatch(/backup prod-\S+ refused: nothing was changed/);
  expect(result.stdout).not.toMatch(/pause +(started|✓)/);
  expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
  expect(result.stderr).not.toMatch(/\n\s+at /); // a refusal, not a stack trace
});

test("a tool that prints a password in its error: the terminal, the thread's record and the audit show it masked", async () => {
  const config = parseYaml(readFileSync(scenario.configPath, 'utf8'));
  const tools = join(scenario.dir, 'leaky-pg-tools');
  mkdirSync(tools, { recursive: true });
  writeFileSync(
    join(tools, 'pg_dump'),
    `#!/bin/sh
if [ "$1" = "--version" ]; then exec /usr/bin/pg_dump --version; fi
echo "pg_dump: error: the server refused password $PGPASSWORD" >&2
exit 1
`,
    { mode: 0o755 },
  );
  config.tools.pgBin = tools;
  const path = join(scenario.dir, 'leaky-pg-dump.yaml');
  writeFileSync(path, toYaml(config));
  const env = { ...scenario.env, PACHOPS_CONFIG: path, LOG_LEVEL: 'warn' };
  const password = scenario.env.PACH_PG_PASSWORD!;
  const result = await pachops(['backup', '--cluster', 'prod', '--yes'], env);
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(/dump +✗ failed: .*the server refused password \[redacted\]/);
  const id = /pachops abort (\S+) --yes/.exec(result.stdout)![1];
  const [dump] = await queryState<{ error: string }>(
    scenario,
    `SELECT error FROM phases WHERE operation_id = $1 AND name = 'dump'`,
    id,
  );
  expect(dump!.error).toMatch(/refused password \[redacted\]/);
  const audit = await queryState<{ details: unknown }>(
    scenario,
    'SELECT details FROM audit WHERE operation_id = $1',
    id,
  );
  for (const text of [result.stdout, result.stderr, JSON.stringify(audit)])
    expect(text).not.toContain(password);
  expect((await pachops(['abort', id, '--yes'], env)).code).toBe(0);
  expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
}, 60_000);

test('backup --yes runs every phase, then list, show and verify agree', async () => {
  // A key outside chunk/ that the backup bucket already holds at the same size, its ETags not comparable
  // (multipart in the cluster's bucket, single-part in the backup's): kept, and recorded as unverified.
  const client = makeS3Client(stackEnv().rgw!);
  const odd = { key: 'misc/multipart.bin', body: randomBytes(6 * 1024 * 1024) };
  await new Upload({
    client,
    params: { Bucket: scenario.names.source, Key: odd.key, Body: odd.body },
    partSize: 5 * 1024 * 1024,
  }).done();
  await client.send(new PutObjectCommand({ Bucket: scenario.names.backup, Key: odd.key, Body: odd.body }));
  const result = await pachops(['backup', '--cluster', 'prod', '--yes', '--note', 'from the terminal']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  for (const phase of ['plan', 'pause', 'dump', 'mirror', 'resume', 'verify'])
    expect(result.stdout).toMatch(new RegExp(`${phase} +✓ in `));
  const backupId = /backup (prod-\S+) complete and verified/.exec(result.stdout)![1];
  expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
  const list = await pachops(['list']);
  expect(list.stdout).toContain(backupId);
  const show = await pachops(['show', backupId]);
  expect(show.stdout).toMatch(/from the terminal/);
  expect(show.stdout).toMatch(/unverified 1 object\(s\) .*not copied again: e\.g\. misc\/multipart\.bin/);
  const verify = await pachops(['verify', backupId]);
  expect(verify.code).toBe(0);
  expect(verify.stdout).toMatch(/verified/);
  expect((await pachops(['show', 'prod-20200101t000000z-0000'])).code).toBe(2);
  for (const bucket of [scenario.names.source, scenario.names.backup])
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: odd.key }));
  client.destroy();
}, 60_000);

test("a chunk object the database references but the cluster's bucket lacks: the backup is written, fails verification, and says so everywhere", async () => {
  await withMissingChunk(scenario, async (key) => {
    const result = await pachops(['backup', '--yes']);

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      new RegExp(
        `1 of [\\d,]+ chunk objects the database references are missing from the cluster's own bucket.*${key}`,
      ),
    );
    expect(result.stdout).toMatch(/verify +✗ failed: .*failed verification: 1 of [\d,]+ chunk objects/);
    const backupId = /backup (prod-\S+) failed verification/.exec(result.stdout)![1]!;
    // nothing to retry: the operation has ended, and the next backup may start
    expect(result.stdout).not.toMatch(/pachops retry/);
    expect(result.stdout).toMatch(
      new RegExp(
        `backup ${backupId} written but FAILED verification: the cluster's bucket lacks chunk objects`,
      ),
    );
    expect((await pachops(['status'])).stdout).toMatch(/no operation in progress/);
    // the cluster is back; the backup is listed, and marked
    expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
    expect((await pachops(['list'])).stdout).toMatch(new RegExp(`${backupId}.*VERIFY FAILED`));
    expect((await pachops(['verify', backupId])).code).toBe(1);
  });
}, 60_000);

test('a backup already running from Slack makes the CLI refuse (exit 3)', async () => {
  await scenario.startBot();
  await scenario.startWorker();
  const parent = await requestBackup(scenario, USERS.requester);
  await waitForPrompt(scenario, parent.ts, 'pachops:approve');
  const result = await pachops(['backup', '--yes']);
  expect(result.code).toBe(3);
  expect(result.stderr).toMatch(/already has an active operation/);
  const status = await pachops(['status']);
  expect(status.stdout).toMatch(/awaiting-approval/);
  const id = /operation `([^`]+)`/.exec(
    JSON.stringify(scenario.slack.thread('C0OPS', parent.ts)[0].blocks),
  )![1];
  expect((await pachops(['abort', id, '--yes'])).code).toBe(0);
  // The thread stays true when someone acts from the terminal.
  expect((await waitForFinish(scenario, parent.ts, 10_000)).text).toMatch(/aborted/);
  await scenario.bot!.stop();
  await scenario.worker!.stop();
}, 60_000);

test("`pachops retry` on a Slack operation whose pause failed: the thread's buttons are retired, the terminal runs the rest as its own approvals", async () => {
  await scenario.startBot();
  await scenario.startWorker();
  const release = scenario.kube.stuckPods('app=pachw');
  let id: string;
  try {
    const parent = await requestBackup(scenario, USERS.requester);
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause']);
    const failure = await waitForPrompt(scenario, parent.ts, 'pachops:retry', /^pause failed/, 20_000);
    id = /operation `([^`]+)`/.exec(JSON.stringify(scenario.slack.thread('C0OPS', parent.ts)[0].blocks))![1];
    await scenario.worker!.stop();
    // While a retry from the terminal runs (and fails again), the thread's [Retry] starts nothing.
    const retrying = pachops(['retry', id, '--yes']);
    await scenario.slack.waitFor(
      async () =>
        (
          await queryState(
            scenario,
            `SELECT 1 FROM phases WHERE operation_id = $1 AND name = 'pause' AND status = 'running' AND runs = 2`,
            id,
          )
        ).length > 0,
      { what: 'the retried pause to run in the terminal' },
    );
    await click(scenario, USERS.approver, failure, 'pachops:retry');
    await scenario.slack.waitFor(() =>
      scenario.slack
        .ephemerals({ userId: USERS.approver })
        .find((e) => /replaced by a newer one/.test(e.text)),
    );
    expect((await retrying).code).toBe(1);
    const [pause] = await queryState<{ runs: number }>(
      scenario,
      `SELECT runs FROM phases WHERE operation_id = $1 AND name = 'pause'`,
      id,
    );
    expect(pause!.runs).toBe(2);
  } finally {
    release();
  }
  const result = await pachops(['retry', id, '--yes']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/backup prod-\S+ complete and verified/);
  const approvers = await queryState<{ name: string; approved_by: string }>(
    scenario,
    `SELECT name, approved_by FROM phases WHERE operation_id = $1 AND name IN ('pause', 'dump', 'resume') ORDER BY position`,
    id,
  );
  // Each phase run from the terminal names the terminal's user, not the Slack requester.
  expect(approvers).toHaveLength(3);
  for (const phase of approvers) expect(phase.approved_by).toMatch(/^cli:/);
  await scenario.bot!.stop();
}, 90_000);

test('a failure while paused says so, exits 1, and `abort --yes` brings the cluster back', async () => {
  const release = scenario.kube.stuckPods('app=pachw');
  const result = await pachops(['backup', '--yes']);
  release();
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(/pause +✗ failed: timed out/);
  expect(result.stdout).toMatch(/THE CLUSTER IS PAUSED/);
  const id = /pachops abort (\S+) --yes/.exec(result.stdout)![1];
  expect((await pachops(['status'])).stdout).toMatch(/CLUSTER PAUSED/);
  const abort = await pachops(['abort', id, '--yes']);
  expect(abort.code).toBe(0);
  expect(abort.stdout).toMatch(/resume +✓/);
  await scenario.kube.waitForSettled();
  expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
  expect(scenario.kube.getReplicationController('default-edges-v1')?.spec.replicas).toBe(2);
  expect((await pachops(['status'])).stdout).toMatch(/no operation in progress/);
}, 60_000);

test('`resume --yes` brings a paused cluster back at once, and `audit` shows who did what', async () => {
  const release = scenario.kube.stuckPods('app=pachw');
  const failed = await pachops(['backup', '--yes']);
  release();
  expect(failed.stdout).toMatch(/THE CLUSTER IS PAUSED/);
  expect((await pachops(['resume', 'prod'])).code).toBe(3);
  const resumed = await pachops(['resume', 'prod', '--yes']);
  expect(resumed.code).toBe(0);
  expect(resumed.stdout).toMatch(/Emergency resume requested by cli:/);
  expect(resumed.stdout).toMatch(/resume +✓/);
  await scenario.kube.waitForSettled();
  expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
  expect((await pachops(['resume', 'prod', '--yes'])).stderr).toMatch(/pachops has not paused prod/);
  const audit = await pachops(['audit', '--cluster', 'prod', '--limit', '20']);
  expect(audit.stdout).toMatch(/cli:\S+ +cluster\.emergency-resume/);
  expect(audit.stdout).toMatch(/pause\.failed/);
}, 60_000);

describe('with drill.afterBackup', () => {
  let drilled: Scenario;
  beforeAll(async () => {
    const stack = stackEnv();
    drilled = await startScenario({
      redisUrl: stack.redis.url,
      postgres: stack.postgres,
      s3: stack.rgw!,
      objects: 30,
      drillAfterBackup: true,
    });
  }, 120_000);
  afterAll(async () => {
    await drilled?.stop();
  });

  test('every backup ends with a restore drill into scratch databases', async () => {
    const result = await pachops(['backup', '--yes'], { ...drilled.env, LOG_LEVEL: 'warn' });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /drill +✓ in .*: restore drill passed: 2 dump\(s\) restored and dropped, \d+ chunk objects present/,
    );
  }, 60_000);
});
