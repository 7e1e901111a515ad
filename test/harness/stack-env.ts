/** For tests: the shared services of this Jest run (started by global-setup.ts), and unique names. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { makePgAdmin, type PgAdmin } from './pg-admin.ts';
import { createBucket, type S3Target } from './s3-client.ts';
import type { StackInfo } from './stack.ts';

/** The environment variable holding the path of the run's stack JSON file. */
export const STACK_FILE_ENV = 'PACHOPS_TEST_STACK';

export interface StackEnv {
  redis: { url: string; host: string; port: number };
  /** The shared server (ssl on); make your own database with createDatabase(uniqueName('x')). */
  postgres: PgAdmin;
  /** The shared RGW; null when PACHOPS_TEST_RGW=0. Make your own bucket with createBucket(uniqueName('x')). */
  rgw: (S3Target & { createBucket(name: string): Promise<void> }) | null;
}

/** Reads the run's stack file; throws when the tests were not started through the project's jest config. */
export function stackEnv(): StackEnv {
  const info = readStackInfo();
  const rgw = info.rgw;
  return {
    redis: { url: info.redis.url, host: info.redis.host, port: info.redis.port },
    postgres: makePgAdmin(info.postgres),
    rgw: rgw ? { ...rgw, createBucket: (name: string) => createBucket(rgw, name) } : null,
  };
}

/** The raw StackInfo of this run. */
export function readStackInfo(file = process.env[STACK_FILE_ENV]): StackInfo {
  if (!file) {
    throw new Error(
      `${STACK_FILE_ENV} is not set: run tests with \`npm run jest\` (its globalSetup starts the stack)`,
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as StackInfo;
}

let counter = 0;

/**
 * A name no other test (or run) uses: `<prefix>-<random>`, lowercase letters, digits and hyphens,
 * at most 63 characters, so valid as a bucket name and (quoted) as a database or role name.
 */
export function uniqueName(prefix: string): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  counter += 1;
  const suffix = `${process.pid.toString(36)}${counter.toString(36)}${randomBytes(3).toString('hex')}`;
  return `${(clean || 'x').slice(0, 62 - suffix.length)}-${suffix}`;
}
