/**
 * Chunk objects the way Pachyderm writes them (src/internal/storage/chunk): content-addressed random
 * bytes (like compressed, encrypted data), a storage.chunk_objects row inserted with uploaded=false,
 * the object PUT at `chunk/<hex(chunk_id)>.<gen as 16 hex digits>`, then the row marked uploaded.
 */
import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type pg from 'pg';

/** The bucket the simulated cluster writes to. */
export interface SimulatorS3 {
  client: S3Client;
  bucket: string;
}

/** One storage.chunk_objects row and the key its object has (or would have). */
export interface ChunkRow {
  key: string;
  chunkId: string;
  gen: number;
  size: number;
  uploaded: boolean;
  tombstone: boolean;
  /** Whether an object exists in the bucket for this row. */
  hasObject: boolean;
}

/** The object key of (chunk_id, gen). */
export function chunkKey(chunkId: Buffer, gen: number | bigint | string): string {
  return `chunk/${chunkId.toString('hex')}.${BigInt(gen).toString(16).padStart(16, '0')}`;
}

/** A 32-byte content hash (BLAKE2b-512 truncated to 256 bits). */
export function hashChunk(data: Buffer): Buffer {
  return createHash('blake2b512').update(data).digest().subarray(0, 32);
}

/** Random chunk bytes of a size in [min, max]. */
export function makeChunkData([min, max]: readonly [number, number]): Buffer {
  return randomBytes(randomInt(min, max + 1));
}

export interface WriteChunkOptions {
  /** Leave the row uploaded=false with no object (a crash between insert and upload). Default true. */
  upload?: boolean;
  /** Mark the row tombstoned afterwards (chunk GC's first step); deleteObject: GC's second step too. */
  tombstone?: 'keepObject' | 'deleteObject';
}

/** Writes one chunk: insert (uploaded=false) → PutObject → update uploaded=true. */
export async function writeChunk(
  db: pg.Pool | pg.ClientBase,
  s3: SimulatorS3,
  data: Buffer,
  opts: WriteChunkOptions = {},
): Promise<ChunkRow> {
  const chunkId = hashChunk(data);
  const inserted = await db.query<{ gen: string }>(
    'INSERT INTO storage.chunk_objects (chunk_id, size) VALUES ($1, $2) RETURNING gen',
    [chunkId, data.length],
  );
  const gen = Number(inserted.rows[0]!.gen);
  const row: ChunkRow = {
    key: chunkKey(chunkId, gen),
    chunkId: chunkId.toString('hex'),
    gen,
    size: data.length,
    uploaded: false,
    tombstone: false,
    hasObject: false,
  };
  if (opts.upload === false) return row;
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: row.key, Body: data }));
  row.hasObject = true;
  await db.query('UPDATE storage.chunk_objects SET uploaded = TRUE WHERE chunk_id = $1 AND gen = $2', [
    chunkId,
    gen,
  ]);
  row.uploaded = true;
  await trackChunk(db, row.chunkId);
  if (opts.tombstone) await tombstoneChunk(db, s3, row, opts.tombstone === 'deleteObject');
  return row;
}

async function trackChunk(db: pg.Pool | pg.ClientBase, chunkIdHex: string): Promise<void> {
  await db.query('INSERT INTO storage.tracker_objects (str_id) VALUES ($1) ON CONFLICT (str_id) DO NOTHING', [
    `chunk/${chunkIdHex}`,
  ]);
}

async function tombstoneChunk(
  db: pg.Pool | pg.ClientBase,
  s3: SimulatorS3,
  row: ChunkRow,
  deleteObject: boolean,
) {
  await db.query('UPDATE storage.chunk_objects SET tombstone = TRUE WHERE chunk_id = $1 AND gen = $2', [
    Buffer.from(row.chunkId, 'hex'),
    row.gen,
  ]);
  row.tombstone = true;
  if (deleteObject) {
    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: row.key }));
    row.hasObject = false;
  }
}

/**
 * Records a commit on repo `images` whose fileset points at the given chunks (tracker refs), the
 * way a finished PFS commit references its data. Returns the commit id.
 */
export async function writeCommit(db: pg.Pool | pg.ClientBase, chunkIdsHex: string[]): Promise<string> {
  const filesetId = randomUUID();
  const commitId = randomUUID().replaceAll('-', '');
  await db.query('INSERT INTO storage.filesets (id, metadata_pb) VALUES ($1, $2)', [
    filesetId,
    randomBytes(64),
  ]);
  const fileset = await db.query<{ int_id: string }>(
    'INSERT INTO storage.tracker_objects (str_id) VALUES ($1) RETURNING int_id',
    [`fileset/${filesetId}`],
  );
  await db.query(
    `INSERT INTO storage.tracker_refs (from_id, to_id)
     SELECT $1, int_id FROM storage.tracker_objects WHERE str_id = ANY($2) ON CONFLICT DO NOTHING`,
    [fileset.rows[0]!.int_id, chunkIdsHex.map((id) => `chunk/${id}`)],
  );
  const commit = await db.query<{ int_id: string }>(
    `INSERT INTO pfs.commits (commit_id, commit_set_id, repo_id, branch_id_str, origin, start_time, finished_time, size)
     SELECT $1, $1, id, 'images@master', 'USER', now(), now(), $2 FROM pfs.repos WHERE name = 'images'
     RETURNING int_id`,
    [commitId, chunkIdsHex.length],
  );
  await db.query('INSERT INTO pfs.commit_diffs (commit_int_id, fileset_id) VALUES ($1, $2)', [
    commit.rows[0]!.int_id,
    filesetId,
  ]);
  return commitId;
}
