/**
 * A throwaway Ceph RADOS Gateway (one mon, one OSD, radosgw, auth off, all on 127.0.0.1), started by
 * rgw/start-rgw.sh. RGW quirks (DESIGN.md): CompleteMultipartUpload answers an empty ETag (HEAD the
 * object), CopyObjectResult/CopyPartResult ETags are unquoted, `partNumber` on HEAD/GET is ignored.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { findFreePort } from './free-port.ts';
import { makeHarnessDir, readRecordedPids, removeHarnessDir, stopProcessesOf } from './harness-dir.ts';
import { createBucket, type S3Target } from './s3-client.ts';

export interface RgwServer extends S3Target {
  /** The cluster's directory: ceph.conf, log/, pids. */
  dir: string;
  /** mon, osd and radosgw pids. */
  pids: number[];
  createBucket(name: string): Promise<void>;
  /** Stops exactly the daemons it started and deletes the directory. */
  stop(): Promise<void>;
}

export interface StartRgwOptions {
  /**
   * The OSD's object store. memstore (default): data in RAM, about 2 s to start. bluestore: a sparse
   * file, about 5 s to start, RAM bounded by the OSD's cache. Default: $PACHOPS_TEST_RGW_STORE or memstore.
   */
  objectStore?: 'memstore' | 'bluestore';
}

const scripts = fileURLToPath(new URL('./rgw/', import.meta.url));

/** Starts a single-node RGW; installs the Debian packages first if missing (scripts/ensure-system.sh). */
export async function startRgw(opts: StartRgwOptions = {}): Promise<RgwServer> {
  const dir = await makeHarnessDir('rgw');
  const objectStore = opts.objectStore ?? readStoreFromEnv();
  const port = await findFreePort();
  const run = await execa('bash', [join(scripts, 'start-rgw.sh'), dir], {
    env: { OSD_OBJECTSTORE: objectStore, RGW_PORT: String(port) },
    all: true,
    reject: false,
    stdin: 'ignore',
  });
  if (run.exitCode !== 0) {
    await stopProcessesOf(dir, 2000);
    const tail = run.all.split('\n').slice(-15).join('\n');
    throw new Error(`RGW did not start (exit ${run.exitCode}); logs in ${join(dir, 'log')}:\n${tail}`);
  }
  const env = readEnvFile(join(dir, 'env'));
  const target: S3Target = {
    endpoint: env.RGW_ENDPOINT!,
    region: 'us-east-1',
    accessKeyId: env.RGW_ACCESS_KEY!,
    secretAccessKey: env.RGW_SECRET_KEY!,
    forcePathStyle: true,
  };
  return {
    ...target,
    dir,
    pids: readRecordedPids(dir),
    createBucket: (name) => createBucket(target, name),
    stop: () => stopRgw(dir),
  };
}

/** Stops the daemons of an RGW directory (also one left by an earlier run) and deletes it. */
export async function stopRgw(dir: string): Promise<void> {
  await execa('bash', [join(scripts, 'stop-rgw.sh'), dir], { reject: false, stdin: 'ignore' });
  await stopProcessesOf(dir, 2000);
  await removeHarnessDir(dir);
}

function readStoreFromEnv(): 'memstore' | 'bluestore' {
  const value = process.env.PACHOPS_TEST_RGW_STORE ?? 'memstore';
  if (value !== 'memstore' && value !== 'bluestore') {
    throw new Error(`PACHOPS_TEST_RGW_STORE must be memstore or bluestore, not ${value}`);
  }
  return value;
}

function readEnvFile(path: string): Record<string, string> {
  const entries = readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => /^([A-Z_]+)=(.*)$/.exec(line))
    .filter((match) => match !== null)
    .map((match) => [match[1]!, match[2]!.replace(/^"|"$/g, '')]);
  return Object.fromEntries(entries);
}
