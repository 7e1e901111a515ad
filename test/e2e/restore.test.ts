/**
 * Restores, end to end through Slack: back up a live simulated cluster, then `/pach restore <id>`, the form,
 * each approval, and the proofs: the restored databases hold exactly what was dumped, every chunk object the
 * restored metadata references is in the new bucket, helm was handed values that point at the new databases
 * and bucket and keep every other key, the cluster is up and unpaused, and the users are told.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { isPachopsRequest, requestsOutsideInventory } from '../deploy/kube-rbac.ts';
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
import { CHANNELS, type Scenario, startRgwScenario, USERS } from '../harness/scenario.ts';

let scenario: Scenario;
const RESTORE_PHASES = ['pause', 'restore-databases', 'restore-bucket', 'deploy', 'resume', 'health'];

beforeAll(async () => {
  scenario = await startRgwScenario({
    objects: 80,
  });
  await scenario.startBot();
  await scenario.startWorker();
}, 120_000);

afterAll(async () => {
  await scenario?.stop();
});

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
      const q = `SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`;
      counts[t] = (await client.query(q)).rows[0].n;
    }
    return counts;
  } finally {
    await client.end();
  }
}

const dumped: { backupId: string; counts: Record<string, Record<string, number>>; keys: string[] } = {
  backupId: '',
  counts: {},
  keys: [],
};

test('a backup of the live cluster, with what it dumped captured during the pause', async () => {
  const parent = await requestBackup(scenario, USERS.requester);
  await approvePhases(scenario, parent.ts, USERS.approver, ['pause', 'dump']);
  await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.mirror);
  dumped.counts.pachyderm = await rowCounts(scenario.dbUrl(scenario.names.pachyderm));
  dumped.counts.dex = await rowCounts(scenario.dbUrl(scenario.names.dex));
  dumped.keys = (await consistencyKeys(scenario.dbUrl(scenario.names.pachyderm))).map((k) => k.key);
  await approvePhases(scenario, parent.ts, USERS.approver, ['mirror', 'resume', 'verify']);
  const last = await waitForFinish(scenario, parent.ts);
  dumped.backupId = /Backup `([^`]+)`/.exec(last.text)![1];
}, 90_000);

describe('restoring it through the form into new databases and a new bucket, redeployed', () => {
  let parentTs: string;
  const suffix = '_r1';
  const bucket = `${scenario?.names.source ?? 'x'}-r1`;

  test('the form opens pre-filled and its submit posts the plan', async () => {
    const target = `${scenario.names.source}-r1`;
    const reply = await scenario.slack.command(scenario.bot!.url, {
      userId: USERS.requester,
      channelId: CHANNELS.ops,
      text: `restore ${dumped.backupId}`,
    });
    expect(reply.status).toBe(200);
    const view = await scenario.slack.waitForView(USERS.requester, /Plan the restore/);
    expect(scenario.slack.renderView(view.id)).toContain(dumped.backupId);
    const submitted = await scenario.slack.submitView(scenario.bot!.url, {
      userId: USERS.requester,
      values: { db_suffix: suffix, bucket: target },
    });
    expect(submitted.outcome).toBe('closed');
    const parent = await scenario.slack.waitForMessage(CHANNELS.ops, /^Restore of prod from/);
    parentTs = parent.ts;
    await waitForPrompt(scenario, parentTs, 'pachops:approve', PHASE_TITLES.pause);
    const plan = scenario.slack.thread(CHANNELS.ops, parentTs).find((m) => /^plan done in /.test(m.text))!;
    expect(JSON.stringify(plan.blocks)).toMatch(
      new RegExp(
        `${scenario.names.pachyderm} \\(.*\\) → ${scenario.names.pachyderm}${suffix}: will be created`,
      ),
    );
    expect(JSON.stringify(plan.blocks)).toMatch(
      /will be paused, then redeployed with chart pachyderm\/pachyderm 2\.11\.6/,
    );
    void bucket;
  }, 60_000);

  test('every phase runs once approved, and the cluster comes back healthy', async () => {
    await approvePhases(scenario, parentTs, USERS.approver, RESTORE_PHASES);
    const last = await waitForFinish(scenario, parentTs);
    expect(last.text).toMatch(/Restore of prod from .* is complete\. All \d+ chunk objects/);
    await scenario.kube.waitForSettled();
    expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
    expect(scenario.kube.getConfigMap('pachd-config')?.data?.MODE ?? 'full').toBe('full');
  }, 120_000);

  test('the restored databases hold exactly what was dumped', async () => {
    expect(await rowCounts(scenario.dbUrl(`${scenario.names.pachyderm}${suffix}`))).toEqual(
      dumped.counts.pachyderm,
    );
    expect(await rowCounts(scenario.dbUrl(`${scenario.names.dex}${suffix}`))).toEqual(dumped.counts.dex);
  });

  test('helm got the saved values pointed at the new databases and bucket, every other key kept', async () => {
    const calls = readFileSync(join(scenario.dir, 'helm-calls.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const upgrade = calls.find((c) => c.argv.includes('upgrade'));
    expect(upgrade).toBeDefined();
    expect(upgrade.argv).toEqual(
      expect.arrayContaining([
        'upgrade',
        '--install',
        'pachyderm',
        'pachyderm/pachyderm',
        '--version',
        '2.11.6',
      ]),
    );
    expect(upgrade.values[0].mode).toBe(0o600);
    const values = parseYaml(upgrade.values[0].content);
    const pgValues = values.global.postgresql;
    expect(pgValues.postgresqlDatabase).toBe(`${scenario.names.pachyderm}${suffix}`);
    expect(pgValues.identityDatabaseFullNameOverride).toBe(`${scenario.names.dex}${suffix}`);
    expect(values.pachd.storage.storageURL).toMatch(
      new RegExp(`^s3://${scenario.names.source}-r1\\?endpoint=`),
    );
    // Every other key exactly as the backup saved it.
    const s3 = makeS3Client(scenario.s3);
    const key = `.pachops/backups/${dumped.backupId}/helm-values.yaml`;
    const response = await s3.send(new GetObjectCommand({ Bucket: scenario.names.backup, Key: key }));
    const saved = parseYaml(await response.Body!.transformToString());
    s3.destroy();
    type Values = {
      global: { postgresql: Record<string, unknown> };
      pachd: { storage: Record<string, unknown> };
    };
    const withoutTargets = (tree: Values) => {
      const copy = structuredClone(tree);
      delete copy.global.postgresql.postgresqlDatabase;
      delete copy.global.postgresql.identityDatabaseFullNameOverride;
      delete copy.pachd.storage.storageURL;
      return copy;
    };
    expect(withoutTargets(values)).toEqual(withoutTargets(saved));
    expect(pgValues.postgresqlUsername).toBe(scenario.names.role);
    const deploy = scenario.slack
      .thread(CHANNELS.ops, parentTs)
      .find((m) => /^deploy done in /.test(m.text))!;
    expect(JSON.stringify(deploy.blocks)).toMatch(/postgresqlDatabase: .* → /);
  });

  test('every chunk object the dumped metadata referenced is in the new bucket, and the users were told', async () => {
    const health = scenario.slack
      .thread(CHANNELS.ops, parentTs)
      .find((m) => /^health done in /.test(m.text))!;
    expect(health.text).toMatch(new RegExp(`${dumped.keys.length} chunk objects all present`));
    const allClear = await scenario.slack.waitForMessage(
      CHANNELS.users,
      /Pachyderm prod is back\*, restored from backup/,
    );
    expect(allClear.text).toContain(dumped.backupId);
  });

  test("the bot's /metrics counts the restore, its downtime and what it copied", async () => {
    const metrics = parseExposition(await (await fetch(`${scenario.bot!.url}/metrics`)).text());
    const restore = { cluster: 'prod', kind: 'restore' };
    expect(metrics.value('pachops_operations_total', { ...restore, outcome: 'completed' })).toBe(1);
    expect(
      metrics.value('pachops_operations_total', { cluster: 'prod', kind: 'backup', outcome: 'completed' }),
    ).toBe(1);
    expect(metrics.value('pachops_downtime_seconds_count', restore)).toBe(1);
    expect(metrics.value('pachops_downtime_seconds_sum', restore)).toBeGreaterThan(0);
    for (const phase of RESTORE_PHASES)
      expect(metrics.value('pachops_phase_duration_seconds_count', { ...restore, phase })).toBe(1);
    const copiedText = scenario.slack
      .thread(CHANNELS.ops, parentTs)
      .find((m) => /^restore-bucket done in /.test(m.text))!.text;
    const copied = Number(/: ([\d,]+) objects \(/.exec(copiedText)![1]!.replace(/,/g, ''));
    expect(copied).toBeGreaterThan(0);
    expect(
      metrics.value('pachops_mirror_copied_objects_total', { cluster: 'prod', phase: 'restore-bucket' }),
    ).toBe(copied);
  });
});

describe("the chart's Role (deploy/helm/pachops, test/deploy/kube-rbac.ts)", () => {
  test('grants every Kubernetes request the worker made', () => {
    expect(scenario.kube.requests.filter(isPachopsRequest).length).toBeGreaterThan(0);
    expect(requestsOutsideInventory(scenario.kube.requests)).toEqual([]);
  });
});

describe('the restore drill (pachops verify --drill)', () => {
  const cli = async (args: string[]) => {
    const env = { ...scenario.env, LOG_LEVEL: 'warn' };
    const file = join(process.cwd(), 'src/cli.ts');
    return promisify(execFile)(process.execPath, [file, ...args], { env, encoding: 'utf8' }).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
  };
  const scratchDatabases = async () => {
    const client = new pg.Client({ connectionString: scenario.dbUrl('postgres') });
    await client.connect();
    const { rows } = await client.query(
      `SELECT datname FROM pg_database WHERE datname LIKE 'pachops_drill_%'`,
    );
    await client.end();
    return rows.map((r) => r.datname);
  };

  test('restores the dumps into scratch databases, checks every chunk key, and drops them', async () => {
    const result = await cli(['verify', dumped.backupId, '--drill']);
    expect(result.stdout).toMatch(/restore drill of .* passed/);
    expect(result.stdout).toMatch(
      new RegExp(
        `all ${dumped.keys.length} chunk objects the restored metadata references are in the backup bucket`,
      ),
    );
    expect(result.code).toBe(0);
    expect(await scratchDatabases()).toEqual([]);
  }, 60_000);

  test('reports a chunk object missing from the backup bucket by its key', async () => {
    const victim = dumped.keys[Math.floor(dumped.keys.length / 2)];
    const s3 = makeS3Client(scenario.s3);
    await s3.send(new DeleteObjectCommand({ Bucket: scenario.names.backup, Key: victim }));
    s3.destroy();
    const result = await cli(['verify', dumped.backupId, '--drill']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/1 of \d+ referenced chunk objects are MISSING/);
    expect(result.stdout).toContain(victim);
    expect(await scratchDatabases()).toEqual([]);
  }, 60_000);
});
