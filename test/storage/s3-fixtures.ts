/**
 * Buckets and objects for the storage tests: src/'s view of a bucket (openBucket, as the config loader
 * makes it) beside a test client for the test's own reads and writes.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { type Bucket, openBucket } from '../../src/storage/s3.ts';
import { type FaultProxy, type FaultProxyOptions, startFaultProxy } from '../harness/fault-proxy.ts';
import { makeS3Client, type S3Target } from '../harness/s3-client.ts';
import { startS3rver } from '../harness/s3rver.ts';
import { stackEnv, uniqueName } from '../harness/stack-env.ts';

export const MiB = 1024 * 1024;

export interface Server {
  target: S3Target;
  client: S3Client;
  createBucket(name: string): Promise<void>;
}

export interface Written {
  key: string;
  body: Buffer;
}

export function serverOf(target: S3Target & { createBucket(name: string): Promise<void> }): Server {
  return { target, client: makeS3Client(target), createBucket: (name) => target.createBucket(name) };
}

/** src/'s Bucket for `name` on `server`, reached at `endpoint` (a proxy in front of it) if given. */
export function openOn(server: Server, name: string, endpoint = server.target.endpoint): Bucket {
  return openBucket({
    bucket: name,
    endpoint,
    region: server.target.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.target.accessKeyId, secretAccessKey: server.target.secretAccessKey },
  });
}

/** The run's RGW and an s3rver of this file's own, and src/'s buckets opened on them, closed after all. */
export interface StorageServers {
  rgw(): Server;
  s3rver(): Server;
  /** A new bucket on `server`, opened as src/ opens it (reached at `endpoint`, a proxy, if given). */
  newBucket(server: Server, prefix: string, endpoint?: string): Promise<Bucket>;
  /** src/'s Bucket for an existing bucket, closed after all. */
  open(server: Server, name: string, endpoint?: string): Bucket;
  /** A Bucket opened otherwise, closed after all too. */
  track(bucket: Bucket): Bucket;
}

/** Registers beforeAll/afterAll that start (and stop) the servers a storage test file uses. */
export function useStorageServers(options: { s3rver?: boolean } = {}): StorageServers {
  let rgw: Server | undefined;
  let s3rver: (Server & { stop(): Promise<void> }) | undefined;
  const opened: Bucket[] = [];
  beforeAll(async () => {
    const env = stackEnv();
    if (!env.rgw) throw new Error('these tests need the run’s RGW (PACHOPS_TEST_RGW is 0)');
    rgw = serverOf(env.rgw);
    if (options.s3rver !== false) {
      const server = await startS3rver();
      s3rver = { ...serverOf(server), stop: () => server.stop() };
    }
  });
  afterAll(async () => {
    for (const bucket of opened) bucket.client.destroy();
    rgw?.client.destroy();
    s3rver?.client.destroy();
    await s3rver?.stop();
  });
  const track = (bucket: Bucket) => {
    opened.push(bucket);
    return bucket;
  };
  const open = (server: Server, name: string, endpoint?: string) => track(openOn(server, name, endpoint));
  return {
    rgw: () => rgw!,
    s3rver: () => s3rver!,
    open,
    track,
    newBucket: async (server, prefix, endpoint) =>
      open(server, await createBucketOn(server, prefix), endpoint),
  };
}

/**
 * Registers beforeAll/afterAll that start (and stop) a fault-injecting proxy in front of `server()`;
 * call it after useStorageServers. Tests read the proxy through the getter it returns.
 */
export function useFaultProxy(server: () => Server, options: FaultProxyOptions = {}): () => FaultProxy {
  let proxy: FaultProxy | undefined;
  beforeAll(async () => {
    proxy = await startFaultProxy(server().target.endpoint, options);
  });
  afterAll(() => proxy?.stop());
  return () => proxy!;
}

export async function createBucketOn(server: Server, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await server.createBucket(name);
  return name;
}

/** A Pachyderm-like chunk key. */
export function chunkKey(): string {
  const gen = Math.floor(Math.random() * 0xffff);
  return `chunk/${randomBytes(32).toString('hex')}.${gen.toString(16).padStart(16, '0')}`;
}

export function smallObjects(count: number, sizes: [number, number] = [1, 4096]): Written[] {
  return Array.from({ length: count }, () => ({
    key: chunkKey(),
    body: randomBytes(sizes[0] + Math.floor(Math.random() * (sizes[1] - sizes[0] + 1))),
  }));
}

export async function runLimited<T>(
  items: T[],
  limit: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export async function putAll(server: Server, bucket: string, objects: Written[]): Promise<void> {
  await runLimited(objects, 32, async ({ key, body }) => {
    await server.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  });
}

/** A multipart object (ETag `…-N`). */
export async function putMultipart(server: Server, bucket: string, key: string, body: Buffer): Promise<void> {
  await new Upload({
    client: server.client,
    params: { Bucket: bucket, Key: key, Body: body },
    partSize: 5 * MiB,
  }).done();
}

export async function deleteObject(server: Server, bucket: string, key: string): Promise<void> {
  await server.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

/** Every object as the server lists it, by key. */
export async function listAll(
  server: Server,
  bucket: string,
): Promise<Map<string, { size: number; etag: string }>> {
  const objects = new Map<string, { size: number; etag: string }>();
  let token: string | undefined;
  do {
    const page = await server.client.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? [])
      objects.set(o.Key!, { size: o.Size ?? -1, etag: (o.ETag ?? '').replaceAll('"', '') });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}

export async function metadataOf(
  server: Server,
  bucket: string,
  key: string,
): Promise<Record<string, string>> {
  return (await server.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).Metadata ?? {};
}

export async function sha256Of(server: Server, bucket: string, key: string): Promise<string> {
  const response = await server.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of response.Body as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

/**
 * Counts the commands a bucket's client sends, by name; the whole-object copies the mirror sends without
 * the SDK's command stack (send-copy.ts) count as `CopyObjectCommand` too, seen at its HTTP handler.
 */
export function countCommands(bucket: Bucket): Map<string, number> {
  const counts = new Map<string, number>();
  const add = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);
  bucket.client.middlewareStack.add(
    (next, context) => async (args) => {
      add(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize' },
  );
  const handler = bucket.client.config.requestHandler;
  const handle = handler.handle.bind(handler);
  handler.handle = (request, options) => {
    const headers = request.headers;
    // the SDK's own requests carry an invocation id (and were counted above)
    if (headers['x-amz-copy-source'] && !headers['amz-sdk-invocation-id'] && !request.query?.partNumber)
      add('CopyObjectCommand');
    return handle(request, options);
  };
  return counts;
}
