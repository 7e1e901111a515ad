/**
 * How the peers are run: Debian's rclone and aws (awscli). Credentials go through the environment
 * (rclone) or a private config directory (aws), never through arguments.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3Target } from '../../test/harness/s3-client.ts';
import { guardDir } from './guard.ts';
import type { ChildRun } from './measure.ts';
import type { ServerName } from './servers.ts';

export const RCLONE = '/usr/bin/rclone';
export const AWS = '/usr/bin/aws';

/** rclone's ways of deciding "unchanged": modtime+size (default), size+MD5, or the server's modtime. */
export type RcloneMode = 'default' | 'checksum' | 'update';

/** A bare environment: no inherited AWS_* (rclone needs AWS_CA_BUNDLE unset; aws must not see stray keys). */
function baseEnv(): Record<string, string> {
  return { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' };
}

/** `rclone sync BENCH:from BENCH:to`, the remote configured by RCLONE_CONFIG_BENCH_* variables. */
export function rcloneSync(
  server: ServerName,
  target: S3Target,
  buckets: { from: string; to: string },
  options: { transfers: number; checkers: number; mode: RcloneMode },
): ChildRun {
  const modeFlags = { default: [], checksum: ['--checksum'], update: ['--update', '--use-server-modtime'] };
  return {
    command: RCLONE,
    args: [
      ...['sync', `BENCH:${buckets.from}`, `BENCH:${buckets.to}`],
      ...['--transfers', String(options.transfers), '--checkers', String(options.checkers)],
      ...modeFlags[options.mode],
      ...['--s3-no-check-bucket', '--stats', '1h', '--stats-log-level', 'NOTICE', '--log-level', 'INFO'],
    ],
    env: {
      ...baseEnv(),
      RCLONE_CONFIG: '/dev/null',
      RCLONE_CONFIG_BENCH_TYPE: 's3',
      RCLONE_CONFIG_BENCH_PROVIDER: server === 'rgw' ? 'Ceph' : 'Other',
      RCLONE_CONFIG_BENCH_ENV_AUTH: 'false',
      RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: target.accessKeyId,
      RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: target.secretAccessKey,
      RCLONE_CONFIG_BENCH_ENDPOINT: target.endpoint,
      RCLONE_CONFIG_BENCH_REGION: target.region,
      RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
    },
  };
}

/**
 * Objects rclone wrote: its final `Transferred: N / M` count, plus the objects whose modification time it
 * set (on S3 a copy of the object onto itself: its default mode does that after a server-side copy).
 */
export function rcloneTransferred(stderr: string): number | undefined {
  const counts = [...stderr.matchAll(/Transferred:\s+(\d+) \/ \d+, /g)].map((match) => Number(match[1]));
  const touched = stderr.split('\n').filter((line) => line.includes('Updated modification time')).length;
  // without transfers rclone prints only the bytes line; without any stats line we cannot tell
  const transferred = counts.at(-1) ?? (/Transferred:/.test(stderr) ? 0 : undefined);
  return transferred === undefined ? undefined : transferred + touched;
}

/** A private directory with aws's config and credentials files; `remove()` deletes it. */
export interface AwsProfile {
  env: Record<string, string>;
  remove(): Promise<void>;
}

/**
 * aws's config for one server: path-style addressing, `maxConcurrent` requests, and a multipart threshold
 * (aws's 8 MB default on RGW; above any object on s3rver, which has no UploadPartCopy).
 */
export async function writeAwsProfile(
  target: S3Target,
  options: { multipartThreshold: string; maxConcurrent: number },
): Promise<AwsProfile> {
  const dir = await mkdtemp(join(tmpdir(), 'pachops-bench-aws-'));
  const config = [
    '[default]',
    `region = ${target.region}`,
    's3 =',
    '  addressing_style = path',
    `  max_concurrent_requests = ${options.maxConcurrent}`,
    `  multipart_threshold = ${options.multipartThreshold}`,
    '',
  ].join('\n');
  const credentials = [
    '[default]',
    `aws_access_key_id = ${target.accessKeyId}`,
    `aws_secret_access_key = ${target.secretAccessKey}`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'config'), config, { mode: 0o600 });
  await writeFile(join(dir, 'credentials'), credentials, { mode: 0o600 });
  const release = guardDir(dir); // an interrupted run must not leave the keys behind
  return {
    env: {
      ...baseEnv(),
      AWS_CONFIG_FILE: join(dir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      AWS_PAGER: '',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    async remove() {
      await rm(dir, { recursive: true, force: true });
      release();
    },
  };
}

/** `aws s3 sync s3://from s3://to`, one line per copied object on stdout. */
export function awsSync(
  target: S3Target,
  profile: AwsProfile,
  buckets: { from: string; to: string },
): ChildRun {
  return {
    command: AWS,
    args: [
      's3',
      'sync',
      `s3://${buckets.from}`,
      `s3://${buckets.to}`,
      '--endpoint-url',
      target.endpoint,
      '--no-progress',
    ],
    env: profile.env,
  };
}

/** Objects aws says it copied. */
export function awsCopied(stdout: string): number {
  return stdout.split('\n').filter((line) => line.startsWith('copy:')).length;
}
