/**
 * uploadStream, the streamed writer of dumps, object lists and cross-endpoint copies, on Ceph RGW (its
 * 5 MiB minimum part size and real multipart ETags) and s3rver: what arrives is byte for byte what was
 * streamed, however the stream is cut; a failed or aborted upload leaves no object and no open upload.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { HeadObjectCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import type { Bucket } from '../../src/storage/s3.ts';
import { uploadStream } from '../../src/storage/upload.ts';
import type { FaultProxy } from '../harness/fault-proxy.ts';
import {
  countCommands,
  listAll,
  MiB,
  type Server,
  sha256,
  sha256Of,
  useFaultProxy,
  useStorageServers,
} from './s3-fixtures.ts';

const servers = useStorageServers();
const PART = 5 * MiB;

/** `body` cut into pieces of sizes cycling through `sizes`, as a pipe would deliver it. */
function pieces(body: Buffer, sizes = [1, 65_536, 4097, 1_000_003]): Readable {
  const out: Buffer[] = [];
  for (let offset = 0, i = 0; offset < body.length; i++) {
    const size = sizes[i % sizes.length]!;
    out.push(body.subarray(offset, offset + size));
    offset += size;
  }
  return Readable.from(out);
}

async function openUploads(server: Server, bucket: string): Promise<number> {
  const listed = await server.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return listed.Uploads?.length ?? 0;
}

async function etagOf(server: Server, bucket: string, key: string): Promise<string> {
  const head = await server.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return head.ETag!.replaceAll('"', '');
}

describe.each(['rgw', 's3rver'] as const)('on %s', (name) => {
  let server: Server;
  let bucket: Bucket;
  beforeAll(async () => {
    server = servers[name]();
    bucket = await servers.newBucket(server, `upl-${name}`);
  });

  test.each([
    ['empty', 0, 'PutObjectCommand', undefined],
    ['under one part', PART - 1, 'PutObjectCommand', undefined],
    ['exactly two parts', 2 * PART, 'UploadPartCommand', 2],
    ['two and a half parts', 2 * PART + PART / 2 + 7, 'UploadPartCommand', 3],
  ])('%s: stored byte for byte, in the parts expected', async (label, size, command, parts) => {
    const body = randomBytes(size);
    const key = `dumps/${label.replaceAll(' ', '-')}.dump`;
    const counts = countCommands(bucket);

    await uploadStream(bucket, key, pieces(body), { partSize: PART, metadata: { source: 'test' } });

    expect(await sha256Of(server, bucket.name, key)).toBe(sha256(body));
    expect((await listAll(server, bucket.name)).get(key)?.size).toBe(size);
    expect(counts.get(command)).toBe(parts ?? 1);
    if (parts && name === 'rgw')
      expect(await etagOf(server, bucket.name, key)).toMatch(new RegExp(`-${parts}$`));
    if (!parts) expect(counts.get('CreateMultipartUploadCommand')).toBeUndefined();
  });
});

describe('failures', () => {
  const faultProxy = useFaultProxy(servers.rgw, { seed: 7 });
  let proxy: FaultProxy;
  let rgw: Server;
  beforeAll(() => {
    rgw = servers.rgw();
    proxy = faultProxy();
  });

  test('a stream that fails after two parts stores nothing and leaves no open upload', async () => {
    const bucket = await servers.newBucket(rgw, 'upl-fail');
    const body = randomBytes(2 * PART + 1000);
    const failing = Readable.from(
      (async function* () {
        yield body;
        throw new Error('pg_dump: connection lost');
      })(),
    );

    await expect(uploadStream(bucket, 'db/broken.dump', failing, { partSize: PART })).rejects.toThrow(
      'pg_dump: connection lost',
    );

    expect((await listAll(rgw, bucket.name)).size).toBe(0);
    expect(await openUploads(rgw, bucket.name)).toBe(0);
  });

  test('an abort mid-upload stops reading, stores nothing and leaves no open upload', async () => {
    const bucket = await servers.newBucket(rgw, 'upl-abort');
    const controller = new AbortController();
    let read = 0;
    const endless = new Readable({
      read() {
        read += MiB;
        if (read === 12 * MiB) controller.abort(new Error('aborted from Slack'));
        this.push(randomBytes(MiB));
      },
    });

    await expect(
      uploadStream(bucket, 'db/aborted.dump', endless, { partSize: PART, signal: controller.signal }),
    ).rejects.toThrow();

    expect(endless.destroyed).toBe(true);
    expect(read).toBeLessThan(20 * MiB);
    expect((await listAll(rgw, bucket.name)).size).toBe(0);
    expect(await openUploads(rgw, bucket.name)).toBe(0);
  });

  test('parts answered 503 SlowDown are sent again and the object is whole', async () => {
    const bucket = await servers.newBucket(rgw, 'upl-slow', proxy.endpoint);
    const body = randomBytes(3 * PART + 11);
    proxy.setFaults({ slowDown: { failFirst: 2, match: (request) => request.operation === 'UploadPart' } });
    try {
      await uploadStream(bucket, 'db/slow.dump', pieces(body), { partSize: PART });
    } finally {
      proxy.setFaults({ slowDown: undefined });
    }
    expect(await sha256Of(rgw, bucket.name, 'db/slow.dump')).toBe(sha256(body));
    expect(await etagOf(rgw, bucket.name, 'db/slow.dump')).toMatch(/-4$/);
  });

  test('a part refused beyond the retries fails the upload with the server’s words and aborts it', async () => {
    const bucket = await servers.newBucket(rgw, 'upl-refused', proxy.endpoint);
    proxy.setFaults({ slowDown: { match: (request) => request.operation === 'UploadPart' } });
    try {
      await expect(
        uploadStream(bucket, 'db/refused.dump', pieces(randomBytes(2 * PART + 5)), { partSize: PART }),
      ).rejects.toThrow(/upload db\/refused\.dump to .*SlowDown.*reduce your request rate/);
    } finally {
      proxy.setFaults({ slowDown: undefined });
    }
    expect((await listAll(rgw, bucket.name)).size).toBe(0);
    expect(await openUploads(rgw, bucket.name)).toBe(0);
  });
});
