/**
 * The S3 servers a benchmark runs against, started on free ports by the test harness and stopped at the
 * end: Ceph RGW (the realistic one) and s3rver (in this process; a reference).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Target as BucketTarget } from '../../src/config/load.ts';
import { startRgw } from '../../test/harness/rgw.ts';
import { makeS3Client, type S3Target } from '../../test/harness/s3-client.ts';
import { startS3rver } from '../../test/harness/s3rver.ts';
import { ensureSystemPackages } from '../../test/harness/stack.ts';
import { guardDir } from './guard.ts';

export type ServerName = 'rgw' | 's3rver';

export interface BenchServer {
  name: ServerName;
  target: S3Target;
  /** A client for seeding and checking (not for the measured contenders). */
  client: S3Client;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Parses a comma-separated server list (`rgw,s3rver`). */
export function parseServers(value: string): ServerName[] {
  const names = value
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of names) {
    if (name !== 'rgw' && name !== 's3rver') throw new Error(`BENCH_SERVERS: unknown server ${name}`);
  }
  return names as ServerName[];
}

/** Starts one server; RGW installs its Debian packages first when missing. */
export async function startServer(name: ServerName): Promise<BenchServer> {
  if (name === 'rgw') await ensureSystemPackages(true);
  const server = name === 'rgw' ? await startRgw() : await startS3rver();
  const target: S3Target = {
    endpoint: server.endpoint,
    region: server.region,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    forcePathStyle: true,
  };
  const client = makeS3Client(target);
  const release = guardDir(server.dir);
  return {
    name,
    target,
    client,
    createBucket: (bucket) => server.createBucket(bucket),
    async stop() {
      client.destroy();
      await server.stop();
      release();
    },
  };
}

/** The project's configuration shape of one bucket on a server (what `openBucket()` takes). */
export function bucketTarget(target: S3Target, bucket: string): BucketTarget {
  return {
    bucket,
    endpoint: target.endpoint,
    region: target.region,
    forcePathStyle: true,
    credentials: { accessKeyId: target.accessKeyId, secretAccessKey: target.secretAccessKey },
  };
}

/** Runs `work` with a started server and stops it afterwards, whatever happens. */
export async function withServer<T>(name: ServerName, work: (server: BenchServer) => Promise<T>): Promise<T> {
  const server = await startServer(name);
  try {
    return await work(server);
  } finally {
    await server.stop();
  }
}
