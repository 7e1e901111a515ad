/**
 * The real services of a test run (or of the demo): Redis, PostgreSQL, and an S3 server (RGW and/or
 * s3rver), started together. Jest's global-setup.ts starts one stack per run and publishes its
 * coordinates (StackInfo) in a JSON file; tests read it with stackEnv() (stack-env.ts).
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { cleanStaleHarnessDirs, signalProcessesOf } from './harness-dir.ts';
import type { PgTarget } from './pg-admin.ts';
import { type PgServer, startPostgres } from './postgres.ts';
import { type RedisServer, startRedis } from './redis.ts';
import { type RgwServer, startRgw } from './rgw.ts';
import { pickS3Target, type S3Target } from './s3-client.ts';
import { type S3rverServer, startS3rver } from './s3rver.ts';

/** The plain-data coordinates of a stack (what the JSON file holds). */
export interface StackInfo {
  redis: { url: string; host: string; port: number; dir: string };
  postgres: PgTarget & { dir: string; logFile: string };
  rgw: (S3Target & { dir: string }) | null;
  /** Only for an in-process stack (startStack outside Jest); s3rver lives in the process that started it. */
  s3rver: (S3Target & { dir: string }) | null;
  /** Start-up time of each service, in ms. */
  startMs: Record<string, number>;
}

export interface Stack {
  info: StackInfo;
  redis: RedisServer;
  postgres: PgServer;
  rgw: RgwServer | null;
  s3rver: S3rverServer | null;
}

export interface StartStackOptions {
  /** Start a Ceph RGW (about 2 s, 130 MiB). Default false. */
  rgw?: boolean;
  /** Start an in-process s3rver. Default true. */
  s3rver?: boolean;
  /** PostgreSQL with ssl=on. Default true. */
  postgresSsl?: boolean;
}

/** Starts the services in parallel; if one fails, stops the others and throws (messages name the logs). */
export async function startStack(opts: StartStackOptions = {}): Promise<Stack> {
  await cleanStaleHarnessDirs();
  await ensureSystemPackages(opts.rgw === true);
  const startMs: Record<string, number> = {};
  const timed = async <T>(name: string, start: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const result = await start();
    startMs[name] = Math.round(performance.now() - t0);
    return result;
  };
  const settled = await Promise.allSettled([
    timed('redis', startRedis),
    timed('postgres', () => startPostgres({ ssl: opts.postgresSsl ?? true })),
    opts.rgw ? timed('rgw', () => startRgw()) : Promise.resolve(null),
    (opts.s3rver ?? true) ? timed('s3rver', startS3rver) : Promise.resolve(null),
  ]);
  const failures = settled.filter((result) => result.status === 'rejected').map((result) => result.reason);
  if (failures.length > 0) {
    await Promise.allSettled(
      settled.map((result) => (result.status === 'fulfilled' ? result.value?.stop() : undefined)),
    );
    throw new Error(
      `the test stack did not start:\n${failures.map((error) => `- ${String(error)}`).join('\n')}`,
    );
  }
  const [redis, postgres, rgw, s3rver] = settled;
  return makeStack(
    fulfilledValue(redis),
    fulfilledValue(postgres),
    fulfilledValue(rgw),
    fulfilledValue(s3rver),
    startMs,
  );
}

function fulfilledValue<T>(result: PromiseSettledResult<T>): T {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

/** Installs missing Debian packages (scripts/ensure-system.sh; silent and ~50 ms when all are there). */
export async function ensureSystemPackages(forTests: boolean): Promise<void> {
  const script = fileURLToPath(new URL('../../scripts/ensure-system.sh', import.meta.url));
  const run = await execa('bash', [script, ...(forTests ? ['--tests'] : [])], {
    stdin: 'ignore',
    stdout: 'ignore',
    stderr: ['pipe', 'inherit'],
    reject: false,
  });
  if (run.exitCode !== 0) throw new Error(`scripts/ensure-system.sh failed:\n${run.stderr}`);
}

function makeStack(
  redis: RedisServer,
  postgres: PgServer,
  rgw: RgwServer | null,
  s3rver: S3rverServer | null,
  startMs: Record<string, number>,
): Stack {
  const { host, port, user, password, ssl, sslRootCert, dir, logFile } = postgres;
  const info: StackInfo = {
    redis: { url: redis.url, host: redis.host, port: redis.port, dir: redis.dir },
    postgres: { host, port, user, password, ssl, sslRootCert, dir, logFile },
    rgw: rgw ? { ...pickS3Target(rgw), dir: rgw.dir } : null,
    s3rver: s3rver ? { ...pickS3Target(s3rver), dir: s3rver.dir } : null,
    startMs,
  };
  return { info, redis, postgres, rgw, s3rver };
}

/** Stops every service of the stack and deletes their directories. */
export async function stopStack(stack: Stack): Promise<void> {
  const results = await Promise.allSettled([
    stack.redis.stop(),
    stack.postgres.stop(),
    stack.rgw?.stop(),
    stack.s3rver?.stop(),
  ]);
  const failures = results.filter((result) => result.status === 'rejected').map((result) => result.reason);
  if (failures.length > 0)
    throw new Error(`stopping the test stack failed: ${failures.map(String).join('; ')}`);
}

/**
 * SIGKILLs every process of the stack and deletes its directories, synchronously: for when the run
 * is cut short. Leftovers (a dying process) are for the next run's cleanStaleHarnessDirs().
 */
export function killStackSync(info: StackInfo): void {
  const dirs = [info.redis.dir, info.postgres.dir, info.rgw?.dir].filter((dir) => dir !== undefined);
  for (const dir of dirs) signalProcessesOf(dir, 'SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

const fatalSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Kills the stack if this process exits or is interrupted (Ctrl-C, SIGTERM) before stopStack();
 * the signal is then raised again so the process still dies of it. Returns the unregister function.
 */
export function guardStack(info: StackInfo, extraDirs: string[] = []): () => void {
  const kill = () => {
    killStackSync(info);
    for (const dir of extraDirs) rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    unregister();
    kill();
    process.kill(process.pid, signal);
  };
  const unregister = () => {
    process.removeListener('exit', kill);
    for (const signal of fatalSignals) process.removeListener(signal, onSignal);
  };
  process.once('exit', kill);
  for (const signal of fatalSignals) process.once(signal, onSignal);
  return unregister;
}
