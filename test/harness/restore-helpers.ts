/**
 * What the restore end-to-end tests share: a backup to restore (through Slack or the CLI) with the row
 * counts it dumped, the restore form driven as a user would, approvals of restore phases, the objects of
 * the backup bucket, and a snapshot of everything a refused restore must leave alone (databases and
 * buckets of the scenario, replica counts, pachd's pods, helm calls, the Helm release revision).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import pg from 'pg';
import { plaintextOf } from '../../src/crypto/dump-cipher.ts';
import type { DumpKey } from '../../src/crypto/dump-key.ts';
import {
  approvePhases,
  click,
  findPrompt,
  PHASE_TITLES,
  requestBackup,
  waitForFinish,
  waitForPrompt,
} from './drive.ts';
import { consistencyKeys } from './pachyderm/simulator.ts';
import type { WorkloadStats } from './pachyderm/workload.ts';
import { runSql } from './pg-admin.ts';
import { makeS3Client } from './s3-client.ts';
import { CHANNELS, type Scenario, USERS } from './scenario.ts';
import type { SlackMessage, ViewSubmitReply, ViewValues } from './slack/slack-standin.ts';
import { queryState } from './state-db.ts';

const CLI = new URL('../../src/cli.ts', import.meta.url).pathname;

/** drive.ts's prompt titles, and the restore's own safety backup. */
export const RESTORE_TITLES: Record<string, RegExp> = {
  ...PHASE_TITLES,
  'safety-backup': /Approval needed: Back up what will be replaced/,
};

/** The random part of the scenario's names: every database and bucket of this scenario contains it. */
export const scenarioId = (scenario: Scenario) => scenario.names.pachyderm.replace(/^pachyderm_/, '');

/** Exact row count of every user table, by `schema.table`. */
export async function rowCounts(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ s: string; t: string }>(
      `SELECT schemaname AS s, relname AS t FROM pg_stat_user_tables ORDER BY 1, 2`,
    );
    const counts: Record<string, number> = {};
    for (const { s, t } of rows) {
      const q = `SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(s)}.${pg.escapeIdentifier(t)}`;
      counts[`${s}.${t}`] = (await client.query(q)).rows[0].n;
    }
    return counts;
  } finally {
    await client.end();
  }
}

/** A connection URL as the cluster's own PostgreSQL user (what pachd and pachops use). */
export function roleUrl(scenario: Scenario, db: string): string {
  const url = new URL(scenario.dbUrl(db));
  url.username = scenario.names.role;
  url.password = scenario.env.PACH_PG_PASSWORD;
  return url.toString();
}

export interface TakenBackup {
  backupId: string;
  /** Row counts per source database, as dumped. */
  counts: Record<string, Record<string, number>>;
}

/** A backup through Slack, with each database's row counts captured while the cluster is paused. */
export async function slackBackup(scenario: Scenario): Promise<TakenBackup> {
  const parent = await requestBackup(scenario, USERS.requester);
  await approvePhases(scenario, parent.ts, USERS.approver, ['pause', 'dump']);
  await waitForPrompt(scenario, parent.ts, 'pachops:approve', PHASE_TITLES.mirror);
  const counts: TakenBackup['counts'] = {};
  for (const db of [scenario.names.pachyderm, scenario.names.dex])
    counts[db] = await rowCounts(scenario.dbUrl(db));
  await approvePhases(scenario, parent.ts, USERS.approver, ['mirror', 'resume', 'verify']);
  const last = await waitForFinish(scenario, parent.ts);
  const backupId = /Backup `([^`]+)` is complete/.exec(last.text)?.[1];
  if (!backupId) throw new Error(`the backup did not complete: ${last.text}`);
  return { backupId, counts };
}

/** `pachops …` as a separate process, LOG_LEVEL=warn; never throws for a non-zero exit. */
export async function pachops(scenario: Scenario, args: string[]) {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      env: { ...scenario.env, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * The row counts a dump holds, found without pachops: the dump downloaded and given to pg_restore in a
 * scratch database, counted, dropped.
 */
export async function countsInDump(scenario: Scenario, backupId: string, db: string, key?: DumpKey) {
  const manifest = await readManifest(scenario, backupId);
  const dump = manifest.databases.find((d) => d.name === db);
  if (!dump) throw new Error(`backup ${backupId} has no dump of ${db}`);
  const file = join(scenario.dir, `${backupId}-${db}.dump`);
  const stored = await getObject(scenario, scenario.names.backup, dump.key);
  const plaintext = plaintextOf(key, dump.key);
  await writeFile(file, Buffer.concat([...plaintext.update(stored), ...plaintext.final()]));
  const scratch = `scratch_${db}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: scenario.dbUrl('postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(scratch)}`);
    const args = [
      '--no-owner',
      '--no-privileges',
      '--exit-on-error',
      `--dbname=${scenario.dbUrl(scratch)}`,
      file,
    ];
    await promisify(execFile)('pg_restore', args);
    return await rowCounts(scenario.dbUrl(scratch));
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(scratch)} WITH (FORCE)`);
    await admin.end();
  }
}

// ---- the backup bucket ----------------------------------------------------------------------------

async function withS3<T>(scenario: Scenario, run: (client: S3Client) => Promise<T>): Promise<T> {
  const client = makeS3Client(scenario.s3);
  try {
    return await run(client);
  } finally {
    client.destroy();
  }
}

export const getObject = (scenario: Scenario, bucket: string, key: string) =>
  withS3(scenario, async (client) => {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await response.Body!.transformToByteArray());
  });

export const putObject = (scenario: Scenario, bucket: string, key: string, body: Buffer | string) =>
  withS3(scenario, (client) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body })));

export const deleteObject = (scenario: Scenario, bucket: string, key: string) =>
  withS3(scenario, (client) => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));

/**
 * Runs `work` while the cluster's bucket lacks one chunk object its database references (the first by
 * key), as a damaged cluster would; the object is put back afterwards, whatever `work` did.
 */
export async function withMissingChunk<T>(scenario: Scenario, work: (key: string) => Promise<T>): Promise<T> {
  const bucket = scenario.names.source;
  const [{ key }] = await consistencyKeys(scenario.dbUrl(scenario.names.pachyderm));
  const saved = await getObject(scenario, bucket, key);
  await deleteObject(scenario, bucket, key);
  try {
    return await work(key);
  } finally {
    await putObject(scenario, bucket, key, saved);
  }
}

/** The keys under a backup's own prefix in the scenario's backup bucket (its dumps, lists, manifest). */
export const backupFileKeys = (scenario: Scenario, backupId: string) =>
  withS3(scenario, async (client) => {
    const prefix = `.pachops/backups/${backupId}/`;
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: scenario.names.backup, Prefix: prefix }),
    );
    return (page.Contents ?? []).map((o) => o.Key!);
  });

/**
 * Deletes the backup bucket's mirror (every key outside `.pachops/`), so that the next mirror copies the
 * whole bucket again: for a test that needs a mirror long enough to act on while it runs.
 */
export const forgetMirror = (scenario: Scenario) =>
  withS3(scenario, async (client) => {
    const Bucket = scenario.names.backup;
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket, ContinuationToken: token }));
      const keys = (page.Contents ?? []).map((o) => o.Key!).filter((key) => !key.startsWith('.pachops/'));
      if (keys.length)
        await client.send(
          new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
        );
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  });

export interface ManifestView {
  backupId: string;
  note?: string;
  databases: {
    name: string;
    key: string;
    bytes: number;
    sha256: string;
    encryption?: { algorithm: string; keyFingerprint: string };
  }[];
  objects: { listKey: string; count: number };
}

export async function readManifest(scenario: Scenario, backupId: string): Promise<ManifestView> {
  const key = `.pachops/backups/${backupId}/manifest.json`;
  return JSON.parse((await getObject(scenario, scenario.names.backup, key)).toString('utf8'));
}

/** The keys of a backup's object list (`objects.jsonl.gz`). */
export async function listedKeys(scenario: Scenario, backupId: string): Promise<string[]> {
  const { objects } = await readManifest(scenario, backupId);
  const lines = gunzipSync(await getObject(scenario, scenario.names.backup, objects.listKey))
    .toString('utf8')
    .split('\n')
    .filter(Boolean);
  return lines.map((line) => (JSON.parse(line) as { key: string }).key);
}

// ---- Slack: the restore form and its thread --------------------------------------------------------

const restoreParents = (scenario: Scenario) =>
  scenario.slack
    .messages(CHANNELS.ops)
    .filter((m) => (!m.thread_ts || m.thread_ts === m.ts) && /^Restore of prod from/.test(m.text));

/** `/pach <text>` typed by userId in the ops channel; resolves with the next ephemeral reply it gets. */
export async function command(scenario: Scenario, text: string, userId = USERS.requester) {
  const seen = scenario.slack.ephemerals({ userId }).length;
  const reply = await scenario.slack.command(scenario.bot!.url, { userId, channelId: CHANNELS.ops, text });
  if (reply.status !== 200) throw new Error(`/pach ${text}: HTTP ${reply.status}`);
  return scenario.slack.waitFor(() => scenario.slack.ephemerals({ userId })[seen], {
    timeoutMs: 10_000,
    what: `a reply to /pach ${text}`,
  });
}

export interface FormResult {
  submitted: ViewSubmitReply;
  /** The new restore's parent message (waits for it). */
  parent(): Promise<SlackMessage>;
  /** The next ephemeral message the requester sees after submitting (waits for it). */
  ephemeral(): Promise<{ text: string }>;
}

/**
 * `/pach restore <backupId>`, the form filled with `values` and submitted. A form left open with errors
 * is closed again, as the user would.
 */
export async function submitRestoreForm(
  scenario: Scenario,
  backupId: string,
  values: ViewValues,
  userId = USERS.requester,
): Promise<FormResult> {
  const bot = scenario.bot!.url;
  const parents = restoreParents(scenario).length;
  await scenario.slack.command(bot, { userId, channelId: CHANNELS.ops, text: `restore ${backupId}` });
  await scenario.slack.waitForView(userId, /Plan the restore/, { timeoutMs: 10_000 });
  const ephemerals = scenario.slack.ephemerals({ userId }).length;
  const submitted = await scenario.slack.submitView(bot, { userId, values });
  if (submitted.outcome === 'errors') await scenario.slack.closeView(bot, { userId });
  return {
    submitted,
    parent: () =>
      scenario.slack.waitFor(() => restoreParents(scenario)[parents], {
        timeoutMs: 10_000,
        what: 'the parent message of the restore',
      }),
    ephemeral: () =>
      scenario.slack.waitFor(() => scenario.slack.ephemerals({ userId })[ephemerals], {
        timeoutMs: 10_000,
        what: `an ephemeral message to ${userId}`,
      }),
  };
}

/** Approves each restore phase in turn as an approver, waiting for each prompt to be decided. */
export async function approveRestore(scenario: Scenario, parentTs: string, phases: string[]) {
  for (const phase of phases) {
    const title = RESTORE_TITLES[phase];
    // A phase that failed offers Retry instead of the next prompt: say so at once rather than time out.
    const prompt = await scenario.slack.waitFor(
      () =>
        findPrompt(scenario, parentTs, 'pachops:approve', title) ??
        findPrompt(scenario, parentTs, 'pachops:retry'),
      {
        timeoutMs: 60_000,
        what: `the ${phase} prompt\n${scenario.slack.renderThread(CHANNELS.ops, parentTs)}`,
      },
    );
    if (!title.test(prompt.text)) throw new Error(`no ${phase} prompt: ${prompt.text}`);
    const reply = await click(scenario, USERS.approver, prompt, 'pachops:approve');
    if (reply.status !== 200) throw new Error(`click on ${phase}: HTTP ${reply.status}`);
    await scenario.slack.waitFor(() => !findPrompt(scenario, parentTs, 'pachops:approve', title), {
      timeoutMs: 10_000,
      what: `the ${phase} prompt to be decided`,
    });
  }
}

/** The restore's plan notice (`:no_entry: …`) and its last word, once the plan has refused. */
export async function refusal(scenario: Scenario, parentTs: string) {
  const last = await waitForFinish(scenario, parentTs, 30_000);
  const notice = scenario.slack.thread(CHANNELS.ops, parentTs).find((m) => m.text.startsWith(':no_entry: '));
  const [operation] = await queryState<{ status: string }>(
    scenario,
    'SELECT status FROM operations WHERE thread_ts = $1',
    parentTs,
  );
  return { last: last.text, notice: notice?.text ?? '', status: operation?.status };
}

// ---- what a refused restore leaves alone -----------------------------------------------------------

interface KubeItem {
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { replicas?: number };
}

async function kubeList(scenario: Scenario, path: string) {
  const response = await fetch(`${scenario.kube.url}${path}`);
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
  return ((await response.json()) as { items: KubeItem[] }).items;
}

export interface ClusterSnapshot {
  databases: string[];
  buckets: string[];
  replicas: Record<string, number>;
  pachdPods: string[];
  helmCalls: number;
  helmRevision: number;
}

/** The scenario's databases and buckets, the workloads' replica counts, pachd's pods, helm's calls and release. */
export async function snapshot(scenario: Scenario): Promise<ClusterSnapshot> {
  const id = scenarioId(scenario);
  const { rows } = await runSql(
    scenario.dbUrl('postgres'),
    `SELECT datname FROM pg_database WHERE position(${pg.escapeLiteral(id)} in datname) > 0 ORDER BY 1`,
  );
  const buckets = await withS3(scenario, (client) => client.send(new ListBucketsCommand({})));
  const ns = '/namespaces/pachyderm';
  const workloads = [
    ...(await kubeList(scenario, `/apis/apps/v1${ns}/deployments`)),
    ...(await kubeList(scenario, `/api/v1${ns}/replicationcontrollers`)),
  ];
  const secrets = await kubeList(scenario, `/api/v1${ns}/secrets?labelSelector=owner%3Dhelm`);
  const calls = join(scenario.dir, 'helm-calls.jsonl');
  return {
    databases: rows.map((r: { datname: string }) => r.datname),
    buckets: (buckets.Buckets ?? [])
      .map((b) => b.Name!)
      .filter((name) => name.includes(id))
      .sort(),
    replicas: Object.fromEntries(workloads.map((w) => [w.metadata.name, w.spec?.replicas ?? 1])),
    pachdPods: scenario.kube
      .listPods('app=pachd')
      .map((p) => p.metadata.name)
      .sort(),
    helmCalls: existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n').filter(Boolean).length : 0,
    helmRevision: Math.max(0, ...secrets.map((s) => Number(s.metadata.labels?.version ?? 0))),
  };
}

/**
 * Stops the simulator's writes for good. Workload.stop() may run only once (it ends a pg Pool) and
 * scenario.stop() calls it again, so the first call's result is kept for the second.
 */
export function stopWorkload(scenario: Scenario): Promise<WorkloadStats> {
  const { workload } = scenario;
  const stopped = workload.stop();
  workload.stop = () => stopped;
  return stopped;
}
