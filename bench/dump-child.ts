/**
 * One run of pachops' dump path (`dumpDatabase`: pg_dump -Fc streamed into the backup bucket, sha256 on
 * the fly), as a child process that bench/dump.ts measures. Reads a DumpChildInput on stdin (the
 * password travels there and on to pg_dump through PGPASSWORD) and prints one JSON result line.
 */
import { randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';
import type { S3Target } from '../src/config/load.ts';
import { DumpKey } from '../src/crypto/dump-key.ts';
import type { PostgresTarget } from '../src/postgres/connection.ts';
import { dumpDatabase } from '../src/postgres/dump.ts';
import { openBucket } from '../src/storage/s3.ts';

/** What the parent sends on stdin. */
export interface DumpChildInput {
  postgres: PostgresTarget;
  database: string;
  pgBin: string;
  bucket: S3Target;
  key: string;
  /** Encrypt the dump (`backup.encryption`) with a key made for the run. */
  encrypt?: boolean;
}

async function main(): Promise<void> {
  const input = JSON.parse(await text(process.stdin)) as DumpChildInput;
  const bucket = openBucket(input.bucket);
  const encryptWith = input.encrypt ? new DumpKey(randomBytes(32), 'BENCH_DUMP_KEY') : undefined;
  const result = await dumpDatabase({ ...input, target: input.postgres, bucket, encryptWith });
  process.stdout.write(
    `${JSON.stringify({ bytes: result.bytes, sha256: result.sha256, durationMs: result.durationMs })}\n`,
  );
  bucket.client.destroy();
}

await main();
