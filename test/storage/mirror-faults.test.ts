/**
 * The mirror under a misbehaving server: Ceph RGW behind the fault-injecting proxy (503 SlowDown, resets
 * before and after the server did the work, delays). Every object must arrive whole, none twice as far as
 * the client knows, with the back-off in the log; a fault that outlasts the retries fails with the key
 * and the server's words, and the rerun copies only what is left.
 */
import { changedObjectKey } from '../../src/storage/layout.ts';
import { type MirrorOptions, mirrorBucket } from '../../src/storage/mirror/mirror-bucket.ts';
import { type Bucket, openBucket } from '../../src/storage/s3.ts';
import type { FaultProxy } from '../harness/fault-proxy.ts';
import {
  listAll,
  putAll,
  type Server,
  smallObjects,
  useFaultProxy,
  useStorageServers,
} from './s3-fixtures.ts';

const servers = useStorageServers({ s3rver: false });
const faultProxy = useFaultProxy(servers.rgw, { seed: 42 });
let rgw: Server;
let proxy: FaultProxy;

beforeAll(() => {
  rgw = servers.rgw();
  proxy = faultProxy();
});

/** A bucket on RGW, seen by src/ through the proxy. */
async function bucketBehindProxy(prefix: string): Promise<Bucket> {
  return servers.newBucket(rgw, prefix, proxy.endpoint);
}

function recordingLog() {
  const warnings: string[] = [];
  const log = {
    warn: (fields: object, message: string) => void warnings.push(`${message} ${JSON.stringify(fields)}`),
    info: () => undefined,
  } as unknown as MirrorOptions['log'];
  return { log, warnings };
}

const isCopy = (r: { operation: string }) => r.operation === 'CopyObject';

test('under 503s, errors in 200s, resets and delays every object arrives whole, none is copied twice, and the back-off is logged', async () => {
  const source = await bucketBehindProxy('flt-src');
  const target = await bucketBehindProxy('flt-dst');
  const objects = smallObjects(400, [100, 3000]);
  await putAll(rgw, source.name, objects);
  proxy.setFaults({
    slowDown: { probability: 0.15, match: isCopy },
    errorIn200: { probability: 0.04, match: isCopy },
    resetBeforeForward: { probability: 0.04, match: isCopy },
    resetAfterUpstream: { probability: 0.03, match: isCopy },
    delay: { probability: 1, ms: [0, 15] },
  });
  const { log, warnings } = recordingLog();

  let result: Awaited<ReturnType<typeof mirrorBucket>>;
  try {
    result = await mirrorBucket({ source, target, changedKeyFor: changedObjectKey, concurrency: 32, log });
  } finally {
    proxy.setFaults({
      slowDown: undefined,
      errorIn200: undefined,
      resetBeforeForward: undefined,
      resetAfterUpstream: undefined,
      delay: undefined,
    });
  }

  expect(proxy.stats.faults.slowDown).toBeGreaterThan(10);
  expect(proxy.stats.faults.resetAfterUpstream).toBeGreaterThan(0);
  // a 200 carrying an <Error> is a failure: those copies were made again, not counted as done
  expect(proxy.stats.faults.errorIn200).toBeGreaterThan(0);
  expect(result).toMatchObject({ listed: 400, copied: 400, vanished: 0 });
  expect(result.pushBacks).toBeGreaterThan(10);
  expect(result.lowestConcurrency).toBeLessThan(32);
  expect(warnings.some((w) => w.includes('S3 pushed back'))).toBe(true);
  const landed = await listAll(rgw, target.name);
  expect(new Map([...landed].map(([key, o]) => [key, o.size]))).toEqual(
    new Map(objects.map((o) => [o.key, o.body.length])),
  );
  expect(proxy.stats.keysWrittenMoreThanOnce().filter((w) => w.bucket === target.name)).toEqual([]);
  expect(
    await mirrorBucket({ source, target, changedKeyFor: changedObjectKey, concurrency: 32 }),
  ).toMatchObject({
    copied: 0,
  });
});

test('a fault that outlasts the retries fails with the key and the server’s words; the rerun copies only the rest', async () => {
  const source = await bucketBehindProxy('flt2-src');
  const target = await bucketBehindProxy('flt2-dst');
  const objects = smallObjects(120, [100, 500]);
  await putAll(rgw, source.name, objects);
  const stubborn = [...objects].sort((a, b) => (a.key < b.key ? -1 : 1))[60]!.key;
  proxy.setFaults({ slowDown: { probability: 1, match: (r) => isCopy(r) && r.key === stubborn } });

  // one whole-copy attempt (the SDK still retries each request 5 times): the default 4 take a minute
  const error = await mirrorBucket({
    source,
    target,
    changedKeyFor: changedObjectKey,
    concurrency: 8,
    copyAttempts: 1,
  }).catch((e: unknown) => e as Error);
  proxy.setFaults({ slowDown: undefined });

  expect(error).toBeInstanceOf(Error);
  expect((error as Error).message).toContain(stubborn);
  expect((error as Error).message).toMatch(/SlowDown.*Please reduce your request rate/);
  const before = await listAll(rgw, target.name);
  expect(before.has(stubborn)).toBe(false);

  const rerun = await mirrorBucket({ source, target, changedKeyFor: changedObjectKey, concurrency: 8 });

  expect(rerun.copied).toBe(120 - before.size);
  expect((await listAll(rgw, target.name)).size).toBe(120);
  expect(proxy.stats.keysWrittenMoreThanOnce().filter((w) => w.bucket === target.name)).toEqual([]);
});

test('a range whose listing fails stops the other ranges: no copy outlives the failed mirror', async () => {
  const source = await bucketBehindProxy('flt3-src');
  const target = await bucketBehindProxy('flt3-dst');
  await putAll(rgw, source.name, smallObjects(240, [100, 500]));
  const ranges = [{ upTo: 'chunk/5' }, { after: 'chunk/5', upTo: 'chunk/a' }, { after: 'chunk/a' }];
  // the middle range's listing of the target is refused (501: not retried); the others copy slowly
  proxy.setFaults({
    notImplemented: {
      match: (r) =>
        r.operation === 'ListObjectsV2' &&
        r.bucket === target.name &&
        r.query.get('start-after') === 'chunk/5',
    },
    delay: { match: isCopy, ms: 40 },
  });
  const writes = () => proxy.stats.writes.filter((w) => w.bucket === target.name).length;
  try {
    const error = await mirrorBucket({
      source,
      target,
      changedKeyFor: changedObjectKey,
      concurrency: 4,
      ranges,
    }).catch((e: unknown) => e as Error);
    const atFailure = writes();
    await new Promise((resolve) => setTimeout(resolve, 1500));

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(`list ${target.name} after chunk/5 up to chunk/a`);
    // 160 objects in the other two ranges, 4 at a time, 40 ms each: they would still be copying
    expect(writes()).toBe(atFailure);
    expect(atFailure).toBeLessThan(160);
  } finally {
    proxy.setFaults({ notImplemented: undefined, delay: undefined });
  }
});

test('a server that accepts requests and never answers fails the mirror with a timeout instead of holding it', async () => {
  const source = await bucketBehindProxy('flt4-src');
  await putAll(rgw, source.name, smallObjects(5, [10, 20]));
  const target = await bucketBehindProxy('flt4-dst');
  // the source's requests wait a minute at the proxy; this client gives up on a socket silent for 300 ms
  const silentSource = servers.track(openBucket({ ...source.target, idleTimeoutSeconds: 0.3 }));
  proxy.setFaults({ delay: { match: (r) => r.bucket === source.name, ms: 60_000 } });
  try {
    const error = await mirrorBucket({
      source: silentSource,
      target,
      changedKeyFor: changedObjectKey,
      concurrency: 4,
    }).catch((e: unknown) => e as Error);

    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/timed out after 300 ms of inactivity/);
    expect((error as Error).message).toContain(source.name);
  } finally {
    proxy.setFaults({ delay: undefined });
  }
});
