/**
 * The floor the mirror engine is held to: list the source and CopyObject every key into the target, K
 * requests in flight, nothing else (no diff, no object list). Reads a CopyLoopInput on stdin, prints one
 * JSON result line.
 */
import { Agent } from 'node:http';
import { text } from 'node:stream/consumers';
import { CopyObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { S3Target } from '../src/config/load.ts';
import { runPool } from './lib/pool.ts';

/** What the parent sends on stdin. */
export interface CopyLoopInput {
  source: S3Target;
  target: S3Target;
  inFlight: number;
}

function makeClient(target: S3Target, sockets: number): S3Client {
  return new S3Client({
    endpoint: target.endpoint,
    region: target.region,
    forcePathStyle: target.forcePathStyle,
    credentials: target.credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: new Agent({ keepAlive: true, maxSockets: sockets }) },
  });
}

async function* listObjects(client: S3Client, bucket: string): AsyncGenerator<{ key: string; size: number }> {
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) yield { key: object.Key!, size: object.Size ?? 0 };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

async function main(): Promise<void> {
  const input = JSON.parse(await text(process.stdin)) as CopyLoopInput;
  const client = makeClient(input.target, input.inFlight + 2);
  const result = { listed: 0, copied: 0, copiedBytes: 0 };
  const objects = listObjects(client, input.source.bucket);
  await runPool(objects, input.inFlight, async (object) => {
    result.listed++;
    const copySource = encodeURI(`${input.source.bucket}/${object.key}`);
    await client.send(
      new CopyObjectCommand({ Bucket: input.target.bucket, Key: object.key, CopySource: copySource }),
    );
    result.copied++;
    result.copiedBytes += object.size;
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
  client.destroy();
}

await main();
