import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { postgresToolEnv } from '../child-env.ts';
import { plaintextOf } from '../crypto/dump-cipher.ts';
import type { DumpKey } from '../crypto/dump-key.ts';
import { PachopsError } from '../errors.ts';
import { type Bucket, s3Error } from '../storage/s3.ts';
import { drainOrClose } from './drain.ts';
import { pgToolPath } from './tools.ts';

export interface DumpCheck {
  bytes: number;
  sha256: string;
  /** Number of entries in the archive's table of contents. */
  tocEntries: number;
}

/**
 * Reads a dump back from the bucket once, computing its sha256 while `pg_restore --list` parses it from
 * stdin: proves the archive is readable without writing it to disk or restoring it. An encrypted dump is
 * decrypted on the way (`decryptWith`); the sha256 is of the bytes stored.
 */
export async function checkDump(
  bucket: Bucket,
  key: string,
  pgBin: string,
  decryptWith?: DumpKey,
): Promise<DumpCheck> {
  let body: Readable;
  try {
    body = (await bucket.client.send(new GetObjectCommand({ Bucket: bucket.name, Key: key })))
      .Body as Readable;
  } catch (error) {
    throw s3Error(error, `read ${key} from ${bucket.name}`);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const child = execa(pgToolPath('pg_restore', pgBin), ['--list'], {
    reject: false,
    stdin: 'pipe',
    ...postgresToolEnv(),
  });
  // pg_restore --list may stop reading once it has the table of contents; keep hashing to the end anyway.
  let stdinOpen = true;
  child.stdin.on('error', () => {
    stdinOpen = false;
  });
  const plaintext = plaintextOf(decryptWith, key);
  let running = true;
  const exited = child
    .catch(() => undefined)
    .then(() => {
      running = false;
    });
  const write = async (chunk: Buffer) => {
    if (stdinOpen && !child.stdin.write(chunk)) {
      // EPIPE when pg_restore has stopped reading: expected, it has what it needs (or will say why not).
      // Its exit ends the wait too, whatever the pipe reports.
      await Promise.race([drainOrClose(child.stdin), exited]);
      if (child.stdin.destroyed || !running) stdinOpen = false;
    }
  };
  const feeding = (async () => {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      for (const out of plaintext.update(chunk)) await write(out);
    }
    for (const out of plaintext.final()) await write(out);
    if (stdinOpen) child.stdin.end();
  })().catch((error: unknown) => {
    child.kill(); // a dump that does not decrypt is not listed
    throw error;
  });
  const [result] = await Promise.all([child, feeding]);
  if (result.failed) {
    const reason = String(result.stderr || result.shortMessage)
      .trim()
      .split('\n')
      .slice(-2)
      .join(' ');
    throw new PachopsError('DUMP_UNREADABLE', `pg_restore --list rejects ${key}: ${reason}`, {
      permanent: true,
    });
  }
  const tocEntries = String(result.stdout)
    .split('\n')
    .filter((line) => /^\d+;/.test(line)).length;
  return { bytes, sha256: hash.digest('hex'), tocEntries };
}
