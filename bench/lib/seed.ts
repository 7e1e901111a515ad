/** Fills benchmark buckets fast: Pachyderm-like chunk objects, PUT with many requests in flight. */
import { randomBytes, randomInt } from 'node:crypto';
import { Readable } from 'node:stream';
import { CopyObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { runPool } from './pool.ts';

/** What was written: the object count and their total size. */
export interface Seeded {
  objects: number;
  bytes: number;
}

/** A key shaped like Pachyderm's chunk objects: `chunk/<64 hex>.<16 hex>`. */
export function chunkKey(): string {
  return `chunk/${randomBytes(32).toString('hex')}.${randomInt(1, 2 ** 40)
    .toString(16)
    .padStart(16, '0')}`;
}

const POOL = randomBytes(1024 * 1024);

/** `size` bytes of incompressible data (a slice of a random pool at a random offset). */
function chunkBody(size: number): Buffer {
  const offset = randomInt(0, POOL.length - size + 1);
  return POOL.subarray(offset, offset + size);
}

export interface SeedSmallOptions {
  count: number;
  /** Sizes are uniform in [min, max] bytes. */
  minBytes: number;
  maxBytes: number;
  inFlight?: number;
}

/** PUTs `count` chunk objects of random sizes into `bucket`. */
export async function seedChunks(
  client: S3Client,
  bucket: string,
  options: SeedSmallOptions,
): Promise<Seeded> {
  const seeded: Seeded = { objects: 0, bytes: 0 };
  const sizes = Array.from({ length: options.count }, () =>
    randomInt(options.minBytes, options.maxBytes + 1),
  );
  await runPool(sizes, options.inFlight ?? 48, async (size) => {
    const body = chunkBody(size);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: chunkKey(), Body: body }));
    seeded.objects++;
    seeded.bytes += size;
  });
  return seeded;
}

/** A stream of `bytes` random-looking bytes, produced 1 MiB at a time (nothing large held in memory). */
function largeBody(bytes: number): Readable {
  let left = bytes;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const size = Math.min(left, POOL.length);
      left -= size;
      this.push(Buffer.from(POOL.subarray(0, size)));
    },
  });
}

/** PUTs `count` objects of `bytes` each (streamed, single PUT) under `large/`; returns their keys. */
export async function seedLarge(
  client: S3Client,
  bucket: string,
  count: number,
  bytes: number,
): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, i) => `large/${i}-${randomBytes(8).toString('hex')}`);
  await runPool(keys, 2, async (key) => {
    await client.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: largeBody(bytes), ContentLength: bytes }),
    );
  });
  return keys;
}

/** Server-side copies of `keys` from one bucket to another (the same key), `inFlight` at a time. */
export async function copyKeys(
  client: S3Client,
  from: string,
  to: string,
  keys: Iterable<string>,
  inFlight = 16,
): Promise<void> {
  await runPool(keys, inFlight, async (key) => {
    await client.send(
      new CopyObjectCommand({ Bucket: to, Key: key, CopySource: encodeURI(`${from}/${key}`) }),
    );
  });
}

/** PUTs `count` tiny (`bytes` long, default 1) chunk objects, many in flight: for listing-heavy figures. */
export async function seedTiny(
  client: S3Client,
  bucket: string,
  count: number,
  options: { bytes?: number; inFlight?: number; onProgress?: (done: number) => void } = {},
): Promise<Seeded> {
  let done = 0;
  const body = Buffer.alloc(options.bytes ?? 1, 120);
  const items = Array.from({ length: count }, (_, i) => i);
  await runPool(items, options.inFlight ?? 96, async () => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: chunkKey(), Body: body }));
    done++;
    if (done % 10_000 === 0) options.onProgress?.(done);
  });
  return { objects: count, bytes: count * body.length };
}
