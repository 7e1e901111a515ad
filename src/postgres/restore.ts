import { createHash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { execa, type Result } from 'execa';
import { postgresToolEnv } from '../child-env.ts';
import { plaintextOf } from '../crypto/dump-cipher.ts';
import type { DumpKey } from '../crypto/dump-key.ts';
import { PachopsError } from '../errors.ts';
import { type Bucket, isNotFound, s3Error } from '../storage/s3.ts';
import { connectDatabase, libpqEnv, type PostgresTarget } from './connection.ts';
import { drainOrClose } from './drain.ts';
import { pgToolMajor, pgToolPath } from './tools.ts';

export {
  createDatabase,
  type DatabaseInspection,
  dropDatabase,
  inspectDatabase,
  mayCreateDatabases,
  swapDatabase,
} from './manage-database.ts';
export { countRows, MAIN_PACHYDERM_TABLES, type TableRows } from './row-counts.ts';

export interface DumpDigest {
  bytes: number;
  sha256: string;
}

const short = (sha256: string) => sha256.slice(0, 12);

function abortedError(what: string): PachopsError {
  return new PachopsError('ABORTED', `${what} aborted`, { permanent: true });
}

/** A dump that is not the one the manifest describes: permanent, names the key and both sums. */
function checkDigest(key: string, expected: DumpDigest, actual: DumpDigest): void {
  if (actual.sha256 === expected.sha256.toLowerCase() && actual.bytes === expected.bytes) return;
  const sizes = actual.bytes === expected.bytes ? '' : `; ${actual.bytes} bytes, expected ${expected.bytes}`;
  throw new PachopsError(
    'DUMP_CHECKSUM_MISMATCH',
    `${key} does not match its manifest: sha256 ${short(actual.sha256)}…, expected ${short(expected.sha256)}…${sizes}`,
    {
      permanent: true,
      hint: 'the dump was damaged or replaced after the backup; nothing was restored from it',
    },
  );
}

async function openDump(bucket: Bucket, key: string, signal?: AbortSignal): Promise<Readable> {
  try {
    const response = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.name, Key: key }), {
      abortSignal: signal,
    });
    const body = response.Body as Readable;
    body.on('error', () => undefined); // reported through the reader; a destroyed body must not crash
    return body;
  } catch (error) {
    if (signal?.aborted) throw abortedError(`reading ${key}`);
    if (isNotFound(error)) {
      throw new PachopsError('DUMP_MISSING', `the backup has no dump at ${key} in ${bucket.name}`, {
        permanent: true,
        hint: 'the backup is damaged: restore from another backup',
        cause: error,
      });
    }
    throw s3Error(error, `read ${key} from ${bucket.name}`);
  }
}

/**
 * Reads a dump once and checks its sha256 and size against the manifest's, before anything touches a
 * database.
 */
export async function verifyDumpChecksum(input: {
  bucket: Bucket;
  key: string;
  sha256: string;
  bytes: number;
  signal?: AbortSignal;
  onBytes?: (bytes: number) => void;
}): Promise<DumpDigest & { durationMs: number }> {
  const started = Date.now();
  const body = await openDump(input.bucket, input.key, input.signal);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      input.onBytes?.(bytes);
    }
  } catch (error) {
    if (input.signal?.aborted) throw abortedError(`checking ${input.key}`);
    throw s3Error(error, `read ${input.key} from ${input.bucket.name}`);
  }
  const actual = { bytes, sha256: hash.digest('hex') };
  checkDigest(input.key, input, actual);
  return { ...actual, durationMs: Date.now() - started };
}

export interface RestoreInput {
  target: PostgresTarget;
  /** An existing database (createDatabase) that receives the dump. */
  database: string;
  bucket: Bucket;
  key: string;
  pgBin: string;
  /** Drop the dump's objects before re-creating them (`--clean --if-exists`): the overwrite case. */
  clean?: boolean;
  /**
   * The manifest's sha256 and size: checked while streaming, and the last bytes are held back from
   * pg_restore until they match, so a dump changed since verifyDumpChecksum is never committed.
   */
  expected?: DumpDigest;
  /**
   * The dump is encrypted (its manifest says so): decrypted on the way, each segment authenticated before
   * its plaintext reaches pg_restore (keyForDump picks the key).
   */
  decryptWith?: DumpKey;
  signal?: AbortSignal;
  onBytes?: (bytes: number) => void;
}

/** One transaction (a failed restore leaves the database as it was); the password only in the environment. */
function restoreArgs(clean: boolean): string[] {
  return [
    '--no-owner',
    '--no-privileges',
    '--exit-on-error',
    '--single-transaction',
    '--no-password',
    ...(clean ? ['--clean', '--if-exists'] : []),
    // empty: libpq takes the database from PGDATABASE, so no name is ever parsed as a connection string
    '--dbname=',
  ];
}

/**
 * `pg_restore` of a dump streamed from the bucket into its stdin (no local disk), in one transaction.
 * Throws PG_RESTORE_FAILED quoting pg_restore, DUMP_CHECKSUM_MISMATCH, ABORTED, or an S3/PostgreSQL error.
 */
export async function restoreDatabase(input: RestoreInput): Promise<DumpDigest & { durationMs: number }> {
  const started = Date.now();
  await pgToolMajor('pg_restore', input.pgBin);
  await (await connectDatabase(input.target, input.database)).end(); // credentials, TLS, the database exists
  const body = await openDump(input.bucket, input.key, input.signal);
  const child = execa(pgToolPath('pg_restore', input.pgBin), restoreArgs(input.clean ?? false), {
    ...postgresToolEnv(libpqEnv(input.target, input.database)),
    stdin: 'pipe',
    stdout: 'ignore',
    buffer: { stderr: true },
    reject: false,
    cancelSignal: input.signal,
  });
  const feeding = feedDump(body, child.stdin, input).catch((error: unknown) => {
    child.kill(); // never let pg_restore see the end of a dump that was not read whole
    throw error;
  });
  const [fed, restored] = await Promise.allSettled([feeding, child]);
  if (input.signal?.aborted) throw abortedError(`restore of ${input.database}`);
  if (fed.status === 'rejected') throw fed.reason;
  if (restored.status === 'rejected') throw restored.reason;
  if (restored.value.failed) throw restoreFailure(restored.value, input);
  return { ...fed.value, durationMs: Date.now() - started };
}

/** Writes the dump into stdin; EPIPE (pg_restore stopped reading) is tolerated: pg_restore says why. */
async function feedDump(body: Readable, stdin: Writable, input: RestoreInput): Promise<DumpDigest> {
  const hash = createHash('sha256');
  let bytes = 0;
  let open = true;
  stdin.on('error', () => {
    open = false;
  });
  const write = async (chunk: Buffer) => {
    if (open && !stdin.write(chunk)) {
      await drainOrClose(stdin);
    }
    if (stdin.destroyed) open = false;
  };
  const plaintext = plaintextOf(input.decryptWith, input.key);
  const pass = async (chunk: Buffer) => {
    for (const out of plaintext.update(chunk)) await write(out);
  };
  let held: Buffer | undefined;
  let complete = true;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      input.onBytes?.(bytes);
      if (held) await pass(held);
      held = chunk;
      if (!open) {
        complete = false; // pg_restore has exited (its result says why): reading on is pointless
        break;
      }
    }
  } catch (error) {
    throw s3Error(error, `read ${input.key} from ${input.bucket.name}`);
  }
  const digest = { bytes, sha256: hash.digest('hex') };
  if (complete && input.expected) checkDigest(input.key, input.expected, digest);
  if (held) await pass(held);
  if (complete) for (const out of plaintext.final()) await write(out);
  if (open) stdin.end();
  return digest;
}

const TRANSIENT =
  /could not connect|connection to server|server closed the connection|terminating connection|SSL SYSCALL|timeout expired|could not receive data|could not send data/i;

/** pg_restore's own words: its error lines (not the SQL it quotes after them), the exit code. */
function restoreFailure(result: Result, input: RestoreInput): PachopsError {
  const stderr = String(result.stderr ?? '');
  const lines = stderr.split('\n').filter((line) => line.trim());
  const errors = lines.filter((line) => /^pg_restore: (error|fatal)|^(ERROR|DETAIL|HINT):/.test(line.trim()));
  const command = lines.find((line) => line.startsWith('Command was:'));
  const quoted = [...(errors.length ? errors.slice(-3) : lines.slice(-3)), ...(command ? [command] : [])]
    .map((line) => (line.length > 300 ? `${line.slice(0, 300)}…` : line.trim()))
    .join(' ');
  const reason = quoted || result.shortMessage || 'no message';
  const conflict = !input.clean && /already exists/.test(stderr);
  return new PachopsError(
    'PG_RESTORE_FAILED',
    `pg_restore of ${input.key} into ${input.database} failed (exit code ${result.exitCode ?? result.signal}): ${reason}`,
    {
      permanent: !TRANSIENT.test(stderr),
      hint: conflict
        ? `${input.database} is not empty: restore into a new database, or overwrite it (clean); nothing was changed`
        : 'the restore ran in one transaction: the database was left as it was',
    },
  );
}
