/**
 * Restores that must not happen, each refused with a clear message and nothing changed (no database, no
 * bucket, no replica count, no pachd pod, no helm call, no Helm release touched): bad requests on the
 * form's fields, an unknown backup, targets that are not empty, a damaged dump, a busy cluster, clicks by
 * the wrong people. Then the two that must go on: an overwrite the requester confirmed, which replaces the
 * live database after a safety backup, and a backup missing an object, which stops with the cluster
 * paused and a [Resume cluster] that brings it back.
 */

import { click, PHASE_TITLES, requestBackup, waitForFinish, waitForPrompt } from '../harness/drive.ts';
import { runSql } from '../harness/pg-admin.ts';
import {
  approveRestore,
  command,
  countsInDump,
  deleteObject,
  getObject,
  listedKeys,
  putObject,
  RESTORE_TITLES,
  readManifest,
  refusal,
  roleUrl,
  rowCounts,
  slackBackup,
  snapshot,
  stopWorkload,
  submitRestoreForm,
  type TakenBackup,
} from '../harness/restore-helpers.ts';
import { createBucket } from '../harness/s3-client.ts';
import { CHANNELS, type Scenario, startRgwScenario, USERS } from '../harness/scenario.ts';
import { blocksText } from '../harness/slack/blocks.ts';
import type { ViewValues } from '../harness/slack/slack-standin.ts';
import { stackEnv } from '../harness/stack-env.ts';
import { endActiveOperations, queryState } from '../harness/state-db.ts';

let scenario: Scenario;
let backup: TakenBackup;

beforeAll(async () => {
  scenario = await startRgwScenario({
    objects: 40,
  });
  await scenario.startBot();
  await scenario.startWorker();
  backup = await slackBackup(scenario);
}, 120_000);

afterAll(async () => {
  await scenario?.stop();
});

afterEach(() => endActiveOperations(scenario), 35_000);

const restores = async () =>
  (await queryState(scenario, `SELECT id FROM operations WHERE kind = 'restore'`)).length;
const reEscape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The form's "Yes, replace the databases named above" box, ticked. */
const OVERWRITE_OK = { overwrite_ok: ['overwrite'] };
const newBucket = (tag: string) => `${scenario.names.source}-${tag}`;
const threadText = (parentTs: string) =>
  scenario.slack
    .thread(CHANNELS.ops, parentTs)
    .map((m) => `${m.text}\n${blocksText(m.blocks)}`)
    .join('\n');

/** Submits the form, and proves the plan refused with `reason` in the thread and changed nothing. */
async function expectPlanRefusal(values: ViewValues, reason: RegExp) {
  const before = await snapshot(scenario);
  const form = await submitRestoreForm(scenario, backup.backupId, values);
  expect(form.submitted.outcome).toBe('closed');
  const parent = await form.parent();
  const { status, notice, last } = await refusal(scenario, parent.ts);
  expect(notice).toMatch(reason);
  expect(status).toBe('refused');
  expect(last).toMatch(/^:no_entry: Restore refused; nothing was changed/);
  expect(await snapshot(scenario)).toEqual(before);
}

describe('the form refuses what cannot be right, on the field concerned', () => {
  test('bad names and contradictions show under their fields; nothing is recorded or created', async () => {
    const before = await snapshot(scenario);
    const count = await restores();
    const P = scenario.names.pachyderm;
    const cases: [ViewValues, string, RegExp][] = [
      [{ db_targets: `${P}=9lives` }, 'db_targets', /`9lives` is not a database name/],
      [{ overwrite: 'elsewhere', ...OVERWRITE_OK }, 'overwrite', /elsewhere, which this restore does not/],
      [{ db_targets: `${P}=${P}`, overwrite: P }, 'overwrite_ok', /tick this to replace/],
      [{ bucket: 'Not_A_Bucket' }, 'bucket', /`Not_A_Bucket` is not a bucket name/],
      [{ bucket: newBucket('f1'), reuse: ['reuse'] }, 'bucket', /or reuse the backup bucket, not both/],
    ];
    for (const [values, field, message] of cases) {
      const { submitted } = await submitRestoreForm(scenario, backup.backupId, values);
      expect({ values, outcome: submitted.outcome }).toEqual({ values, outcome: 'errors' });
      expect(submitted.errors).toEqual({ [field]: expect.stringMatching(message) });
    }
    expect(await restores()).toBe(count);
    expect(await snapshot(scenario)).toEqual(before);
  }, 30_000);

  test('`/pach restore <unknown id>` says the backup is unknown and chooses nothing for the user', async () => {
    const unknown = 'prod-20200101t000000z-0000';
    const reply = await command(scenario, `restore ${unknown}`);
    expect(reply.text).toMatch(new RegExp(`No complete backup \`${unknown}\``));
    const view = await scenario.slack.waitForView(USERS.requester, /Plan the restore/);
    const select = view.view.blocks.find((b) => b.block_id === 'backup')?.element as Record<string, unknown>;
    expect(select.initial_option).toBeUndefined();
    expect(JSON.stringify(select.options)).toContain(backup.backupId);
    expect(JSON.stringify(select.options)).not.toContain(unknown);
    await scenario.slack.closeView(scenario.bot!.url, { userId: USERS.requester });
  });
});

describe('the plan refuses, says why in the thread, and changes nothing', () => {
  test('a target database that exists and is not empty, without the overwrite confirmation', async () => {
    const taken = `${scenario.names.pachyderm}_taken`;
    await stackEnv().postgres.createDatabase(taken, scenario.names.role);
    await runSql(roleUrl(scenario, taken), 'CREATE TABLE notes (id int); INSERT INTO notes VALUES (1), (2)');
    await expectPlanRefusal(
      { db_targets: `${scenario.names.pachyderm}=${taken}`, db_suffix: '_p1', bucket: newBucket('p1') },
      new RegExp(
        `database ${taken} exists and is not empty \\(1 table\\(s\\), 2 rows\\); name it again under "overwrite"`,
      ),
    );
    expect(await rowCounts(scenario.dbUrl(taken))).toEqual({ 'public.notes': 2 });
  }, 30_000);

  test('a target bucket that is not empty', async () => {
    const full = newBucket('full');
    await createBucket(scenario.s3, full);
    await putObject(scenario, full, 'someone/else.txt', 'not yours');
    await expectPlanRefusal(
      { db_suffix: '_p2', bucket: full },
      new RegExp(
        `bucket ${full} is not empty \\(e\\.g\\. someone/else\\.txt\\): restore into a new or empty bucket`,
      ),
    );
  }, 30_000);

  test('a dump whose bytes changed after the backup: its checksum does not match, nothing restored', async () => {
    const manifest = await readManifest(scenario, backup.backupId);
    const { key } = manifest.databases.find((d) => d.name === scenario.names.pachyderm)!;
    const original = await getObject(scenario, scenario.names.backup, key);
    const damaged = Buffer.from(original);
    damaged[damaged.length >> 1] ^= 0xff;
    await putObject(scenario, scenario.names.backup, key, damaged);
    try {
      await expectPlanRefusal(
        { db_suffix: '_p3', bucket: newBucket('p3') },
        new RegExp(
          `${reEscape(key)} does not match its manifest: sha256 .*, expected .*nothing was restored from it`,
        ),
      );
    } finally {
      await putObject(scenario, scenario.names.backup, key, original);
    }
  }, 30_000);
});

describe('who and when', () => {
  test('a restore while a backup waits for approval is refused, naming that backup', async () => {
    const busy = await requestBackup(scenario, USERS.approver);
    await waitForPrompt(scenario, busy.ts, 'pachops:approve', PHASE_TITLES.pause);
    const [active] = await queryState<{ backup_id: string }>(
      scenario,
      'SELECT backup_id FROM operations WHERE thread_ts = $1',
      busy.ts,
    );
    const before = await snapshot(scenario);
    const count = await restores();
    const form = await submitRestoreForm(scenario, backup.backupId, {
      db_suffix: '_w1',
      bucket: newBucket('w1'),
    });
    // Refused on the form itself (it stays open with what was typed), naming the active operation.
    expect(form.submitted.outcome).toBe('errors');
    expect(form.submitted.errors?.cluster).toMatch(
      new RegExp(`prod is busy: backup ${active.backup_id} is awaiting-approval`),
    );
    expect(await restores()).toBe(count);
    expect(await snapshot(scenario)).toEqual(before);
  }, 30_000);

  test('a non-approver and the requester (self-approval) cannot approve a restore; nothing starts', async () => {
    const form = await submitRestoreForm(
      scenario,
      backup.backupId,
      { db_suffix: '_w2', bucket: newBucket('w2') },
      USERS.approver,
    );
    const parent = await form.parent();
    const prompt = await waitForPrompt(scenario, parent.ts, 'pachops:approve', RESTORE_TITLES.pause);
    const before = await snapshot(scenario);
    const refusals: Record<string, RegExp> = {
      [USERS.outsider]: /^Not allowed: only approvers can approve.*Nothing was started\.$/,
      [USERS.approver]:
        /^Not allowed: you requested this operation; another approver has to approve it\. Nothing was started\.$/,
    };
    for (const [user, expected] of Object.entries(refusals)) {
      const seen = scenario.slack.ephemerals({ userId: user }).length;
      expect((await click(scenario, user, prompt, 'pachops:approve')).status).toBe(200);
      const told = await scenario.slack.waitFor(() => scenario.slack.ephemerals({ userId: user })[seen]);
      expect(told.text).toMatch(expected);
    }
    const [pause] = await queryState<{ status: string; runs: number }>(
      scenario,
      `SELECT p.status, p.runs FROM phases p JOIN operations o ON o.id = p.operation_id
       WHERE o.thread_ts = $1 AND p.name = 'pause'`,
      parent.ts,
    );
    expect(pause).toEqual({ status: 'awaiting-approval', runs: 0 });
    expect(await snapshot(scenario)).toEqual(before);
  }, 30_000);
});

describe('an overwrite the requester confirmed replaces the database', () => {
  let parentTs: string;
  let replaced: Record<string, number>;
  const P = () => scenario.names.pachyderm;

  test('of the live cluster: a safety backup of what it replaces runs first, then every phase', async () => {
    // The live database moved on since the backup. The simulator writes into the configured database with
    // keys of the old bucket whatever helm deployed, so it stops before the restore redeploys pachd.
    await scenario.slack.waitFor(
      async () =>
        (await rowCounts(scenario.dbUrl(P())))['storage.chunk_objects'] >
        backup.counts[P()]['storage.chunk_objects'],
      { timeoutMs: 10_000, what: 'the simulator to write after the backup' },
    );
    await stopWorkload(scenario);
    replaced = await rowCounts(scenario.dbUrl(P()));
    const form = await submitRestoreForm(scenario, backup.backupId, {
      db_targets: `${P()}=${P()}`,
      overwrite: P(),
      ...OVERWRITE_OK,
      db_suffix: '_o1',
      bucket: newBucket('o1'),
    });
    expect(form.submitted.outcome).toBe('closed');
    parentTs = (await form.parent()).ts;
    await waitForPrompt(scenario, parentTs, 'pachops:approve', RESTORE_TITLES.pause);
    expect(threadText(parentTs)).toMatch(
      new RegExp(
        `${P()} \\(.*\\) → ${P()}: will be REPLACED \\(the current one is kept as ${P()}_replaced_…\\)`,
      ),
    );
    const phases = 'pause safety-backup restore-databases restore-bucket deploy resume health'.split(' ');
    await approveRestore(scenario, parentTs, phases);
    expect((await waitForFinish(scenario, parentTs)).text).toMatch(/Restore of prod from .* is complete/);
    const done = scenario.slack
      .thread(CHANNELS.ops, parentTs)
      .flatMap((m) => /^([a-z-]+) done in /.exec(m.text)?.[1] ?? []);
    expect(done).toEqual(['plan', ...phases]);
  }, 45_000);

  test('the live database and the new dex database end with exactly the dumped rows', async () => {
    expect(replaced).not.toEqual(backup.counts[P()]);
    expect(await rowCounts(scenario.dbUrl(P()))).toEqual(backup.counts[P()]);
    const dex = scenario.names.dex;
    expect(await rowCounts(scenario.dbUrl(`${dex}_o1`))).toEqual(backup.counts[dex]);
  });

  test('the safety backup is listed, says what it was for, and holds what was replaced', async () => {
    const report = scenario.slack
      .thread(CHANNELS.ops, parentTs)
      .find((m) => /^safety-backup done in /.test(m.text));
    const safetyId = /safety backup (prod-\S+):/.exec(report?.text ?? '')?.[1];
    expect(safetyId).toBeDefined();
    expect((await command(scenario, 'list')).text).toContain(safetyId);
    expect((await readManifest(scenario, safetyId!)).note).toBe(
      `safety backup before restoring ${backup.backupId}`,
    );
    expect(await countsInDump(scenario, safetyId!, P())).toEqual(replaced);
  }, 30_000);

  test('of a database holding tables the backup lacks: none of them is left behind', async () => {
    // The database of the first plan refusal: public.notes, which no dump has. An upgrade gone wrong
    // leaves such tables too (its migrations), and the backup from before it is what is wanted back.
    const taken = `${P()}_taken`;
    const form = await submitRestoreForm(scenario, backup.backupId, {
      db_targets: `${P()}=${taken}`,
      overwrite: taken,
      ...OVERWRITE_OK,
      db_suffix: '_o2',
      bucket: newBucket('o2'),
      deploy: [],
    });
    const parent = await form.parent();
    await approveRestore(scenario, parent.ts, ['restore-databases', 'restore-bucket', 'health']);
    expect((await waitForFinish(scenario, parent.ts)).text).toMatch(/Restore of prod from .* is complete/);
    expect(await rowCounts(scenario.dbUrl(taken))).toEqual(backup.counts[P()]);
  }, 30_000);
});

describe('a backup missing an object', () => {
  test('stops restore-bucket naming the key, the cluster paused; [Resume cluster] brings it back', async () => {
    const key = (await listedKeys(scenario, backup.backupId)).find((k) => k.startsWith('chunk/'))!;
    await deleteObject(scenario, scenario.names.backup, key);
    const before = await snapshot(scenario);
    const form = await submitRestoreForm(scenario, backup.backupId, {
      db_suffix: '_m1',
      bucket: newBucket('m1'),
    });
    const parent = await form.parent();
    await approveRestore(scenario, parent.ts, ['pause', 'restore-databases', 'restore-bucket']);
    const failure = await waitForPrompt(scenario, parent.ts, 'pachops:resume');
    expect(failure.text).toMatch(
      new RegExp(
        `^restore-bucket failed: the backup is missing ${reEscape(key)} in ${scenario.names.backup}`,
      ),
    );
    expect(blocksText(failure.blocks)).toMatch(/The cluster is paused/);
    expect(scenario.kube.getDeployment('pachd')?.spec.replicas).toBe(0);
    expect((await click(scenario, USERS.requester, failure, 'pachops:resume')).status).toBe(200);
    expect((await waitForFinish(scenario, parent.ts, 30_000)).text).toMatch(
      /^:octagonal_sign: Restore aborted/,
    );
    await scenario.kube.waitForSettled(undefined, 10_000);
    expect((await snapshot(scenario)).replicas).toEqual(before.replicas);
    // Worded for a restore, not for a backup.
    expect(blocksText(failure.blocks)).not.toMatch(/backup then ends incomplete/);
  }, 45_000);
});
