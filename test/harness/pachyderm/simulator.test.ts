/** The Pachyderm simulator writes what Pachyderm writes, and only while the cluster runs. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { makeS3Client, type S3Target } from '../s3-client.ts';
import { type S3rverServer, startS3rver } from '../s3rver.ts';
import { stackEnv, uniqueName } from '../stack-env.ts';
import { hashChunk } from './chunks.ts';
import { consistencyKeys, kubeRunningProbe, seedPachyderm, startWorkload } from './simulator.ts';

const env = stackEnv();
let s3rver: S3rverServer | null = null;
let client: S3Client;
let createBucket: (name: string) => Promise<void>;

beforeAll(async () => {
  // RGW when the run has one (PACHOPS_TEST_RGW != 0), else a private s3rver
  s3rver = env.rgw ? null : await startS3rver();
  const target: S3Target = env.rgw ?? s3rver!;
  createBucket = env.rgw ? env.rgw.createBucket : s3rver!.createBucket;
  client = makeS3Client(target);
});

afterAll(async () => {
  client.destroy();
  await s3rver?.stop();
});

async function makeCluster() {
  const bucket = uniqueName('pach-data');
  const [pachydermDbUrl, dexDbUrl] = await Promise.all([
    env.postgres.createDatabase(uniqueName('pachyderm')),
    env.postgres.createDatabase(uniqueName('dex')),
    createBucket(bucket),
  ]);
  return { pachydermDbUrl, dexDbUrl, s3: { client, bucket } };
}

async function listBucket(bucket: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) keys.add(object.Key!);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

async function scalar(url: string, sql: string): Promise<number> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    return Number(Object.values((await db.query(sql)).rows[0] as object)[0]);
  } finally {
    await db.end();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('seedPachyderm writes rows and objects that agree, with the real key format', async () => {
  const cluster = await makeCluster();
  const seed = await seedPachyderm({ ...cluster, objects: 40, sizes: [4096, 65536] });

  expect(seed.live).toHaveLength(40);
  const expected = seed.live
    .map((row) => ({ key: row.key, size: row.size }))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
  expect(await consistencyKeys(cluster.pachydermDbUrl)).toEqual(expected);
  for (const { key, size } of expected) {
    expect(key).toMatch(/^chunk\/[0-9a-f]{64}\.[0-9a-f]{16}$/);
    expect(size).toBeGreaterThanOrEqual(4096);
    expect(size).toBeLessThanOrEqual(65536);
  }

  const inBucket = await listBucket(cluster.s3.bucket);
  expect([...inBucket].sort()).toEqual([...seed.objectKeys].sort());
  for (const row of seed.rows.filter((r) => !r.uploaded)) expect(inBucket.has(row.key)).toBe(false);
  const tombstoned = seed.rows.filter((row) => row.tombstone);
  expect(tombstoned.some((row) => inBucket.has(row.key))).toBe(true);
  expect(tombstoned.some((row) => !inBucket.has(row.key))).toBe(true);

  const sample = seed.live[0]!;
  const object = await client.send(new GetObjectCommand({ Bucket: cluster.s3.bucket, Key: sample.key }));
  const body = Buffer.from(await object.Body!.transformToByteArray());
  expect(hashChunk(body).toString('hex')).toBe(sample.chunkId);

  expect(await scalar(cluster.pachydermDbUrl, 'SELECT count(*) FROM storage.keys')).toBe(1);
  expect(await scalar(cluster.pachydermDbUrl, 'SELECT count(*) FROM pfs.commits')).toBe(4);
  expect(await scalar(cluster.pachydermDbUrl, 'SELECT count(*) FROM pfs.commit_diffs')).toBe(4);
  expect(await scalar(cluster.pachydermDbUrl, 'SELECT count(*) FROM storage.tracker_refs')).toBe(40);
  expect(await scalar(cluster.dexDbUrl, 'SELECT count(*) FROM client')).toBe(2);
});

test('the workload writes while isRunning() says so, stops when not, resumes, and stays consistent', async () => {
  const cluster = await makeCluster();
  await seedPachyderm({ ...cluster, objects: 5 });
  let running = true;
  const workload = startWorkload({
    ...cluster,
    isRunning: async () => running,
    intervalMs: 20,
    commitEvery: 3,
  });
  try {
    await waitFor(() => workload.stats().chunks >= 6);
    running = false;
    const pausedAt = Date.now();
    await waitFor(() => workload.stats().notRunning >= 3);
    const paused = workload.stats();
    expect(paused.lastWriteAt!.getTime()).toBeLessThanOrEqual(pausedAt + 500);
    await sleep(200);
    expect(workload.stats().chunks).toBe(paused.chunks);
    running = true;
    await waitFor(() => workload.stats().chunks > paused.chunks);
  } finally {
    running = false;
  }
  const final = await workload.stop();
  expect(final.errors).toBe(0);
  expect(final.commits).toBeGreaterThanOrEqual(2);
  const keys = (await consistencyKeys(cluster.pachydermDbUrl)).map((entry) => entry.key);
  expect(keys).toHaveLength(5 + final.chunks);
  const inBucket = await listBucket(cluster.s3.bucket);
  expect(keys.filter((key) => !inBucket.has(key))).toEqual([]);
});

/** A minimal API server for the probe: what it returns is up to the test. */
function startFakeKube(state: { ready: number; mode: string | null; terminating: boolean; fail?: boolean }) {
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (state.fail) return reply(500, { kind: 'Status', message: 'boom' });
    const path = req.url ?? '';
    if (path === '/apis/apps/v1/namespaces/pach/deployments/pachd') {
      return reply(200, { kind: 'Deployment', status: { readyReplicas: state.ready || undefined } });
    }
    if (path === '/api/v1/namespaces/pach/configmaps/pachd-config') {
      return state.mode === null
        ? reply(404, { kind: 'Status', code: 404 })
        : reply(200, { data: { MODE: state.mode } });
    }
    if (path === '/api/v1/namespaces/pach/pods?labelSelector=app%3Dpachd') {
      const metadata = state.terminating ? { deletionTimestamp: new Date().toISOString() } : {};
      return reply(200, {
        kind: 'PodList',
        items: state.ready ? [{ metadata, status: { phase: 'Running' } }] : [],
      });
    }
    return reply(404, { kind: 'Status', code: 404 });
  });
  return new Promise<Server>((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('kubeRunningProbe reads the deployment, the pause ConfigMap and the pods', async () => {
  const state = { ready: 1, mode: null as string | null, terminating: false, fail: false };
  const server = await startFakeKube(state);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const isRunning = kubeRunningProbe({ url, namespace: 'pach' });
  try {
    expect(await isRunning()).toBe(true);
    state.mode = 'full';
    expect(await isRunning()).toBe(true);
    state.mode = 'paused';
    expect(await isRunning()).toBe(false);
    state.mode = null;
    state.terminating = true;
    expect(await isRunning()).toBe(false);
    state.terminating = false;
    state.ready = 0;
    expect(await isRunning()).toBe(false);
    expect(await kubeRunningProbe({ url, namespace: 'other' })()).toBe(false);
    state.fail = true;
    await expect(isRunning()).rejects.toThrow(/HTTP 500/);
  } finally {
    server.close();
  }
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}
