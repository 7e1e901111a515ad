/**
 * A restore of an encrypted backup into another cluster (`pachops restore --to-cluster`): the dumps are
 * decrypted with the key of the backup's own cluster (prod's `backup.encryption.keyEnv`), whatever the
 * target cluster has (its own key in its own variable, or none), and land in the target's new databases,
 * created by the target's PostgreSQL user, and its new bucket. When prod's variable is unset or holds
 * another key (even the one staging's variable holds), the restore stops before anything of the target
 * exists, naming the variable and the fingerprints; the keys never appear in what pachops prints.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import pg from 'pg';
import { parse as parseYaml, stringify } from 'yaml';
import { DumpKey } from '../../src/crypto/dump-key.ts';
import { runSql } from '../harness/pg-admin.ts';
import {
  countsInDump,
  listedKeys,
  pachops,
  readManifest,
  rowCounts,
  scenarioId,
  snapshot,
} from '../harness/restore-helpers.ts';
import { makeS3Client } from '../harness/s3-client.ts';
import { type Scenario, startRgwScenario } from '../harness/scenario.ts';
import { stackEnv } from '../harness/stack-env.ts';

const PROD_KEY_ENV = 'PACHOPS_PROD_DUMP_KEY';
const STAGING_KEY_ENV = 'PACHOPS_STAGING_DUMP_KEY';
const prodKeyText = randomBytes(32).toString('base64');
const stagingKeyText = randomBytes(32).toString('base64');
const prodKey = new DumpKey(Buffer.from(prodKeyText, 'base64'), PROD_KEY_ENV);
const stagingKey = new DumpKey(Buffer.from(stagingKeyText, 'base64'), STAGING_KEY_ENV);

let scenario: Scenario;
let backupId: string;
let backupOutput: string;
/** staging's own PostgreSQL user: whoever creates the restored databases. */
let stagingRole: string;
/** Config files: staging with its own dump key, and staging with none. */
const configs = { stagingKey: '', stagingPlain: '', prodPlain: '' };
/** Row counts per source database, as the (decrypted) dump holds them. */
const dumped: Record<string, Record<string, number>> = {};

/** Variables over the scenario's; an undefined one is unset. */
type Env = Record<string, string | undefined>;
const run = (config: string, env: Env, args: string[]) => {
  const merged: Env = { ...scenario.env, PACHOPS_CONFIG: config, ...env };
  const set = Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined);
  return pachops({ ...scenario, env: Object.fromEntries(set) }, args);
};
const restoreToStaging = (config: string, env: Env, tag: string) =>
  run(config, env, [
    'restore',
    backupId,
    '--to-cluster',
    'staging',
    '--db-suffix',
    `_${tag}`,
    '--bucket',
    bucket(tag),
    '--no-deploy',
    '--yes',
  ]);
const bucket = (tag: string) => `pach-stg-${scenarioId(scenario)}-${tag}`;
const sourceDbs = () => [scenario.names.pachyderm, scenario.names.dex];

/**
 * The scenario's config with a second cluster, staging: the same installation, but its own PostgreSQL
 * user (and password variable), buckets and, when `keyEnv` is given, its own dump key.
 */
async function writeTwoClusterConfig(
  file: string,
  keyEnv?: string,
  options: { prodWithoutKey?: boolean } = {},
): Promise<string> {
  const config = parseYaml(await readFile(scenario.configPath, 'utf8'));
  const prod = config.clusters.prod;
  const id = scenarioId(scenario);
  const { encryption: _prodEncryption, ...backup } = prod.backup;
  config.clusters.staging = {
    ...prod,
    postgres: {
      ...prod.postgres,
      user: stagingRole,
      passwordEnv: 'STAGING_PG_PASSWORD',
      databases: [`pachyderm_stg_${id}`, `dex_stg_${id}`],
    },
    objectStore: { ...prod.objectStore, bucket: `pach-stg-data-${id}` },
    backup: {
      ...backup,
      bucket: `pach-stg-backup-${id}`,
      ...(keyEnv ? { encryption: { keyEnv } } : {}),
    },
  };
  if (options.prodWithoutKey) config.clusters.prod.backup = backup; // as if encryption were switched off since
  const path = join(scenario.dir, file);
  await writeFile(path, stringify(config));
  return path;
}

const owner = async (db: string) =>
  (
    await runSql(
      scenario.dbUrl('postgres'),
      `SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = ${pg.escapeLiteral(db)}`,
    )
  ).rows[0]?.owner as string | undefined;

async function bucketKeys(name: string): Promise<string[]> {
  const client = makeS3Client(scenario.s3);
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: name, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return keys.sort();
  } finally {
    client.destroy();
  }
}

/** Neither key's base64 appears in what pachops printed. */
const expectNoKeys = (output: string) => {
  expect(output).not.toContain(prodKeyText);
  expect(output).not.toContain(stagingKeyText);
};

beforeAll(async () => {
  scenario = await startRgwScenario({
    objects: 20,
    backup: { encryption: { keyEnv: PROD_KEY_ENV } },
    env: { [PROD_KEY_ENV]: prodKeyText, [STAGING_KEY_ENV]: stagingKeyText },
  });
  stagingRole = `staging_${scenarioId(scenario)}`;
  const stagingPassword = randomBytes(12).toString('hex');
  const { postgres } = stackEnv();
  await postgres.createRole(stagingRole, stagingPassword);
  await runSql(postgres.url(), `ALTER ROLE "${stagingRole}" CREATEDB`);
  scenario.env.STAGING_PG_PASSWORD = stagingPassword;
  configs.stagingKey = await writeTwoClusterConfig('two-clusters-staging-key.yaml', STAGING_KEY_ENV);
  configs.stagingPlain = await writeTwoClusterConfig('two-clusters-staging-plain.yaml');
  configs.prodPlain = await writeTwoClusterConfig('two-clusters-prod-plain.yaml', STAGING_KEY_ENV, {
    prodWithoutKey: true,
  });

  const backup = await run(configs.stagingKey, {}, ['backup', '--cluster', 'prod', '--yes']);
  backupOutput = backup.stdout + backup.stderr;
  backupId = /backup (prod-\S+) complete and verified/.exec(backup.stdout)?.[1] ?? '';
  if (backup.code !== 0 || !backupId) throw new Error(`the backup failed:\n${backupOutput}`);
  for (const db of sourceDbs()) dumped[db] = await countsInDump(scenario, backupId, db, prodKey);
}, 120_000);

afterAll(async () => {
  await scenario?.stop();
});

test("the backup's dumps are encrypted with prod's key, not staging's", async () => {
  const manifest = await readManifest(scenario, backupId);
  expect(manifest.databases.map((d) => d.encryption?.keyFingerprint)).toEqual([
    prodKey.fingerprint,
    prodKey.fingerprint,
  ]);
  expect(prodKey.fingerprint).not.toBe(stagingKey.fingerprint);
  for (const db of sourceDbs()) expect(Object.keys(dumped[db]).length).toBeGreaterThan(0);
  expectNoKeys(backupOutput);
});

test("with prod's variable unset, the restore stops at start-up naming it, and nothing is touched", async () => {
  const before = await snapshot(scenario);
  const result = await restoreToStaging(configs.stagingKey, { [PROD_KEY_ENV]: undefined }, 'r0');
  expect(result.stderr).toContain(
    `clusters.prod.backup.encryption.keyEnv: environment variable ${PROD_KEY_ENV} is not set`,
  );
  expect(result.code).toBe(2);
  expectNoKeys(result.stdout + result.stderr);
  expect(await snapshot(scenario)).toEqual(before);
});

test("with prod's encryption since removed from the config, the restore is refused naming what to set", async () => {
  const before = await snapshot(scenario);
  const result = await restoreToStaging(configs.prodPlain, {}, 'r4');
  const output = result.stdout + result.stderr;
  expect(output).toMatch(
    new RegExp(
      `is encrypted \\(key fingerprint ${prodKey.fingerprint}\\) and clusters\\.prod\\.backup\\.encryption names no key`,
    ),
  );
  expect(result.stdout).toContain(`restore of staging from ${backupId} refused: nothing was changed`);
  expect(output).not.toMatch(/restore-databases/);
  expect(result.code).toBe(1);
  expectNoKeys(output);
  expect(await snapshot(scenario)).toEqual(before);
}, 60_000);

test("with staging's key in prod's variable, the restore is refused before anything of staging exists", async () => {
  const before = await snapshot(scenario);
  // Keys swapped: staging's variable holds the key the backup was made with, and still is not used.
  const result = await restoreToStaging(
    configs.stagingKey,
    { [PROD_KEY_ENV]: stagingKeyText, [STAGING_KEY_ENV]: prodKeyText },
    'r1',
  );
  const output = result.stdout + result.stderr;
  expect(output).toMatch(
    new RegExp(
      `encrypted with the key of fingerprint ${prodKey.fingerprint}; ${PROD_KEY_ENV} holds the key of fingerprint ${stagingKey.fingerprint}`,
    ),
  );
  expect(result.stdout).toContain(`restore of staging from ${backupId} refused: nothing was changed`);
  expect(output).not.toMatch(/restore-databases/);
  expect(result.code).toBe(1);
  expectNoKeys(output);
  expect(await snapshot(scenario)).toEqual(before);
  for (const db of sourceDbs()) expect(await owner(`${db}_r1`)).toBeUndefined();
}, 60_000);

test("into staging with its own key: prod's key decrypts, staging's user creates, rows and objects are the backup's", async () => {
  const before = await snapshot(scenario);
  const result = await restoreToStaging(configs.stagingKey, {}, 'r2');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  for (const phase of ['plan', 'restore-databases', 'restore-bucket', 'health'])
    expect(result.stdout).toMatch(new RegExp(`^\\S+ ${phase} +✓ in `, 'm'));
  expect(result.stdout).toMatch(new RegExp(`restore of staging from ${backupId} complete`));
  expectNoKeys(result.stdout);
  for (const db of sourceDbs()) {
    expect(await owner(`${db}_r2`)).toBe(stagingRole);
    expect(await rowCounts(scenario.dbUrl(`${db}_r2`))).toEqual(dumped[db]);
  }
  expect(await bucketKeys(bucket('r2'))).toEqual((await listedKeys(scenario, backupId)).sort());
  const after = await snapshot(scenario);
  expect(after.databases).toEqual([...before.databases, ...sourceDbs().map((db) => `${db}_r2`)].sort());
  expect(after.buckets).toEqual([...before.buckets, bucket('r2')].sort());
  expect(after.helmCalls).toBe(before.helmCalls);
}, 60_000);

test("into staging with no dump key of its own: prod's key still decrypts", async () => {
  const result = await restoreToStaging(configs.stagingPlain, {}, 'r3');
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(new RegExp(`restore of staging from ${backupId} complete`));
  expectNoKeys(result.stdout);
  for (const db of sourceDbs()) {
    expect(await owner(`${db}_r3`)).toBe(stagingRole);
    expect(await rowCounts(scenario.dbUrl(`${db}_r3`))).toEqual(dumped[db]);
  }
}, 60_000);
