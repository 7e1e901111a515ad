/**
 * The backup bucket's server-side encryption reaches every write because every writer spreads
 * `bucket.writeParams` (src/storage/s3.ts): checked over the source, so a new writer cannot forget it. And
 * SSE-KMS ETags, which are not MD5s on AWS, are not taken for a change (compare.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareObjects } from '../../src/storage/mirror/compare.ts';
import { openBucket, writeParamsOf } from '../../src/storage/s3.ts';

test('a location without sse writes without headers; aws:kms carries its key id when one is set', () => {
  const base = { bucket: 'b', region: 'us-east-1', forcePathStyle: true };
  expect(writeParamsOf(base)).toEqual({});
  expect(writeParamsOf({ ...base, sse: 'AES256' })).toEqual({ ServerSideEncryption: 'AES256' });
  expect(writeParamsOf({ ...base, sse: 'aws:kms' })).toEqual({ ServerSideEncryption: 'aws:kms' });
  const bucket = openBucket({ ...base, sse: 'aws:kms', kmsKeyId: 'k-1' });
  expect(bucket.writeParams).toEqual({ ServerSideEncryption: 'aws:kms', SSEKMSKeyId: 'k-1' });
  bucket.client.destroy();
});

test('SSE-KMS ETags are not compared as MD5s: same size, other ETag is for the recorded ETag to decide', () => {
  const source = { key: 'data/x', size: 10, etag: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' };
  const target = { key: 'data/x', size: 10, etag: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' };
  expect(compareObjects(source, target)).toBe('changed');
  expect(compareObjects(source, target, { targetEtagsAreMd5: false })).toBe('incomparable');
  expect(compareObjects(source, { ...target, size: 11 }, { targetEtagsAreMd5: false })).toBe('changed');
});

/** Every write command in src/ and jobs/: its argument must spread the bucket's write parameters. */
test('no writer in src/ or jobs/ leaves the backup bucket’s SSE out', () => {
  const root = join(import.meta.dirname, '..', '..');
  const files = ['src', 'jobs'].flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(dir, f)),
  );
  // constructed commands, and calls (not the definition) of the mirror's own CopyObject sender
  const writer =
    /(?:new (PutObjectCommand|CopyObjectCommand|CreateMultipartUploadCommand|Upload)|[?:=] (sendCopyObject))\(/g;
  const found: string[] = [];
  const missing: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const match of text.matchAll(writer)) {
      const call = text.slice(match.index, match.index + 400);
      const name = match[1] ?? match[2];
      found.push(`${file}:${name}`);
      if (!/\.\.\.\w+(\.\w+)*\.writeParams/.test(call.slice(0, call.indexOf('})') + 2 || undefined)))
        missing.push(`${file}: ${name}`);
    }
  }
  expect(found.length).toBeGreaterThanOrEqual(7);
  expect(found).toContain('src/storage/mirror/copy-object.ts:sendCopyObject');
  expect(missing).toEqual([]);
});
