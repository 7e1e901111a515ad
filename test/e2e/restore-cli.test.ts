/**
 * `pachops restore`, for when Slack is down: the same phases in-process, approvals given by --yes, exit
 * codes a script can rely on. What it restores is compared with what the dump holds as pg_restore alone
 * reads it; `--no-deploy` must leave the running cluster and its Helm release alone.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { findPgBin } from '../harness/postgres.ts';
import { countsInDump, pachops, rowCounts, snapshot } from '../harness/restore-helpers.ts';
import { type Scenario, startRgwScenario } from '../harness/scenario.ts';
import { queryState } from '../harness/state-db.ts';

let scenario: Scenario;
let backupId: string;
/** Row counts per source database, as the dump holds them. */
const dumped: Record<string, Record<string, number>> = {};

const restore = (...args: string[]) => pachops(scenario, ['restore', ...args]);
const bucket = (tag: string) => `${scenario.names.source}-${tag}`;
const restores = async () =>
  (await queryState(scenario, `SELECT id FROM operations WHERE kind = 'restore'`)).length;
const helmCalls = () =>
  readFileSync(join(scenario.dir, 'helm-calls.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { argv: string[]; values: { content: string }[] });

beforeAll(async () => {
  scenario = await startRgwScenario({
    objects: 40,
  });
  const backup = await pachops(scenario, ['backup', '--yes']);
  backupId = /backup (prod-\S+) complete and verified/.exec(backup.stdout)?.[1] ?? '';
  if (backup.code !== 0 || !backupId) throw new Error(`the backup failed:\n${backup.stdout}${backup.stderr}`);
  for (const db of [scenario.names.pachyderm, scenario.names.dex])
    dumped[db] = await countsInDump(scenario, backupId, db);
}, 120_000);

afterAll(async () => {
  await scenario?.stop();
});

test('without --yes a restore is refused (exit 3) and nothing is touched', async () => {
  const before = await snapshot(scenario);
  const result = await restore(backupId, '--db-suffix', '_c0', '--bucket', bucket('c0'));
  expect(result.stderr).toMatch(/pass --yes/);
  expect(result.code).toBe(3);
  expect(await restores()).toBe(0);
  expect(await snapshot(scenario)).toEqual(before);
});

test('an unknown backup id exits 2, saying so, and nothing is touched', async () => {
  const before = await snapshot(scenario);
  const unknown = await restore('prod-20200101t000000z-0000', '--db-suffix', '_c0', '--yes');
  expect(unknown.stderr).toMatch(
    /prod-20200101t000000z-0000 is not a complete backup of a configured cluster/,
  );
  expect(unknown.code).toBe(2);
  const malformed = await restore('last-tuesday', '--yes');
  expect(malformed.stderr).toMatch(/last-tuesday is not a backup id/);
  expect(malformed.code).toBe(2);
  expect(await restores()).toBe(0);
  expect(await snapshot(scenario)).toEqual(before);
});

test('--no-deploy restores databases and bucket only: no helm, pachd untouched, health checks consistency', async () => {
  const before = await snapshot(scenario);
  const result = await restore(
    backupId,
    '--db-suffix',
    '_c2',
    '--bucket',
    bucket('c2'),
    '--no-deploy',
    '--yes',
  );
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  for (const phase of ['plan', 'restore-databases', 'restore-bucket', 'health'])
    expect(result.stdout).toMatch(new RegExp(`^\\S+ ${phase} +✓ in `, 'm'));
  for (const phase of ['pause', 'safety-backup', 'deploy', 'resume'])
    expect(result.stdout).not.toMatch(new RegExp(`^\\S+ ${phase} `, 'm'));
  expect(result.stdout).toMatch(
    /health +✓ in .*: healthy: not deployed: databases and bucket only; \d+ chunk objects all present/,
  );
  const after = await snapshot(scenario);
  // The running cluster as it was: same pods, counts, release revision; helm never called.
  expect({ ...after, databases: [], buckets: [] }).toEqual({ ...before, databases: [], buckets: [] });
  expect(after.helmCalls).toBe(0);
  expect(after.databases).toEqual(
    [...before.databases, `${scenario.names.pachyderm}_c2`, `${scenario.names.dex}_c2`].sort(),
  );
  expect(after.buckets).toEqual([...before.buckets, bucket('c2')].sort());
  for (const db of [scenario.names.pachyderm, scenario.names.dex])
    expect(await rowCounts(scenario.dbUrl(`${db}_c2`))).toEqual(dumped[db]);
}, 60_000);

test('restore --yes runs every phase, restores exactly what was dumped, and redeploys onto it', async () => {
  const result = await restore(backupId, '--db-suffix', '_c1', '--bucket', bucket('c1'), '--yes');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  for (const phase of ['plan', 'pause', 'restore-databases', 'restore-bucket', 'deploy', 'resume', 'health'])
    expect(result.stdout).toMatch(new RegExp(`^\\S+ ${phase} +✓ in `, 'm'));
  expect(result.stdout).toMatch(
    new RegExp(`restore of prod from ${backupId} complete: every chunk object .* is in ${bucket('c1')}`),
  );
  for (const db of [scenario.names.pachyderm, scenario.names.dex])
    expect(await rowCounts(scenario.dbUrl(`${db}_c1`))).toEqual(dumped[db]);
  const upgrade = helmCalls().find((c) => c.argv.includes('upgrade'));
  const values = parseYaml(upgrade?.values[0].content ?? '{}');
  expect(values.global.postgresql.postgresqlDatabase).toBe(`${scenario.names.pachyderm}_c1`);
  expect(values.pachd.storage.storageURL).toMatch(new RegExp(`^s3://${bucket('c1')}\\?`));
  await scenario.kube.waitForSettled(undefined, 10_000);
  expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
  // The terminal names what runs: a restore, not a backup.
  expect(result.stdout.split('\n')[0]).toMatch(new RegExp(`restore of prod from ${backupId}`));
}, 60_000);

test('a safety backup that could not dump (no pg_dump in tools.pgBin) refuses the restore before the pause', async () => {
  // pg_restore is there, pg_dump is not: the safety backup would have failed with the cluster paused
  const tools = join(scenario.dir, 'pg-restore-only');
  mkdirSync(tools, { recursive: true });
  symlinkSync(join(findPgBin(), 'pg_restore'), join(tools, 'pg_restore'));
  const config = parseYaml(readFileSync(scenario.configPath, 'utf8'));
  config.tools.pgBin = tools;
  const path = join(scenario.dir, 'pg-restore-only.yaml');
  writeFileSync(path, toYaml(config));
  const before = await snapshot(scenario);
  const live = scenario.names.pachyderm;
  const result = await pachops({ ...scenario, env: { ...scenario.env, PACHOPS_CONFIG: path } }, [
    'restore',
    backupId,
    '--db',
    `${live}=${live}`,
    '--overwrite',
    live,
    '--db-suffix',
    '_c4',
    '--bucket',
    bucket('c4'),
    '--no-deploy',
    '--yes',
  ]);
  expect(result.code).toBe(1);
  expect(result.stdout).toContain(`cannot run ${tools}/pg_dump`);
  expect(result.stdout).toMatch(/restore of prod from \S+ refused: nothing was changed/);
  expect(result.stdout).not.toMatch(/pause +(started|✓)/);
  expect(await snapshot(scenario)).toEqual(before);
});

test('replacing a live database without redeploying still pauses the cluster first, and resumes it', async () => {
  const live = scenario.names.pachyderm;
  const result = await restore(
    backupId,
    '--db',
    `${live}=${live}`,
    '--overwrite',
    live,
    '--db-suffix',
    '_c3',
    '--bucket',
    bucket('c3'),
    '--no-deploy',
    '--yes',
  );
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  // pachd must not write to a database being replaced under it; the safety backup needs the pause too.
  for (const phase of ['pause', 'safety-backup', 'restore-databases', 'resume']) {
    expect(result.stdout).toMatch(new RegExp(`${phase} +✓ in `));
  }
  expect(result.stdout).not.toMatch(/deploy +✓/);
  expect(result.stdout).toMatch(new RegExp(`kept as ${live}_replaced_\\d{12}`));
  // pachd writes again once resumed, so compare what the restore reported counting before the resume.
  const reported = new RegExp(`${live} → ${live} in [^:]+: (.*)`).exec(result.stdout)![1];
  for (const [, table, rows] of reported.matchAll(/([\w.]+) (\d+)/g)) {
    expect({ table, rows: Number(rows) }).toEqual({ table, rows: dumped[live][table] });
  }
  expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(1);
}, 60_000);
