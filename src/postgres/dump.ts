import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { execa } from 'execa';
import { postgresToolEnv } from '../child-env.ts';
import { createEncryptStream, DUMP_CIPHER, type DumpEncryption } from '../crypto/dump-cipher.ts';
import type { DumpKey } from '../crypto/dump-key.ts';
import { PachopsError } from '../errors.ts';
import type { Bucket } from '../storage/s3.ts';
import { uploadStream } from '../storage/upload.ts';
import { connectDatabase, libpqEnv, type PostgresTarget } from './connection.ts';
import { checkDumpCompatible, pgToolMajor, pgToolPath } from './tools.ts';

export interface DumpResult {
  database: string;
  key: string;
  /** Size and sha256 of the bytes stored (encrypted, when `encryption` is set): verify needs no key. */
  bytes: number;
  sha256: string;
  encryption?: DumpEncryption;
  durationMs: number;
  serverVersion: string;
  pgDumpVersion: string;
  /** pg_dump's `--compress` value. */
  compression: string;
}

/** `postgres.dumpCompression` when absent: gzip level 1 (pg_dump's own default is 6, about 3× slower). */
export const DEFAULT_DUMP_COMPRESSION = 1;

/** Reads the server's version (and proves the credentials work) before a dump starts. */
export async function readServerVersion(
  target: PostgresTarget,
  database: string,
): Promise<{ num: number; text: string }> {
  const client = await connectDatabase(target, database);
  try {
    const { rows } = await client.query(
      "SELECT current_setting('server_version_num')::int AS num, current_setting('server_version') AS text",
    );
    return { num: rows[0].num, text: String(rows[0].text).split(' ')[0] };
  } finally {
    await client.end();
  }
}

/**
 * What a dump of `database` will run with, checked before anything happens: the credentials work, pg_dump
 * is there and at least the server's major version, and it knows the configured compression. The
 * backup's plan runs it before the cluster is paused, so that a bad setting refuses the backup rather
 * than failing it with the cluster down. Permanent errors name the fix.
 */
export async function checkDumpTools(
  target: PostgresTarget,
  database: string,
  pgBin: string,
): Promise<{
  server: { num: number; text: string };
  tool: { major: number; version: string };
  compression: string;
}> {
  const [server, tool] = await Promise.all([
    readServerVersion(target, database),
    pgToolMajor('pg_dump', pgBin),
  ]);
  checkDumpCompatible(tool, server.num, pgBin);
  return { server, tool, compression: dumpCompression(target, tool) };
}

/**
 * `pg_dump -Fc` of one database, streamed straight into the backup bucket (no local disk) while its
 * sha256 and size are computed. If pg_dump fails, the upload is aborted: a partial dump is never stored.
 * With `encryptWith`, the dump is encrypted on the way (src/crypto/dump-cipher.ts); memory stays flat.
 */
export async function dumpDatabase(input: {
  target: PostgresTarget;
  database: string;
  pgBin: string;
  bucket: Bucket;
  key: string;
  /** Encrypt the dump with this key before it leaves the process. */
  encryptWith?: DumpKey;
  signal?: AbortSignal;
  onBytes?: (bytes: number) => void;
}): Promise<DumpResult> {
  const { target, database, pgBin } = input;
  const started = Date.now();
  const { server, tool, compression } = await checkDumpTools(target, database, pgBin);

  const hash = createHash('sha256');
  let bytes = 0;
  // What the upload reads: the stored bytes, hashed and counted on the way. It ends only once pg_dump
  // exited 0 (below), so a dump cut short is never completed as an object.
  const body = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      input.onBytes?.(bytes);
      callback(null, chunk);
    },
  });
  // A failed pg_dump destroys the streams with its error and the upload reports it, so the body's own
  // 'error' must not become an uncaught exception.
  body.on('error', () => undefined);
  const sealer = input.encryptWith ? createEncryptStream(input.encryptWith) : undefined;
  sealer?.on('error', (error) => body.destroy(error));
  sealer?.pipe(body);
  const entry = sealer ?? body;

  const child = execa(
    pgToolPath('pg_dump', pgBin),
    ['--format=custom', `--compress=${compression}`, '--no-password', '--lock-wait-timeout=60000'],
    {
      ...postgresToolEnv(libpqEnv(target, database)),
      buffer: { stdout: false, stderr: true },
      reject: false,
      cancelSignal: input.signal,
    },
  );
  child.stdout.pipe(entry, { end: false });
  const finished = (async () => {
    const result = await child;
    if (result.failed) {
      const reason = String(result.stderr || result.shortMessage)
        .trim()
        .split('\n')
        .slice(-3)
        .join(' ');
      const error = new PachopsError('PG_DUMP_FAILED', `pg_dump of ${database} failed: ${reason}`, {
        // a compression spec pg_dump rejects (or was built without) fails the same way every time
        permanent: /authentication|does not exist|permission|compression/i.test(reason),
      });
      sealer?.destroy(error);
      body.destroy(error);
      throw error;
    }
    entry.end();
  })();
  const uploading = uploadStream(input.bucket, input.key, body, { signal: input.signal }).catch((error) => {
    child.kill(); // nothing reads pg_dump's output any more
    throw error;
  });
  const [uploaded, dumped] = await Promise.allSettled([uploading, finished]);
  if (dumped.status === 'rejected') throw dumped.reason;
  if (uploaded.status === 'rejected') throw uploaded.reason;
  return {
    database,
    key: input.key,
    bytes,
    sha256: hash.digest('hex'),
    ...(input.encryptWith
      ? { encryption: { algorithm: DUMP_CIPHER, keyFingerprint: input.encryptWith.fingerprint } }
      : {}),
    durationMs: Date.now() - started,
    serverVersion: server.text,
    pgDumpVersion: tool.version,
    compression,
  };
}

/** The `--compress` value for `target`; a method name needs pg_dump 16 (15 knows gzip levels only). */
export function dumpCompression(target: PostgresTarget, tool: { major: number; version: string }): string {
  const compression = String(target.dumpCompression ?? DEFAULT_DUMP_COMPRESSION);
  if (/^\d$/.test(compression) || tool.major >= 16) return compression;
  throw new PachopsError(
    'PG_DUMP_COMPRESSION',
    `pg_dump ${tool.version} knows gzip levels 0–9 only, not dumpCompression ${compression}`,
    {
      permanent: true,
      hint: 'set postgres.dumpCompression to a level 0–9, or point tools.pgBin at pg_dump 16 or newer',
    },
  );
}
