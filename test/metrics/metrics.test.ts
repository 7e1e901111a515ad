/**
 * /metrics' numbers from hand-inserted history in a fresh state database on the run's real PostgreSQL:
 * the SQL sums (outcomes, histograms, copies, the last complete backup) per cluster, the fold of old
 * history into kept totals, and a state database that is down or silent answering 503 in time.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import pg from 'pg';
import { createLogger } from '../../src/log.ts';
import { createMetricsEndpoint, type MetricsEndpoint } from '../../src/metrics/endpoint.ts';
import { createMetricsRegistry } from '../../src/metrics/registry.ts';
import { createRollup } from '../../src/metrics/rollup.ts';
import { StateStore } from '../../src/operations/store.ts';
import { type Exposition, parseExposition } from '../harness/prom-text.ts';
import { stackEnv, uniqueName } from '../harness/stack-env.ts';

const log = createLogger({ name: 'test', level: 'silent' });
let url: string;
let store: StateStore;

interface Op {
  cluster: string;
  kind?: 'backup' | 'restore';
  status: string;
  /** Minutes ago; absent: still active. */
  finishedMinutesAgo?: number;
  dryRun?: boolean;
  paused?: boolean;
  state?: object;
  phases?: { name: string; status: string; durationMs?: number; finishedMinutesAgo?: number }[];
}

async function insert(op: Op): Promise<string> {
  const id = randomUUID();
  const ago = (m?: number) => (m === undefined ? null : new Date(Date.now() - m * 60_000));
  await store.pool.query(
    `INSERT INTO operations (id, kind, cluster, status, requested_by, via, options, dry_run, backup_id,
       cluster_paused, state, finished_at)
     VALUES ($1, $2, $3, $4, 'U0ALICE', 'slack', '{}', $5, $1, $6, $7, $8)`,
    [
      id,
      op.kind ?? 'backup',
      op.cluster,
      op.status,
      op.dryRun ?? false,
      op.paused ?? false,
      op.state ?? {},
      ago(op.finishedMinutesAgo),
    ],
  );
  for (const [position, phase] of (op.phases ?? []).entries())
    await store.pool.query(
      `INSERT INTO phases (operation_id, name, position, status, duration_ms, finished_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, phase.name, position, phase.status, phase.durationMs ?? null, ago(phase.finishedMinutesAgo)],
    );
  return id;
}

async function scrape(read: () => Promise<import('../../src/metrics/aggregates.ts').Aggregates>) {
  return parseExposition(await createMetricsRegistry({ read, clusters: ['a', 'b', 'c'] }).metrics());
}

const HOUR = 60;
let mirrorFinishedA: number;

beforeAll(async () => {
  url = await stackEnv().postgres.createDatabase(uniqueName('pachops-metrics'));
  store = new StateStore(url);
  await store.migrate();
  // Cluster a: a complete backup 3 h ago, an aborted one, a dry run, and a failed one still paused.
  await insert({
    cluster: 'a',
    status: 'succeeded',
    finishedMinutesAgo: 3 * HOUR,
    state: {
      downtimeMs: 4000,
      precopy: { copied: 10, copiedBytes: 1000 },
      mirror: { copied: 3, copiedBytes: 300 },
    },
    phases: [
      { name: 'pause', status: 'succeeded', durationMs: 800 },
      { name: 'mirror', status: 'succeeded', durationMs: 2500, finishedMinutesAgo: 3 * HOUR + 1 },
      { name: 'verify', status: 'succeeded', durationMs: 40_000 },
    ],
  });
  const [{ at }] = (
    await store.pool.query(
      `SELECT extract(epoch FROM finished_at)::float8 AS at FROM phases WHERE name = 'mirror' AND status = 'succeeded'`,
    )
  ).rows;
  mirrorFinishedA = at;
  await insert({
    cluster: 'a',
    status: 'aborted',
    finishedMinutesAgo: 2 * HOUR,
    phases: [{ name: 'pause', status: 'succeeded', durationMs: 1200 }],
  });
  await insert({ cluster: 'a', status: 'planned', dryRun: true, finishedMinutesAgo: HOUR });
  await insert({
    cluster: 'a',
    status: 'failed',
    paused: true,
    phases: [
      { name: 'pause', status: 'succeeded', durationMs: 3000 },
      { name: 'dump', status: 'failed', durationMs: 9000 },
    ],
  });
  // Cluster b: a restore, a backup whose verify failed (not complete), a refused one just now.
  await insert({
    cluster: 'b',
    kind: 'restore',
    status: 'succeeded',
    finishedMinutesAgo: 5 * HOUR,
    state: { downtimeMs: 61_000, restore: { bucket: { copied: 7, copiedBytes: 700, skipped: 0 } } },
    phases: [{ name: 'restore-bucket', status: 'succeeded', durationMs: 7000 }],
  });
  await insert({
    cluster: 'b',
    status: 'aborted',
    finishedMinutesAgo: HOUR,
    state: { mirror: { copied: 5, copiedBytes: 500 } },
    phases: [
      { name: 'mirror', status: 'succeeded', durationMs: 1000, finishedMinutesAgo: HOUR + 1 },
      { name: 'verify', status: 'failed', durationMs: 1000 },
    ],
  });
  await insert({ cluster: 'b', status: 'refused', finishedMinutesAgo: 0 });
});

afterAll(async () => {
  await store.close();
});

describe('the sums over the state database', () => {
  let metrics: Exposition;
  let pool: pg.Pool;

  beforeAll(async () => {
    pool = new pg.Pool({ connectionString: url, max: 1 });
    metrics = await scrape(createRollup(pool).read);
  });
  afterAll(() => pool.end());

  test('operations by cluster, kind and outcome; the active ones apart', () => {
    const ops = (labels: Record<string, string>) => metrics.value('pachops_operations_total', labels);
    expect(ops({ cluster: 'a', kind: 'backup', outcome: 'completed' })).toBe(1);
    expect(ops({ cluster: 'a', kind: 'backup', outcome: 'aborted' })).toBe(1);
    expect(ops({ cluster: 'a', kind: 'backup', outcome: 'planned' })).toBe(1);
    expect(ops({ cluster: 'b', kind: 'restore', outcome: 'completed' })).toBe(1);
    expect(ops({ cluster: 'b', kind: 'backup', outcome: 'aborted' })).toBe(1);
    expect(ops({ cluster: 'b', kind: 'backup', outcome: 'refused' })).toBe(1);
    expect(metrics.find('pachops_operations_total')).toHaveLength(6);
    expect(metrics.find('pachops_operations_active')).toEqual([
      {
        name: 'pachops_operations_active',
        labels: { cluster: 'a', kind: 'backup', status: 'failed' },
        value: 1,
      },
    ]);
    expect(metrics.types.get('pachops_operations_total')).toBe('counter');
    expect(metrics.value('pachops_cluster_paused', { cluster: 'a' })).toBe(1);
    expect(metrics.value('pachops_cluster_paused', { cluster: 'b' })).toBe(0);
  });

  test('phase durations: succeeded phases only, in cumulative buckets', () => {
    const pause = { cluster: 'a', kind: 'backup', phase: 'pause' };
    expect(metrics.types.get('pachops_phase_duration_seconds')).toBe('histogram');
    expect(metrics.value('pachops_phase_duration_seconds_count', pause)).toBe(3);
    expect(metrics.value('pachops_phase_duration_seconds_sum', pause)).toBeCloseTo(5.0);
    expect(metrics.value('pachops_phase_duration_seconds_bucket', { ...pause, le: '1' })).toBe(1);
    expect(metrics.value('pachops_phase_duration_seconds_bucket', { ...pause, le: '5' })).toBe(3);
    expect(metrics.value('pachops_phase_duration_seconds_bucket', { ...pause, le: '+Inf' })).toBe(3);
    const verify = { cluster: 'a', kind: 'backup', phase: 'verify' };
    expect(metrics.value('pachops_phase_duration_seconds_bucket', { ...verify, le: '30' })).toBe(0);
    expect(metrics.value('pachops_phase_duration_seconds_bucket', { ...verify, le: '60' })).toBe(1);
    // The failed dump and b's failed verify are not durations of work done.
    expect(metrics.find('pachops_phase_duration_seconds_count', { phase: 'dump' })).toEqual([]);
    expect(metrics.find('pachops_phase_duration_seconds_count', { cluster: 'b', phase: 'verify' })).toEqual(
      [],
    );
  });

  test('downtime of backups and restores', () => {
    expect(metrics.value('pachops_downtime_seconds_sum', { cluster: 'a', kind: 'backup' })).toBe(4);
    expect(metrics.value('pachops_downtime_seconds_count', { cluster: 'a', kind: 'backup' })).toBe(1);
    const restore = { cluster: 'b', kind: 'restore' };
    expect(metrics.value('pachops_downtime_seconds_sum', restore)).toBe(61);
    expect(metrics.value('pachops_downtime_seconds_bucket', { ...restore, le: '60' })).toBe(0);
    expect(metrics.value('pachops_downtime_seconds_bucket', { ...restore, le: '120' })).toBe(1);
  });

  test('objects and bytes copied, by cluster and phase', () => {
    const copied = (name: string, cluster: string, phase: string) =>
      metrics.value(`pachops_mirror_copied_${name}_total`, { cluster, phase });
    expect(copied('objects', 'a', 'precopy')).toBe(10);
    expect(copied('objects', 'a', 'mirror')).toBe(3);
    expect(copied('bytes', 'a', 'mirror')).toBe(300);
    expect(copied('objects', 'b', 'mirror')).toBe(5);
    expect(copied('bytes', 'b', 'restore-bucket')).toBe(700);
  });

  test("the last complete backup: the verified one's mirror time; 0 for a cluster without one", () => {
    const last = (cluster: string) =>
      metrics.value('pachops_last_complete_backup_timestamp_seconds', { cluster });
    expect(last('a')).toBeCloseTo(mirrorFinishedA, 3);
    expect(last('a')).toBeCloseTo(Date.now() / 1000 - (3 * HOUR + 1) * 60, -1);
    expect(last('b')).toBe(0);
    expect(last('c')).toBe(0);
  });
});

describe('the fold of finished history', () => {
  test('kept totals plus what changed since: nothing counted twice or left out', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const rollup = createRollup(pool, { lagSeconds: 1 });
      const total = async () => (await rollup.read()).operations.reduce((sum, row) => sum + row.count, 0);
      expect(await total()).toBe(7);
      const id = await insert({ cluster: 'c', status: 'running' });
      expect(await total()).toBe(8);
      await store.setStatus(id, 'succeeded', { finished: true });
      // Twice the lag later the operation is folded into the kept totals, and read no more.
      await new Promise((resolve) => setTimeout(resolve, 2200));
      const before = await rollup.read();
      expect(before.operations.find((r) => r.cluster === 'c')).toMatchObject({ finished: true, count: 1 });
      expect(await total()).toBe(8);
      // A scrape shares the read of one already under way.
      const [x, y] = await Promise.all([rollup.read(), rollup.read()]);
      expect(x).toBe(y);
    } finally {
      await pool.end();
    }
  });
});

describe('/metrics over HTTP', () => {
  async function serve(endpoint: MetricsEndpoint): Promise<{ server: Server; url: string }> {
    const server = createServer((req, res) => endpoint.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics` };
  }

  test("answers in Prometheus' text format, with Node's process metrics", async () => {
    const endpoint = createMetricsEndpoint({
      stateDatabaseUrl: url,
      clusters: ['a'],
      log,
      defaultMetrics: true,
    });
    const { server, url: metricsUrl } = await serve(endpoint);
    try {
      const response = await fetch(metricsUrl);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const metrics = parseExposition(await response.text());
      expect(metrics.value('pachops_operations_total', { cluster: 'a', outcome: 'completed' })).toBe(1);
      expect(metrics.types.get('pachops_process_resident_memory_bytes')).toBe('gauge');
    } finally {
      server.close();
      await endpoint.close();
    }
  });

  test('a state database that does not answer, or refuses: 503 within the time box, no secret in it', async () => {
    // A server that accepts connections and never says a word: the worst case, a hung network path.
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const endpoint = createMetricsEndpoint({
      stateDatabaseUrl: `postgres://pachops:s3cret-pw@127.0.0.1:${port}/pachops`,
      clusters: ['a'],
      log,
      timeoutMs: 400,
    });
    const { server, url: metricsUrl } = await serve(endpoint);
    try {
      const started = Date.now();
      const response = await fetch(metricsUrl);
      expect(response.status).toBe(503);
      const body = await response.text();
      expect(body).toMatch(/state database did not answer/);
      expect(body).not.toContain('s3cret-pw');
      expect(Date.now() - started).toBeLessThan(2000);
      const refused = createMetricsEndpoint({
        stateDatabaseUrl: 'postgres://pachops@127.0.0.1:1/pachops',
        clusters: [],
        log,
        timeoutMs: 400,
      });
      const second = await serve(refused);
      expect((await fetch(second.url)).status).toBe(503);
      second.server.close();
      await refused.close();
    } finally {
      server.close();
      for (const socket of sockets) socket.destroy();
      silent.close();
      await endpoint.close();
    }
  });
});
