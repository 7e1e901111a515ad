import { compareKeys, diffListings, isSameObject, type ObjectEntry } from '../../src/storage/listing.ts';

async function* from(entries: ObjectEntry[]) {
  yield* entries;
}

const o = (key: string, size = 1, etag = 'e'): ObjectEntry => ({ key, size, etag });

test('merge-join finds missing, same, changed and extra keys in one pass', async () => {
  const source = [o('chunk/a'), o('chunk/b', 2), o('chunk/c'), o('chunk/e')];
  const target = [o('chunk/b', 3), o('chunk/c'), o('chunk/d')];
  const result = [];
  for await (const entry of diffListings(from(source), from(target))) {
    result.push(`${entry.kind}:${'source' in entry ? entry.source.key : entry.target.key}`);
  }
  expect(result).toEqual([
    'missing:chunk/a',
    'changed:chunk/b',
    'same:chunk/c',
    'extra:chunk/d',
    'missing:chunk/e',
  ]);
});

test('a multipart ETag is never compared with a single-part one', () => {
  expect(isSameObject(o('k', 10, 'abc'), o('k', 10, 'def-2'))).toBe(true);
  expect(isSameObject(o('k', 10, 'abc-2'), o('k', 10, 'def-2'))).toBe(false);
  expect(isSameObject(o('k', 10, 'abc'), o('k', 11, 'abc'))).toBe(false);
});

test('keys compare in UTF-8 byte order, as S3 lists them', () => {
  // U+FF5E (3 bytes) sorts before U+1F600 (4 bytes, a surrogate pair in UTF-16) in both orders here,
  // but U+E000 vs U+1F600 differ: UTF-16 puts the surrogate (D83D) first, UTF-8 puts U+E000 first.
  expect(compareKeys('\uE000', '\u{1F600}')).toBeLessThan(0);
  expect('\uE000' < '\u{1F600}').toBe(false);
});
