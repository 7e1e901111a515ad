/**
 * The Pachyderm simulator: a pachyderm database and a dex database with the real table shapes, a
 * bucket of chunk objects that matches storage.chunk_objects, and (workload.ts) a live writer that
 * keeps adding chunks while the simulated pachd runs (kube-probe.ts answers "is it running?").
 */
import pg from 'pg';
import { type ChunkRow, makeChunkData, type SimulatorS3, writeChunk, writeCommit } from './chunks.ts';
import { createDexSchema, createPachydermSchema } from './schema.ts';

export { type ChunkRow, chunkKey, type SimulatorS3 } from './chunks.ts';
export { type KubeProbeOptions, kubeRunningProbe } from './kube-probe.ts';
export { startWorkload, type Workload, type WorkloadOptions, type WorkloadStats } from './workload.ts';

export interface SeedOptions {
  pachydermDbUrl: string;
  dexDbUrl: string;
  s3: SimulatorS3;
  /** Live chunk objects (uploaded, not tombstoned) to write. Default 50. */
  objects?: number;
  /** Chunk sizes in bytes, inclusive. Default [4 KiB, 64 KiB]. */
  sizes?: [number, number];
  /** Rows left uploaded=false without an object. Default max(1, objects/20). */
  notUploaded?: number;
  /** Tombstoned rows (half still have their object, half not). Default max(2, objects/20). */
  tombstoned?: number;
  /** Parallel uploads. Default 8. */
  concurrency?: number;
}

export interface SeedResult {
  /** Every row written, in write order. */
  rows: ChunkRow[];
  /** The live rows: what the consistency query returns. */
  live: ChunkRow[];
  /** Objects in the bucket (live plus tombstoned-but-not-yet-deleted). */
  objectKeys: string[];
  bytes: number;
  commits: string[];
}

/** Creates the schemas and fills the databases and the (existing, empty) bucket. */
export async function seedPachyderm(opts: SeedOptions): Promise<SeedResult> {
  const objects = opts.objects ?? 50;
  const sizes = opts.sizes ?? [4 * 1024, 64 * 1024];
  const plan = planRows(objects, opts.notUploaded ?? Math.max(1, Math.floor(objects / 20)), opts.tombstoned);
  await withClient(opts.dexDbUrl, createDexSchema);
  const pool = new pg.Pool({
    connectionString: opts.pachydermDbUrl,
    max: Math.min(opts.concurrency ?? 8, 8),
  });
  try {
    const first = await pool.connect();
    try {
      await createPachydermSchema(first);
    } finally {
      first.release();
    }
    const rows = await runLimited(plan, opts.concurrency ?? 8, (writeOpts) =>
      writeChunk(pool, opts.s3, makeChunkData(sizes), writeOpts),
    );
    const live = rows.filter((row) => row.uploaded && !row.tombstone);
    const commits: string[] = [];
    for (let i = 0; i < live.length; i += 10) {
      commits.push(
        await writeCommit(
          pool,
          live.slice(i, i + 10).map((row) => row.chunkId),
        ),
      );
    }
    return {
      rows,
      live,
      objectKeys: rows.filter((row) => row.hasObject).map((row) => row.key),
      bytes: live.reduce((sum, row) => sum + row.size, 0),
      commits,
    };
  } finally {
    await pool.end();
  }
}

/** The keys and sizes the metadata needs (PACHYDERM.md's consistency query), sorted by key. */
export async function consistencyKeys(pachydermDbUrl: string): Promise<{ key: string; size: number }[]> {
  return withClient(pachydermDbUrl, async (client) => {
    const result = await client.query<{ key: string; size: string }>(`
      SELECT 'chunk/' || encode(chunk_id, 'hex') || '.' || lpad(to_hex(gen), 16, '0') AS key, size
      FROM storage.chunk_objects WHERE uploaded AND NOT tombstone ORDER BY key`);
    return result.rows.map((row) => ({ key: row.key, size: Number(row.size) }));
  });
}

type WriteOpts = Parameters<typeof writeChunk>[3];

/** Which rows to write: live ones, a few never uploaded, a few tombstoned; shuffled like real history. */
function planRows(objects: number, notUploaded: number, tombstoned?: number): WriteOpts[] {
  const dead = tombstoned ?? Math.max(2, Math.floor(objects / 20));
  const plan: WriteOpts[] = [
    ...Array.from({ length: objects }, () => ({})),
    ...Array.from({ length: notUploaded }, () => ({ upload: false })),
    ...Array.from({ length: dead }, (_, i) => ({
      tombstone: i % 2 ? ('deleteObject' as const) : ('keepObject' as const),
    })),
  ];
  for (let i = plan.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  return plan;
}

async function runLimited<T, R>(items: T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return results;
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}
