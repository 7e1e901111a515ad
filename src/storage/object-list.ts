import { createInterface } from 'node:readline';
import { PassThrough, Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { DeleteObjectsCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { type Bucket, s3Error } from './s3.ts';
import { uploadStream } from './upload.ts';

/** One line of `objects.jsonl.gz`; `stored` is set when the content lives elsewhere than at `key`. */
export const ObjectListEntry = z.object({
  key: z.string(),
  size: z.number(),
  etag: z.string(),
  stored: z.string().optional(),
});
export type ObjectListEntry = z.infer<typeof ObjectListEntry>;

/** A writer that streams gzipped JSON lines to S3 while entries are added, in bounded memory. */
export interface ObjectListWriter {
  add(entry: ObjectListEntry): Promise<void>;
  finish(): Promise<{ count: number; bytes: number }>;
  abort(): void;
}

export function writeObjectList(bucket: Bucket, key: string): ObjectListWriter {
  const gzip = createGzip();
  const body = new PassThrough();
  gzip.pipe(body);
  // abort() destroys both with an error: the upload reports the failure, the streams must not crash
  gzip.on('error', () => undefined);
  body.on('error', () => undefined);
  const uploading = uploadStream(bucket, key, body, { contentType: 'application/gzip' });
  uploading.catch(() => undefined); // awaited in finish(); avoid an unhandled rejection meanwhile
  let count = 0;
  let bytes = 0;
  return {
    async add(entry) {
      count++;
      bytes += entry.size;
      if (!gzip.write(`${JSON.stringify(entry)}\n`))
        await new Promise((resolve) => gzip.once('drain', resolve));
    },
    async finish() {
      gzip.end();
      await uploading;
      return { count, bytes };
    },
    abort() {
      gzip.destroy(new Error('object list aborted'));
      body.destroy(new Error('object list aborted'));
    },
  };
}

export async function* readObjectList(bucket: Bucket, key: string): AsyncGenerator<ObjectListEntry> {
  let body: Readable;
  try {
    const response = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.name, Key: key }));
    body = response.Body as Readable;
  } catch (error) {
    throw s3Error(error, `read ${key} from ${bucket.name}`);
  }
  const lines = createInterface({ input: body.pipe(createGunzip()), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (line) yield ObjectListEntry.parse(JSON.parse(line));
  }
}

/**
 * Joins gzipped object lists into one, in the order given, without unpacking them: concatenated gzip
 * members are one valid gzip stream. Streams part by part, so memory stays flat.
 */
export async function concatObjectLists(bucket: Bucket, partKeys: string[], key: string): Promise<void> {
  async function* members(): AsyncGenerator<Buffer> {
    for (const part of partKeys) {
      const response = await bucket.client
        .send(new GetObjectCommand({ Bucket: bucket.name, Key: part }))
        .catch((error) => {
          throw s3Error(error, `read ${part} from ${bucket.name}`);
        });
      yield* response.Body as AsyncIterable<Buffer>;
    }
  }
  await uploadStream(bucket, key, Readable.from(members()), { contentType: 'application/gzip' });
}

/** Deletes keys, a thousand per request (DeleteObjects' limit); throws on the first key that failed. */
export async function deleteKeys(bucket: Bucket, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const failed = (await deleteBatch(bucket, keys.slice(i, i + 1000)))[0];
    if (failed)
      throw s3Error(Object.assign(new Error(failed.message), { name: failed.code }), `delete ${failed.key}`);
  }
}

export interface KeyFailure {
  key: string;
  code: string;
  message: string;
}

/**
 * One DeleteObjects request (at most 1000 keys), retried by the client's strategy; throws when the request
 * itself fails, and returns the keys the server could not delete (deleting a missing key succeeds).
 */
export async function deleteBatch(bucket: Bucket, keys: string[]): Promise<KeyFailure[]> {
  if (!keys.length) return [];
  const result = await bucket.client
    .send(
      new DeleteObjectsCommand({
        Bucket: bucket.name,
        Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
      }),
    )
    .catch((error) => {
      throw s3Error(error, `delete ${keys.length} objects from ${bucket.name}`);
    });
  return (result.Errors ?? []).map((e) => ({
    key: e.Key ?? '?',
    code: e.Code ?? 'Error',
    message: e.Message ?? e.Code ?? 'failed',
  }));
}
