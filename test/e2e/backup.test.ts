/**
 * The whole capability, through the real bot and worker: `/pach backup` typed in Slack, every approval
 * clicked, a simulated Pachyderm writing live on Ceph RGW and PostgreSQL, and then the proofs an SRE
 * would want: the cluster is back as it was, the dumps restore, every object the metadata needs is in
 * the backup bucket, the thread tells the story, and no secret leaked anywhere.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { isPachopsRequest, requestsOutsideInventory } from '../deploy/kube-rbac.ts';
import { read } from '../deploy/shipped-code.ts';
import {
  approvePhases,
  PHASE_TITLES,
  requestBackup,
  waitForFinish,
  waitForPrompt,
} from '../harness/drive.ts';
import { consistencyKeys } from '../harness/pachyderm/simulator.ts';
import { parseExposition } from '../harness/prom-text.ts';
import { makeS3Client } from '../harness/s3-client.ts';
import { CHANNELS, type Scenario, startScenario, USERS } from '../harness/scenario.ts';
import { stackEnv } from '../harness/stack-env.ts';

let scenario: Scenario;
let s3: S3Client;

beforeAll(async () => {
  const stack = stackEnv();
  if (!stack.rgw) throw new Error('the end-to-end tests run on Ceph RGW (PACHOPS_TEST_RGW must not be 0)');
  scenario = await startScenario({
    redisUrl: stack.redis.url,
    postgres: stack.postgres,
    s3: stack.rgw,
    objects: 120,
  });
  s3 = makeS3Client(stack.rgw);
  await scenario.startBot();
  await scenario.startWorker();
}, 120_000);

afterAll(async () => {
  s3?.destroy();
  await scenario?.stop();
});

async function listKeys(bucket: string, prefix?: string): Promise<Map<string, number>> {
  const keys = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) keys.set(object.Key!, object.Size!);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

async function getBytes(bucket: string, key: string): Promise<Buffer> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await response.Body!.transformToByteArray());
}

async function rowCounts(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT schemaname || '.' || relname AS t FROM pg_stat_user_tables ORDER BY 1`,
    );
    const counts: Record<string, number> = {};
    for (const { t } of rows) {
      const [schema, table] = t.split('.');
      const result = await client.query(
        `SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`,
      );
      counts[t] = result.rows[0].n;
    }
    return counts;
  } finally {
    await client.end();
  }
}

function replicaCounts(): Record<string, number | undefined> {
  const { kube } = scenario;
  return {
    pachd: kube.getDeployment('pachd')?.spec.replicas,
    pachw: kube.getDeployment('pachw')?.spec.replicas,
    edges: kube.getReplicationController('default-edges-v1')?.spec.replicas,
    montage: kube.getReplicationController('default-montage-v1')?.spec.replicas,
  };
}

describe('a backup of a live cluster, approved phase by phase', () => {
  const captured = {
    counts: {} as Record<string, Record<string, number>>,
    keys: [] as string[],
    writesBeforePause: 0,
    writesWhilePaused: -1,
  };
  let parentTs: string;
  let backupId: string;
  const before = () => replicaCounts();
  let original: ReturnType<typeof replicaCounts>;

  test('runs every phase and ends complete and verified', async () => {
    original = before();
    expect(original).toEqual({ pachd: 1, pachw: 1, edges: 2, montage: 1 });
    await scenario.slack.waitFor(() => scenario.workload.stats().chunks >= 3, {
      what: 'the simulator to write live',
    });
    const parent = await requestBackup(
      scenario,
      USERS.requester,
      'backup prod --note "before the 2.12 upgrade"',
    );
    parentTs = parent.ts;
    captured.writesBeforePause = scenario.workload.stats().chunks;
    await approvePhases(scenario, parentTs, USERS.approver, ['pause']);
    await waitForPrompt(scenario, parentTs, 'pachops:approve', PHASE_TITLES.dump);
    const atPause = scenario.workload.stats().chunks;
    await approvePhases(scenario, parentTs, USERS.approver, ['dump']);
    // Still paused (resume waits for its click): what the database holds now is what the dump holds.
    await waitForPrompt(scenario, parentTs, 'pachops:approve', PHASE_TITLES.mirror);
    captured.writesWhilePaused = scenario.workload.stats().chunks - atPause;
    expect(scenario.kube.listPods('app=pachd')).toHaveLength(0);
    captured.counts.pachyderm = await rowCounts(scenario.dbUrl(scenario.names.pachyderm));
    captured.counts.dex = await rowCounts(scenario.dbUrl(scenario.names.dex));
    captured.keys = (await consistencyKeys(scenario.dbUrl(scenario.names.pachyderm))).map((k) => k.key);
    await approvePhases(scenario, parentTs, USERS.approver, ['mirror', 'resume', 'verify']);
    const last = await waitForFinish(scenario, parentTs);
    expect(last.text).toMatch(/is complete and verified/);
    backupId = /Backup `([^`]+)`/.exec(last.text)![1];
  }, 120_000);

  test('the cluster is back at its original replica counts and writing again', async () => {
    await scenario.kube.waitForSettled();
    expect(replicaCounts()).toEqual(original);
    const written = scenario.workload.stats().chunks;
    await scenario.slack.waitFor(() => scenario.workload.stats().chunks > written, {
      what: 'writes after resume',
    });
  });

  test('the live workload wrote before the pause and nothing while paused', () => {
    expect(captured.writesBeforePause).toBeGreaterThan(0);
    expect(captured.writesWhilePaused).toBe(0);
    // Every key the database referenced during the pause is one the simulator wrote or seeded.
    expect(captured.keys.length).toBeGreaterThanOrEqual(scenario.seed.live.length);
  });

  test('every chunk object uploaded before the pause is in the backup bucket', async () => {
    const backed = await listKeys(scenario.names.backup, 'chunk/');
    const missing = captured.keys.filter((key) => !backed.has(key));
    expect(missing).toEqual([]);
  });

  test('every dump restores with pg_restore into a fresh database with the same row counts', async () => {
    const manifest = JSON.parse(
      (await getBytes(scenario.names.backup, `.pachops/backups/${backupId}/manifest.json`)).toString(),
    );
    expect(manifest.databases.map((d: { name: string }) => d.name).sort()).toEqual(
      [scenario.names.dex, scenario.names.pachyderm].sort(),
    );
    const { postgres } = stackEnv();
    const dir = mkdtempSync(join(tmpdir(), 'restore-'));
    for (const dump of manifest.databases) {
      const file = join(dir, `${dump.name}.dump`);
      writeFileSync(file, await getBytes(scenario.names.backup, dump.key));
      const target = `restored_${dump.name}`;
      const url = await postgres.createDatabase(target);
      execFileSync('pg_restore', ['--no-owner', '--exit-on-error', '-d', url, file], { stdio: 'pipe' });
      const which = dump.name === scenario.names.dex ? 'dex' : 'pachyderm';
      expect(await rowCounts(url)).toEqual(captured.counts[which]);
      expect(Object.keys(captured.counts[which]).length).toBeGreaterThan(3);
    }
  });

  test('the manifest, Helm values and object list are where the layout says', async () => {
    const prefix = `.pachops/backups/${backupId}/`;
    const files = await listKeys(scenario.names.backup, prefix);
    expect([...files.keys()].map((k) => k.slice(prefix.length)).sort()).toEqual(
      [
        `db/${scenario.names.dex}.dump`,
        `db/${scenario.names.pachyderm}.dump`,
        'helm-values.yaml',
        'manifest.json',
        'objects.jsonl.gz',
      ].sort(),
    );
    const values = parseYaml((await getBytes(scenario.names.backup, `${prefix}helm-values.yaml`)).toString());
    expect(values.global.postgresql.postgresqlDatabase).toBe(scenario.names.pachyderm);
    expect(values.pachd.storage.storageURL).toMatch(new RegExp(`^s3://${scenario.names.source}\\?`));
    const manifest = JSON.parse((await getBytes(scenario.names.backup, `${prefix}manifest.json`)).toString());
    expect(manifest).toMatchObject({
      backupId,
      cluster: 'prod',
      note: 'before the 2.12 upgrade',
      requestedBy: USERS.requester,
      pachd: { version: '2.11.6' },
      helm: { release: 'pachyderm', chartVersion: '2.11.6' },
      verification: { ok: true },
      consistency: { missing: 0 },
    });
    expect(manifest.downtimeMs).toBeGreaterThan(0);
  });

  test("the bot's /metrics tells what happened, read from the state database", async () => {
    const prefix = `.pachops/backups/${backupId}/`;
    const manifest = JSON.parse((await getBytes(scenario.names.backup, `${prefix}manifest.json`)).toString());
    const response = await fetch(`${scenario.bot!.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const metrics = parseExposition(await response.text());
    const prod = { cluster: 'prod' };
    const backup = { ...prod, kind: 'backup' };
    expect(metrics.value('pachops_operations_total', { ...backup, outcome: 'completed' })).toBe(1);
    expect(metrics.find('pachops_operations_total')).toHaveLength(1);
    expect(metrics.find('pachops_operations_active')).toEqual([]);
    expect(metrics.value('pachops_cluster_paused', prod)).toBe(0);
    // Downtime: the paused time the manifest (and the all-clear) reported.
    expect(metrics.value('pachops_downtime_seconds_count', backup)).toBe(1);
    expect(metrics.value('pachops_downtime_seconds_sum', backup)).toBeGreaterThan(0);
    expect(metrics.value('pachops_downtime_seconds_sum', backup)).toBeCloseTo(manifest.downtimeMs / 1000, 3);
    // Copies: what the mirror engine counted (the manifest's numbers), and the live pre-copy.
    const copied = (what: string, phase: string) =>
      metrics.value(`pachops_mirror_copied_${what}_total`, { ...prod, phase });
    expect(copied('objects', 'mirror')).toBe(manifest.objects.copied);
    expect(copied('bytes', 'mirror')).toBe(manifest.objects.copiedBytes);
    const precopy = scenario.slack
      .thread(CHANNELS.ops, parentTs)
      .find((m) => /^precopy done in /.test(m.text))!;
    expect(copied('objects', 'precopy')).toBe(Number(/: (\d+) of \d+ objects/.exec(precopy.text)![1]));
    // Every phase ran once; the last complete backup is this one, at its manifest's time.
    for (const phase of ['plan', 'precopy', 'announce', 'pause', 'dump', 'mirror', 'resume', 'verify'])
      expect({
        phase,
        runs: metrics.value('pachops_phase_duration_seconds_count', { ...backup, phase }),
      }).toEqual({
        phase,
        runs: 1,
      });
    const last = metrics.value('pachops_last_complete_backup_timestamp_seconds', prod);
    expect(Math.abs(last - Date.parse(manifest.completedAt) / 1000)).toBeLessThan(1);
    expect(metrics.types.get('pachops_process_cpu_seconds_total')).toBe('counter');
  });

  test('every line the worker wrote is JSON, and every line of a phase job names its operation and phase', () => {
    const lines = scenario.worker!.log().split('\n').filter(Boolean);
    const notJson = lines.filter((line) => {
      try {
        JSON.parse(line);
        return false;
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    const parsed = lines.map(
      (line) => JSON.parse(line) as { msg: string; operationId?: string; phase?: string; attempt?: number },
    );
    const scoped = parsed.filter((line) => line.operationId);
    expect(scoped.length).toBeGreaterThan(16);
    expect(scoped.filter((line) => !line.phase || !line.attempt)).toEqual([]);
    // Outside phase jobs the worker only says it started.
    expect(parsed.filter((line) => !line.operationId).map((line) => line.msg)).toEqual(['worker started']);
    expect(new Set(scoped.map((line) => line.phase))).toEqual(
      new Set(['plan', 'precopy', 'announce', 'pause', 'dump', 'mirror', 'resume', 'verify']),
    );
  });

  test('the thread holds one report per phase and the checklist is complete', () => {
    const thread = scenario.slack.thread(CHANNELS.ops, parentTs);
    for (const phase of ['plan', 'precopy', 'announce', 'pause', 'dump', 'mirror', 'resume', 'verify']) {
      const reports = thread.filter((m) => new RegExp(`^${phase} done in `).test(m.text));
      expect({ phase, reports: reports.length }).toEqual({ phase, reports: 1 });
    }
    const checklist = thread[0].text + JSON.stringify(thread[0].blocks);
    expect(checklist).toMatch(/complete/);
    expect(checklist.match(/✅/g)).toHaveLength(8);
    expect(thread.at(-1)!.text).toMatch(/Downtime: /);
    // The live pre-copy did the bulk; the paused mirror copied only what was written since.
    const precopy = thread.find((m) => /^precopy done in /.test(m.text))!;
    const [, precopied] = /^precopy done in .*?: (\d+) of \d+ objects/.exec(precopy.text)!.map(Number);
    const mirrored = thread.find((m) => /^mirror done in /.test(m.text))!;
    const [, listedNow, copiedNow] = /(\d+) objects \([^)]*\), (\d+) copied/.exec(mirrored.text)!.map(Number);
    expect(precopied).toBeGreaterThan(listedNow / 2);
    expect(copiedNow).toBeLessThan(listedNow / 2);
    // While the mirror ran, its message showed progress (objects and bytes done and to do, rate) first.
    const mirrorReport = thread.find((m) => /^mirror done in /.test(m.text))!;
    const updates = scenario.slack
      .callsTo('chat.update')
      .filter((c) => c.args.ts === mirrorReport.ts)
      .map((c) => String(c.args.text));
    const progress =
      /^mirror running: [\d,]+ (of ~?[\d,]+ )?objects copied \(.*\) · [\d,]+ listed.* · \d+ objects\/s, .*\/s/;
    expect(updates.some((t) => progress.test(t))).toBe(true);
    expect(updates.at(-1)).toMatch(/^mirror done in /);
  });

  test("the users' channel was told before the pause, when it started, and when the cluster was back", () => {
    const notices = scenario.slack.messages(CHANNELS.users);
    expect(notices).toHaveLength(1);
    const versions = [
      scenario.slack.callsTo('chat.postMessage').find((c) => c.args.channel === CHANNELS.users)!.args.text,
      ...scenario.slack
        .callsTo('chat.update')
        .filter((c) => c.args.ts === notices[0].ts)
        .map((c) => c.args.text),
    ].map(String);
    expect(versions[0]).toMatch(/Pachyderm prod goes down soon for a backup/);
    expect(versions[0]).toMatch(/Expected downtime: no history yet/);
    expect(versions[0]).toMatch(/ingest, pipelines and the S3 gateway/);
    expect(versions[0]).toMatch(/Note: before the 2\.12 upgrade/);
    expect(versions.some((v) => /Pachyderm prod goes down now for a backup/.test(v))).toBe(true);
    expect(notices[0].text).toMatch(/Pachyderm prod is back\*: it was down [\d.]+ (s|min)/);
  });

  test('no secret appears in the logs, in Slack, or in the config the processes were given', () => {
    const secrets = [
      scenario.env.PACH_PG_PASSWORD,
      scenario.env.S3_SECRET,
      scenario.env.SLACK_BOT_TOKEN,
      scenario.env.SLACK_SIGNING_SECRET,
    ];
    // The logs also never hold the state database's password (it sits in the scenario's config file).
    const superuser = stackEnv().postgres.password;
    const places = {
      bot: scenario.bot!.log(),
      worker: scenario.worker!.log(),
      slack: JSON.stringify(scenario.slack.calls.map((c) => c.args)),
      config: readFileSync(scenario.configPath, 'utf8'),
    };
    for (const [place, text] of Object.entries(places)) {
      for (const secret of place === 'config' ? secrets : [...secrets, superuser])
        expect({ place, leaks: text.includes(secret) }).toEqual({ place, leaks: false });
    }
  });

  test('/pach list and /pach show report the backup', async () => {
    const list = await scenario.slack.command(scenario.bot!.url, {
      userId: USERS.requester,
      channelId: CHANNELS.ops,
      text: 'list',
    });
    expect(list.status).toBe(200);
    const reply = await scenario.slack.waitFor(
      () => scenario.slack.ephemerals({ userId: USERS.requester }).find((e) => e.text.includes(backupId)),
      { what: 'the list reply' },
    );
    expect(reply.text).toMatch(/verified/);
    await scenario.slack.command(scenario.bot!.url, {
      userId: USERS.requester,
      channelId: CHANNELS.ops,
      text: `show ${backupId}`,
    });
    const show = await scenario.slack.waitFor(
      () => scenario.slack.ephemerals({ userId: USERS.requester }).find((e) => e.text.includes('sha256')),
      { what: 'the show reply' },
    );
    expect(show.text).toContain(scenario.names.pachyderm);
  });

  test('a second backup copies only what is new', async () => {
    const parent = await requestBackup(scenario, USERS.requester, 'backup');
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause', 'dump', 'mirror', 'resume', 'verify']);
    const last = await waitForFinish(scenario, parent.ts);
    expect(last.text).toMatch(/complete and verified/);
    const mirror = scenario.slack
      .thread(CHANNELS.ops, parent.ts)
      .find((m) => /^mirror done in /.test(m.text))!;
    const [, listed, copied] = /(\d+) objects \([^)]*\), (\d+) copied/.exec(mirror.text)!.map(Number);
    expect(copied).toBeGreaterThan(0); // the simulator kept writing between the two backups
    expect(copied).toBeLessThan(listed / 2);
    // With one backup behind it, the notice gives an estimate and the all-clear compares with it.
    const notice = scenario.slack.messages(CHANNELS.users).at(-1)!;
    const first = scenario.slack
      .callsTo('chat.postMessage')
      .filter((c) => c.args.channel === CHANNELS.users)
      .at(-1)!;
    expect(String(first.args.text)).toMatch(/Expected downtime: about .+ \(.+–.+\)/);
    expect(notice.text).toMatch(/is back\*: it was down .* \(estimated [\d.]+ s\)/);
  }, 120_000);
});

describe('a dry run', () => {
  test('posts the plan with sizes, changes nothing and holds no lock', async () => {
    const pods = scenario.kube.listPods().length;
    const parent = await requestBackup(scenario, USERS.requester, 'backup prod --dry-run');
    const last = await waitForFinish(scenario, parent.ts);
    expect(last.text).toMatch(/Dry run/);
    const thread = scenario.slack.thread(CHANNELS.ops, parent.ts);
    expect(thread[0].text).toMatch(/Dry run: backup of prod: dry run/);
    expect(JSON.stringify(thread[0].blocks)).toMatch(/\d+ objects, [\d.]+ (KiB|MiB)/);
    expect(thread.some((m) => scenario.slack.findButton(m, 'pachops:approve'))).toBe(false);
    expect(scenario.kube.listPods().length).toBe(pods);
    // No lock: a real backup may start at once.
    const next = await requestBackup(scenario, USERS.requester, 'backup prod');
    await waitForPrompt(scenario, next.ts, 'pachops:approve', PHASE_TITLES.pause);
    await scenario.slack.click(scenario.bot!.url, {
      userId: USERS.approver,
      channelId: CHANNELS.ops,
      messageTs: (await waitForPrompt(scenario, next.ts, 'pachops:reject'))!.ts,
      actionId: 'pachops:reject',
    });
    await expect(waitForFinish(scenario, next.ts)).resolves.toMatchObject({
      text: expect.stringMatching(/rejected/),
    });
    // It had been announced: the users hear that nothing goes down after all.
    expect(scenario.slack.messages(CHANNELS.users).at(-1)!.text).toMatch(
      /Pachyderm prod will not go down after all/,
    );
  }, 60_000);
});

describe('the Helm chart (deploy/helm/pachops) against the running processes', () => {
  test('its Role grants every Kubernetes request the worker made (test/deploy/kube-rbac.ts)', () => {
    expect(scenario.kube.requests.filter(isPachopsRequest).length).toBeGreaterThan(0);
    expect(requestsOutsideInventory(scenario.kube.requests)).toEqual([]);
  });

  test("its probes' paths answer 200 on the bot's port", async () => {
    const { bot } = parseYaml(read('deploy/helm/pachops/values.yaml')) as {
      bot: Record<string, { httpGet: { path: string } }>;
    };
    const paths = ['livenessProbe', 'readinessProbe', 'startupProbe'].map((p) => bot[p].httpGet.path);
    for (const path of new Set(paths)) expect((await fetch(`${scenario.bot!.url}${path}`)).status).toBe(200);
  });
});

describe('shutdown', () => {
  test('the bot and the worker stop gracefully on SIGTERM', async () => {
    expect(await scenario.worker!.stop()).toBe(0);
    expect(scenario.worker!.log()).toMatch(/worker stopped/);
    expect(await scenario.bot!.stop()).toBe(0);
    expect(scenario.bot!.log()).toMatch(/bot stopped/);
  });
});
