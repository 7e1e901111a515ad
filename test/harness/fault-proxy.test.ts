/** The fault proxy (fault-proxy.ts) in front of the run's RGW and an in-process s3rver. */
import { Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { type FaultProxy, type FaultProxyOptions, startFaultProxy } from './fault-proxy.ts';
import { findFreePort } from './free-port.ts';
import type { S3Target } from './s3-client.ts';
import { copyPartThenUpload, getBytes, MiB, md5Hex, putBytes, randomBody } from './s3-exercise.ts';
import { type S3rverServer, startS3rver } from './s3rver.ts';
import { stackEnv, uniqueName } from './stack-env.ts';

const env = stackEnv();

interface Upstream extends S3Target {
  createBucket(name: string): Promise<void>;
}

let s3rver: S3rverServer;
const proxies: FaultProxy[] = [];
const clients: S3Client[] = [];

beforeAll(async () => {
  s3rver = await startS3rver();
});

afterAll(async () => {
  await s3rver?.stop();
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.stop()));
});

/** An S3 client for target's credentials at endpoint, with the settings RGW and s3rver need. */
function clientFor(target: S3Target, endpoint: string, maxAttempts: number, agent?: Agent): S3Client {
  const client = new S3Client({
    endpoint,
    region: target.region,
    forcePathStyle: true,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts,
    ...(agent ? { requestHandler: { httpAgent: agent } } : {}),
  });
  clients.push(client);
  return client;
}

/** What a failed request showed the client: the SDK error's name, HTTP status and message. */
async function errorOf(
  promise: Promise<unknown>,
): Promise<{ name: string; status?: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    const { name, message, $metadata } = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name, status: $metadata?.httpStatusCode, message };
  }
  throw new Error('expected the request to fail');
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 5000) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// RGW's tests are left out, like stack.test.ts's, when the run has no RGW (PACHOPS_TEST_RGW=0)
const upstreams: [string, () => Upstream][] = [
  ...(env.rgw ? [['RGW', () => env.rgw!] as [string, () => Upstream]] : []),
  ['s3rver', () => s3rver],
];

describe.each(upstreams)('through the proxy to %s', (_name, upstreamOf) => {
  let upstream: Upstream;
  let bucket: string;
  let direct: S3Client;

  beforeAll(async () => {
    upstream = upstreamOf();
    bucket = uniqueName('fp');
    await upstream.createBucket(bucket);
  });

  beforeEach(() => {
    direct = clientFor(upstream, upstream.endpoint, 1);
  });

  async function open(options: FaultProxyOptions, maxAttempts: number, agent?: Agent) {
    const proxy = await startFaultProxy(upstream.endpoint, options);
    proxies.push(proxy);
    return { proxy, client: clientFor(upstream, proxy.endpoint, maxAttempts, agent) };
  }

  test('passes requests through: keys with spaces, unicode, + and %, and a streamed 24 MiB body', async () => {
    const { proxy, client } = await open({}, 1);
    const keys = ['rt/a b  c', 'rt/ünï/日本語.txt', 'rt/x+y=z', 'rt/100%25 sure%', 'rt/plain'];
    for (const key of keys) await putBytes(client, bucket, key, Buffer.from(key));
    for (const key of keys) expect((await getBytes(client, bucket, key)).toString()).toBe(key);
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'rt/' }));
    expect((page.Contents ?? []).map((object) => object.Key).sort()).toEqual([...keys].sort());
    const big = randomBody(24 * MiB);
    await putBytes(client, bucket, 'rt/big', big);
    expect(md5Hex(await getBytes(client, bucket, 'rt/big'))).toBe(md5Hex(big));
    expect(md5Hex(await getBytes(direct, bucket, 'rt/big'))).toBe(md5Hex(big));
    const { stats } = proxy;
    expect(stats).toMatchObject({ seen: 13, forwarded: 13, upstreamErrors: 0, clientAborts: 0 });
    expect(stats.operations).toEqual({ PutObject: 6, GetObject: 6, ListObjectsV2: 1 });
    expect(stats.writes.map((write) => write.key)).toEqual([...keys, 'rt/big']);
    expect(stats.deliveredWrites(bucket, 'rt/ünï/日本語.txt')).toBe(1);
    expect(stats.connections).toBeLessThan(stats.seen);
  });

  test('slowDown: retried to success with maxAttempts 3; with 1 the SDK sees SlowDown, 503', async () => {
    const { proxy, client } = await open({ slowDown: { failFirst: 2 } }, 3);
    // a body the proxy refuses unread: it must drain it for the connection to be reused
    const body = randomBody(3 * MiB);
    await putBytes(client, bucket, 'slow/retried', body);
    expect(md5Hex(await getBytes(direct, bucket, 'slow/retried'))).toBe(md5Hex(body));
    expect(proxy.stats).toMatchObject({ seen: 3, forwarded: 1, faults: { slowDown: 2 } });
    const once = await open({ slowDown: { failFirst: 1 } }, 1);
    const error = await errorOf(putBytes(once.client, bucket, 'slow/failed', Buffer.from('x')));
    expect(error).toMatchObject({ name: 'SlowDown', status: 503 });
    expect(once.proxy.stats.forwarded).toBe(0);
  });

  test('tooMany: 429, retried as throttling', async () => {
    const { proxy, client } = await open({ tooMany: { failFirst: 1 } }, 2);
    await putBytes(client, bucket, 'many/retried', Buffer.from('x'));
    expect(proxy.stats.faults.tooMany).toBe(1);
    proxy.setFaults({ tooMany: { probability: 1 } });
    const once = clientFor(upstream, proxy.endpoint, 1);
    expect(await errorOf(getBytes(once, bucket, 'many/retried'))).toMatchObject({ status: 429 });
  });

  test('resetBeforeForward: the connection is reset and the SDK retries to success', async () => {
    await putBytes(direct, bucket, 'reset/before', Buffer.from('before'));
    const { proxy, client } = await open({ resetBeforeForward: { failFirst: 1 } }, 2);
    expect((await getBytes(client, bucket, 'reset/before')).toString()).toBe('before');
    expect(proxy.stats).toMatchObject({
      seen: 2,
      forwarded: 1,
      faults: { resetBeforeForward: 1 },
      clientAborts: 0,
    });
    proxy.setFaults({ resetBeforeForward: { failFirst: 1 } });
    const once = clientFor(upstream, proxy.endpoint, 1);
    expect(await errorOf(getBytes(once, bucket, 'reset/before'))).toMatchObject({
      message: expect.stringContaining('ECONNRESET'),
    });
  });

  test('resetAfterUpstream: the PUT is done although the client saw an error', async () => {
    const { proxy, client } = await open({ resetAfterUpstream: { failFirst: 1 } }, 1);
    const body = randomBody(3 * MiB);
    expect(await errorOf(putBytes(client, bucket, 'reset/after', body))).toMatchObject({
      message: expect.stringContaining('ECONNRESET'),
    });
    const head = await direct.send(new HeadObjectCommand({ Bucket: bucket, Key: 'reset/after' }));
    expect(head.ContentLength).toBe(body.length);
    expect(proxy.stats).toMatchObject({ faults: { resetAfterUpstream: 1 }, clientAborts: 0 });
    expect(proxy.stats.writes).toEqual([
      { operation: 'PutObject', bucket, key: 'reset/after', status: 200, delivered: false },
    ]);
    expect(proxy.stats.deliveredWrites(bucket, 'reset/after')).toBe(0);
  });

  test('match targets CopyObject only; setFaults lifts the fault', async () => {
    const isCopy = ({ operation }: { operation: string }) => operation === 'CopyObject';
    const { proxy, client } = await open({ slowDown: { match: isCopy } }, 1);
    await putBytes(client, bucket, 'copy/source', Buffer.from('source'));
    const copy = new CopyObjectCommand({
      Bucket: bucket,
      Key: 'copy/target',
      CopySource: encodeURI(`${bucket}/copy/source`),
    });
    expect(await errorOf(client.send(copy))).toMatchObject({ name: 'SlowDown', status: 503 });
    proxy.setFaults({ slowDown: undefined });
    await client.send(copy);
    expect((await getBytes(direct, bucket, 'copy/target')).toString()).toBe('source');
    expect(proxy.stats.faults.slowDown).toBe(1);
    expect(proxy.stats.deliveredWrites(bucket, 'copy/target', 'CopyObject')).toBe(1);
  });

  test('notImplemented on UploadPartCopy: NotImplemented, 501', async () => {
    const { proxy, client } = await open(
      { notImplemented: { match: ({ operation }) => operation === 'UploadPartCopy' } },
      3,
    );
    await putBytes(client, bucket, 'ni/source', Buffer.from('source'));
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'ni/target' }),
    );
    const partCopy = new UploadPartCopyCommand({
      Bucket: bucket,
      Key: 'ni/target',
      UploadId,
      PartNumber: 1,
      CopySource: encodeURI(`${bucket}/ni/source`),
    });
    expect(await errorOf(client.send(partCopy))).toMatchObject({ name: 'NotImplemented', status: 501 });
    // not retried: 501 is neither throttling nor transient for the SDK
    expect(proxy.stats).toMatchObject({ seen: 3, forwarded: 2, faults: { notImplemented: 1 } });
    expect(proxy.stats.operations).toEqual({ PutObject: 1, CreateMultipartUpload: 1, UploadPartCopy: 1 });
  });

  test('deliveredWrites and keysWrittenMoreThanOnce count what the client learnt it wrote', async () => {
    const { proxy, client } = await open({}, 1);
    await putBytes(client, bucket, 'dw/twice', Buffer.from('1'));
    await putBytes(client, bucket, 'dw/twice', Buffer.from('2'));
    await putBytes(client, bucket, 'dw/once', Buffer.from('1'));
    const copySource = encodeURI(`${bucket}/dw/once`);
    await client.send(new CopyObjectCommand({ Bucket: bucket, Key: 'dw/twice', CopySource: copySource }));
    const { stats } = proxy;
    expect(stats.deliveredWrites(bucket, 'dw/twice')).toBe(3);
    expect(stats.deliveredWrites(bucket, 'dw/twice', 'PutObject')).toBe(2);
    expect(stats.deliveredWrites(bucket, 'dw/once')).toBe(1);
    expect(stats.deliveredWrites(bucket, 'dw/never')).toBe(0);
    expect(stats.keysWrittenMoreThanOnce()).toEqual([
      { operation: 'PutObject', bucket, key: 'dw/twice', count: 2 },
    ]);
  });

  test('64 requests in flight at once, on keep-alive connections, with delays', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    // long enough for all 64 to arrive before the first is answered
    const { proxy, client } = await open({ delay: { ms: [200, 300] } }, 1, agent);
    const keys = Array.from({ length: 64 }, (_, index) => `many/${index}`);
    await Promise.all(keys.map((key) => putBytes(client, bucket, key, Buffer.from(key))));
    const bodies = await Promise.all(keys.map((key) => getBytes(client, bucket, key)));
    expect(bodies.map(String)).toEqual(keys);
    expect(proxy.stats).toMatchObject({ seen: 128, forwarded: 128, faults: { delay: 128 }, maxInFlight: 64 });
    expect(proxy.stats.connections).toBeLessThanOrEqual(64);
    agent.destroy();
  });

  test('survives a client that leaves during a delay', async () => {
    const { proxy, client } = await open({ delay: { ms: 300 } }, 1);
    const get = new GetObjectCommand({ Bucket: bucket, Key: 'abort/slow' });
    const controller = new AbortController();
    const aborted = client.send(get, { abortSignal: controller.signal });
    await waitFor(() => proxy.stats.seen === 1);
    controller.abort();
    expect(await errorOf(aborted)).toMatchObject({ name: 'AbortError' });
    // past the delay: the proxy must then drop the request rather than forward it
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(proxy.stats).toMatchObject({ seen: 1, forwarded: 0, clientAborts: 1, inFlight: 0 });
    proxy.setFaults({ delay: undefined });
    await putBytes(client, bucket, 'abort/after-delay', Buffer.from('ok'));
  });

  test('survives a client that leaves in mid-body', async () => {
    // more than loopback's socket buffers (tcp_rmem 32 MiB + tcp_wmem 4 MiB) can hold, so that the
    // client leaves while the proxy is still sending
    await putBytes(direct, bucket, 'abort/big', randomBody(64 * MiB));
    const { proxy, client } = await open({}, 1);
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'abort/big' }));
    const stream = response.Body as NodeJS.ReadableStream & { destroy(): void };
    await new Promise((resolve) => stream.once('data', resolve));
    stream.destroy();
    await waitFor(() => proxy.stats.inFlight === 0);
    expect(proxy.stats).toMatchObject({ forwarded: 1, clientAborts: 1 });
    await putBytes(client, bucket, 'abort/after-body', Buffer.from('ok'));
  });

  test('answers 502 when the upstream is down, and keeps serving', async () => {
    const proxy = await startFaultProxy(`http://127.0.0.1:${await findFreePort()}`);
    proxies.push(proxy);
    const client = clientFor(upstream, proxy.endpoint, 1);
    for (const key of ['down/1', 'down/2']) {
      expect(await errorOf(getBytes(client, bucket, key))).toMatchObject({ status: 502 });
    }
    expect(proxy.stats.upstreamErrors).toBe(2);
  });

  test('a seed makes probabilistic faults repeatable', async () => {
    await putBytes(direct, bucket, 'seed/x', Buffer.from('x'));
    const outcomes = async () => {
      const { client } = await open({ seed: 42, slowDown: { probability: 0.5 } }, 1);
      const results: string[] = [];
      for (let i = 0; i < 24; i += 1) {
        const head = client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'seed/x' }));
        results.push(await head.then(() => 'ok').catch(() => 'fault'));
      }
      return results.join(' ');
    };
    const first = await outcomes();
    expect(first).toContain('ok');
    expect(first).toContain('fault');
    expect(await outcomes()).toBe(first);
  });
});

test('an upstream failing mid-body cuts the response short, counted as an upstream error', async () => {
  const upstream = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': '1000' });
    res.write('x'.repeat(100), () => res.destroy());
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  try {
    const proxy = await startFaultProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
    proxies.push(proxy);
    const response = await fetch(`${proxy.endpoint}/bucket/key`);
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
    await waitFor(() => proxy.stats.inFlight === 0);
    expect(proxy.stats).toMatchObject({ seen: 1, forwarded: 1, upstreamErrors: 1, clientAborts: 0 });
  } finally {
    upstream.closeAllConnections();
    upstream.close();
  }
});

const describeRgw = env.rgw ? describe : describe.skip;

describeRgw('through the proxy to RGW only', () => {
  test('signatures are still checked: a wrong secret gets SignatureDoesNotMatch', async () => {
    const rgw = env.rgw!;
    const proxy = await startFaultProxy(rgw.endpoint);
    proxies.push(proxy);
    const client = clientFor({ ...rgw, secretAccessKey: 'wrong' }, proxy.endpoint, 1);
    const list = client.send(new ListObjectsV2Command({ Bucket: 'any' }));
    expect(await errorOf(list)).toMatchObject({ name: 'SignatureDoesNotMatch', status: 403 });
  });

  test('UploadPartCopy is counted per part of each upload', async () => {
    const rgw = env.rgw!;
    const bucket = uniqueName('fp-parts');
    await rgw.createBucket(bucket);
    const proxy = await startFaultProxy(rgw.endpoint);
    proxies.push(proxy);
    const client = clientFor(rgw, proxy.endpoint, 1);
    await putBytes(client, bucket, 'source', randomBody(5 * MiB));
    await copyPartThenUpload(client, bucket, 'source', 'target', randomBody(MiB));
    await copyPartThenUpload(client, bucket, 'source', 'target', randomBody(MiB));
    const { stats } = proxy;
    expect(stats.operations).toEqual({
      PutObject: 1,
      ...{ CreateMultipartUpload: 2, UploadPartCopy: 2, UploadPart: 2, CompleteMultipartUpload: 2 },
      HeadObject: 2,
    });
    expect(stats.deliveredWrites(bucket, 'target', 'UploadPartCopy')).toBe(2);
    expect(stats.deliveredWrites(bucket, 'target')).toBe(2);
    expect(stats.keysWrittenMoreThanOnce()).toEqual([
      { operation: 'CompleteMultipartUpload', bucket, key: 'target', count: 2 },
    ]);
    expect(stats.writes.find((write) => write.operation === 'UploadPartCopy')).toMatchObject({
      partNumber: 1,
      uploadId: expect.any(String),
    });
  });
});
