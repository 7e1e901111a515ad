/**
 * StateStore (src/operations/store.ts) and PromptStore (prompts.ts) on a fresh database of the run's
 * real PostgreSQL: migrations, the one-active-operation-per-cluster rule, atomic prompt claims.
 */
import { randomUUID } from 'node:crypto';
import { execa } from 'execa';
import type pg from 'pg';
import { PachopsError } from '../../src/errors.ts';
import type { BackupOptions } from '../../src/operations/model.ts';
import { PromptStore } from '../../src/operations/prompts.ts';
import { type NewOperation, StateStore } from '../../src/operations/store.ts';
import { stackEnv, uniqueName } from '../harness/stack-env.ts';

const env = stackEnv();
const stores: StateStore[] = [];
let url: string;
let store: StateStore;
let prompts: PromptStore;

function openStore(): StateStore {
  const opened = new StateStore(url);
  stores.push(opened);
  return opened;
}

beforeAll(async () => {
  url = await env.postgres.createDatabase(uniqueName('pachops-state'));
  store = openStore();
});

afterAll(async () => {
  // a pool a failed test left wedged must not hold the run up
  await Promise.all(
    stores.map((s) => Promise.race([s.close(), new Promise((resolve) => setTimeout(resolve, 2000).unref())])),
  );
});

function newOperation(cluster: string, options: Partial<BackupOptions> = {}): NewOperation {
  const id = randomUUID();
  return {
    id,
    kind: 'backup',
    cluster,
    requestedBy: 'U0ALICE',
    via: 'slack',
    options: { skipDatabases: [], dryRun: false, ...options },
    backupId: `${cluster}-20260101t000000z-${id.slice(0, 4)}`,
  };
}

/** Resolves with `promise`, or rejects after `ms` (having called `onTimeout` to clean up). */
async function within<T>(ms: number, promise: Promise<T>, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${what} after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Test cleanup only: ends a wedged pool's checked-out connections so that its queued queries can run. */
function unwedge(wedged: StateStore): void {
  const clients = (wedged.pool as unknown as { _clients: pg.Client[] })._clients;
  for (const client of clients) {
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
  }
}

async function tables(): Promise<string[]> {
  const { rows } = await store.pool.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
  );
  return rows.map((r) => r.tablename);
}

describe('migrate', () => {
  test('concurrently from two stores on a fresh database, then again: harmless', async () => {
    const other = openStore();
    await Promise.all([store.migrate(), other.migrate()]);
    expect(await tables()).toEqual([
      'abort_requests',
      'audit',
      'operations',
      'pachops_migrations',
      'phases',
      'prompts',
      'schedules',
    ]);
    const versions = await store.pool.query('SELECT version FROM pachops_migrations ORDER BY version');
    const applied = versions.rows.map((r) => r.version);
    expect(applied).toEqual([...new Set(applied)]);
    expect(applied.length).toBeGreaterThan(0);

    const op = await store.createOperation(newOperation(uniqueName('kept')));
    await store.migrate();
    await other.migrate();
    expect((await store.pool.query('SELECT version FROM pachops_migrations')).rows).toHaveLength(
      applied.length,
    );
    expect((await store.getOperation(op.id))?.cluster).toBe(op.cluster); // data survives a re-run
    await store.setStatus(op.id, 'succeeded', { finished: true });
  });
});

describe('createOperation', () => {
  beforeAll(() => store.migrate());

  test('creates the operation with its phases in order', async () => {
    const input = newOperation(uniqueName('c'));
    const op = await store.createOperation(input);
    expect(op).toMatchObject({
      id: input.id,
      cluster: input.cluster,
      status: 'planning',
      requestedBy: 'U0ALICE',
      backupId: input.backupId,
      clusterPaused: false,
      state: {},
    });
    expect(op.finishedAt).toBeUndefined();
    expect((await store.getPhases(op.id)).map((p) => [p.name, p.position, p.status])).toEqual([
      ['plan', 0, 'pending'],
      ['precopy', 1, 'pending'],
      ['announce', 2, 'pending'],
      ['pause', 3, 'pending'],
      ['dump', 4, 'pending'],
      ['mirror', 5, 'pending'],
      ['resume', 6, 'pending'],
      ['verify', 7, 'pending'],
    ]);
    await store.setStatus(op.id, 'succeeded', { finished: true });
  });

  test('refuses a second active operation on the same cluster (OPERATION_ACTIVE), not on another', async () => {
    const cluster = uniqueName('prod');
    const first = await store.createOperation(newOperation(cluster));

    const refused = newOperation(cluster);
    const error = await store.createOperation(refused).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PachopsError);
    expect((error as PachopsError).code).toBe('OPERATION_ACTIVE');
    expect((error as PachopsError).permanent).toBe(true);
    expect((error as PachopsError).message).toContain(cluster);
    expect((error as PachopsError).message).toContain(first.id);
    // nothing of the refused one was left behind
    expect(await store.getOperation(refused.id)).toBeUndefined();
    expect(await store.getPhases(refused.id)).toEqual([]);
    expect((await store.activeOperation(cluster))?.id).toBe(first.id);

    // another cluster, and a dry run on this one, are allowed alongside
    const elsewhere = await store.createOperation(newOperation(uniqueName('staging')));
    const dryRun = await store.createOperation(newOperation(cluster, { dryRun: true }));
    expect(dryRun.options.dryRun).toBe(true);
    expect((await store.activeOperation(cluster))?.id).toBe(first.id);

    // once the first one is finished, a new one is allowed
    await store.setStatus(first.id, 'succeeded', { finished: true });
    expect((await store.getOperation(first.id))?.finishedAt).toBeInstanceOf(Date);
    expect(await store.activeOperation(cluster)).toBeUndefined();
    const next = await store.createOperation(newOperation(cluster));
    expect((await store.activeOperation(cluster))?.id).toBe(next.id);

    for (const id of [next.id, elsewhere.id, dryRun.id])
      await store.setStatus(id, 'aborted', { finished: true });
  });

  test('a status change without finished keeps the operation active', async () => {
    const cluster = uniqueName('prod');
    const op = await store.createOperation(newOperation(cluster));
    await store.setStatus(op.id, 'failed');
    expect((await store.activeOperation(cluster))?.status).toBe('failed');
    await expect(store.createOperation(newOperation(cluster))).rejects.toMatchObject({
      code: 'OPERATION_ACTIVE',
    });
    await store.setStatus(op.id, 'aborted', { finished: true });
  });

  test('ten simultaneous requests for one cluster, from two processes: exactly one is created', async () => {
    const cluster = uniqueName('race');
    // two bot processes, five requests each (a pool of 5 connections per store)
    const racers = [openStore(), openStore()];
    const racing = Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => racers[i % 2]!.createOperation(newOperation(cluster))),
    );
    const results = await within(8_000, racing, 'createOperation never returned (a pool deadlock?)', () =>
      racers.forEach(unwedge),
    );
    const created = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(created).toHaveLength(1);
    expect(refused.map((r) => (r.reason as PachopsError).code)).toEqual(Array(9).fill('OPERATION_ACTIVE'));
    const { rows } = await store.pool.query('SELECT count(*)::int AS n FROM operations WHERE cluster = $1', [
      cluster,
    ]);
    expect(rows[0].n).toBe(1);
  });
});

describe('patchState', () => {
  beforeAll(() => store.migrate());

  test('merges top-level keys, replacing only the keys it is given', async () => {
    const op = await store.createOperation(newOperation(uniqueName('state')));
    const plan = { databases: [{ name: 'pachyderm', bytes: 123 }], objects: 4, objectBytes: 5 };
    const pause = {
      mode: 'scale' as const,
      startedAt: '2026-01-01T00:00:00Z',
      replicas: { 'Deployment/pachd': 2 },
    };
    expect(await store.patchState(op.id, { plan })).toEqual({ plan });
    expect(await store.patchState(op.id, { pause })).toEqual({ plan, pause });
    const paused = { ...pause, pausedAt: '2026-01-01T00:01:00Z', replicas: { 'Deployment/pachw': 1 } };
    expect(await store.patchState(op.id, { pause: paused })).toEqual({ plan, pause: paused });
    expect((await store.getOperation(op.id))?.state).toEqual({ plan, pause: paused });
    await store.setStatus(op.id, 'succeeded', { finished: true });
  });
});

describe('PromptStore', () => {
  let operationId: string;

  beforeAll(async () => {
    await store.migrate();
    prompts = new PromptStore(store.pool);
    const op = await store.createOperation(newOperation(uniqueName('prompts')));
    operationId = op.id;
  });

  test('ten simultaneous claims of one prompt, over two pools: exactly one wins', async () => {
    const prompt = await prompts.create({ operationId, phase: 'pause', kind: 'approve', ttlMinutes: 60 });
    expect(prompt.status).toBe('pending');
    expect(prompt.expiresAt.getTime() - prompt.createdAt.getTime()).toBe(60 * 60_000);
    const otherPrompts = new PromptStore(openStore().pool);
    const claims = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? otherPrompts : prompts).claim(prompt.id, 'approve', `U0USER${i}`),
      ),
    );
    const winners = claims.filter((c) => c.ok);
    expect(winners).toHaveLength(1);
    expect(claims.filter((c) => !c.ok).map((c) => (c.ok ? '' : c.reason))).toEqual(Array(9).fill('decided'));
    const stored = await prompts.get(prompt.id);
    expect(stored).toMatchObject({ status: 'decided', decision: 'approve' });
    expect(stored?.decidedBy).toBe(winners[0]!.prompt!.decidedBy);
  });

  test('a claim of an expired prompt is refused as expired and changes nothing', async () => {
    const prompt = await prompts.create({ operationId, phase: 'dump', kind: 'approve', ttlMinutes: 60 });
    await store.pool.query("UPDATE prompts SET expires_at = now() - interval '1 second' WHERE id = $1", [
      prompt.id,
    ]);
    const claim = await prompts.claim(prompt.id, 'approve', 'U0BOB');
    expect(claim).toMatchObject({ ok: false, reason: 'expired' });
    expect(await prompts.get(prompt.id)).toMatchObject({ status: 'pending' });
    expect((await prompts.get(prompt.id))?.decidedBy).toBeUndefined();
  });

  test('a new prompt supersedes the older one: its button answers superseded', async () => {
    const old = await prompts.create({ operationId, phase: 'mirror', kind: 'approve', ttlMinutes: 60 });
    const fresh = await prompts.create({ operationId, phase: 'mirror', kind: 'failure', ttlMinutes: 60 });
    expect(await prompts.claim(old.id, 'approve', 'U0BOB')).toMatchObject({
      ok: false,
      reason: 'superseded',
    });
    expect((await prompts.pendingFor(operationId))?.id).toBe(fresh.id);
    expect(await prompts.claim(fresh.id, 'retry', 'U0BOB')).toMatchObject({ ok: true });
    expect(await prompts.claim(fresh.id, 'retry', 'U0CAROL')).toMatchObject({ ok: false, reason: 'decided' });
    expect(await prompts.pendingFor(operationId)).toBeUndefined();
  });

  test('an unknown prompt id is refused as unknown', async () => {
    expect(await prompts.claim(randomUUID(), 'approve', 'U0BOB')).toEqual({ ok: false, reason: 'unknown' });
  });

  test('prompts are per operation: a prompt of another operation does not supersede this one', async () => {
    const mine = await prompts.create({ operationId, phase: 'resume', kind: 'approve', ttlMinutes: 60 });
    const other = await store.createOperation(newOperation(uniqueName('other')));
    await prompts.create({ operationId: other.id, phase: 'pause', kind: 'approve', ttlMinutes: 60 });
    expect(await prompts.claim(mine.id, 'approve', 'U0BOB')).toMatchObject({ ok: true });
  });
});

test('a process using the store survives the server ending its idle connections (failover, restart)', async () => {
  // In a child process: an unhandled 'error' event there crashes it, not this test run.
  const database = uniqueName('pachops-state-restart');
  const stateUrl = await env.postgres.createDatabase(database);
  const storeModule = new URL('../../src/operations/store.ts', import.meta.url).href;
  const script = `
    import pg from 'pg';
    import { StateStore } from ${JSON.stringify(storeModule)};
    const store = new StateStore(process.env.STATE_URL);
    await store.migrate();
    await Promise.all([store.getOperation('warm-1'), store.getOperation('warm-2')]);
    const admin = new pg.Client({ connectionString: process.env.ADMIN_URL });
    await admin.connect();
    const killed = await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [process.env.DB]);
    await admin.end();
    console.log('terminated', killed.rowCount);
    await new Promise((resolve) => setTimeout(resolve, 300));
    console.log('after', JSON.stringify((await store.getOperation('missing')) ?? null));
    await store.close();
  `;
  const child = await execa(process.execPath, ['--input-type=module', '-e', script], {
    env: { STATE_URL: stateUrl, ADMIN_URL: env.postgres.url(), DB: database },
    reject: false,
    timeout: 20_000,
  });
  expect({ exitCode: child.exitCode, stderr: child.stderr.split('\n').slice(0, 5).join('\n') }).toEqual({
    exitCode: 0,
    stderr: '',
  });
  expect(child.stdout).toMatch(/terminated [1-9]/);
  expect(child.stdout).toContain('after null');
});
