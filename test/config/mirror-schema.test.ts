import { MirrorSchema } from '../../src/config/mirror-schema.ts';

const MiB = 1024 ** 2;
const issues = (input: object) =>
  MirrorSchema.safeParse(input).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];

test('defaults: 64 copies, 8 listings, CopyObject up to its 5 GiB limit, 64 MiB parts, one shard, precopy on', () => {
  expect(MirrorSchema.parse({})).toEqual({
    concurrency: 64,
    listConcurrency: 8,
    multipartThreshold: 5 * 1024 * MiB,
    partSize: 64 * MiB,
    shards: 1,
    precopy: true,
  });
});

test('sizes take bytes, binary units or decimal ones, case and spaces aside', () => {
  const parsed = MirrorSchema.parse({ multipartThreshold: '512 MiB', partSize: '1gib' });
  expect(parsed.multipartThreshold).toBe(512 * MiB);
  expect(parsed.partSize).toBe(1024 * MiB);
  expect(MirrorSchema.parse({ partSize: '100MB' }).partSize).toBe(100_000_000);
  expect(MirrorSchema.parse({ multipartThreshold: '5GB' }).multipartThreshold).toBe(5_000_000_000);
  expect(MirrorSchema.parse({ partSize: 8 * MiB }).partSize).toBe(8 * MiB);
  expect(MirrorSchema.parse({ partSize: '5.5MiB' }).partSize).toBe(5.5 * MiB);
});

test('out of range or misspelt settings are refused, naming the key', () => {
  expect(issues({ multipartThreshold: '6GiB' })).toEqual([
    "multipartThreshold: at most 5GiB (S3's largest single copy or part)",
  ]);
  expect(issues({ partSize: '4MiB' })).toEqual(["partSize: at least 5MiB (S3's smallest part)"]);
  const hint = 'a size: bytes, or a number with a unit such as 512MiB, 5GiB or 100MB';
  expect(issues({ partSize: '64M' })).toEqual([`partSize: ${hint}`]);
  expect(issues({ partSize: true })).toEqual([`partSize: ${hint}`]);
  expect(issues({ concurrency: 0 })).toEqual([expect.stringMatching(/^concurrency: /)]);
  expect(issues({ concurrency: 513 })).toEqual([expect.stringMatching(/^concurrency: /)]);
  expect(issues({ shards: 1.5 })).toEqual([expect.stringMatching(/^shards: /)]);
  expect(issues({ listConcurrency: 65 })).toEqual([expect.stringMatching(/^listConcurrency: /)]);
  expect(issues({ concurency: 8 })).toEqual([expect.stringMatching(/Unrecognized key.*concurency/)]);
});
