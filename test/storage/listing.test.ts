import { compareKeys, diffListings, type ObjectEntry } from '../../src/storage/listing.ts';
import { compareObjects } from '../../src/storage/mirror/compare.ts';

async function* from(entries: ObjectEntry[]) {
  yield* entries;
}

const o = (key: string, size = 1, etag = 'e'): ObjectEntry => ({ key, size, etag });

test('merge-join finds missing, common and extra keys in one pass', async () => {
  const source = [o('chunk/a'), o('chunk/b', 2), o('chunk/c'), o('chunk/e')];
  const target = [o('chunk/b', 3), o('chunk/c'), o('chunk/d')];
  const result = [];
  for await (const entry of diffListings(from(source), from(target))) {
    result.push(`${entry.kind}:${'source' in entry ? entry.source.key : entry.target.key}`);
  }
  expect(result).toEqual([
    'missing:chunk/a',
    'both:chunk/b',
    'both:chunk/c',
    'extra:chunk/d',
    'missing:chunk/e',
  ]);
});

test('a multipart ETag is never taken as proof of a difference; chunk keys need only key and size', () => {
  expect(compareObjects(o('k', 10, 'abc'), o('k', 10, 'def-2'))).toBe('incomparable');
  expect(compareObjects(o('k', 10, 'abc-2'), o('k', 10, 'def-3'))).toBe('incomparable');
  expect(compareObjects(o('k', 10, 'abc-2'), o('k', 10, 'abc-2'))).toBe('same');
  expect(compareObjects(o('k', 10, 'abc'), o('k', 10, 'abc'))).toBe('same');
  expect(compareObjects(o('k', 10, 'abc'), o('k', 10, 'def'))).toBe('changed');
  expect(compareObjects(o('k', 10, 'abc'), o('k', 11, 'abc'))).toBe('changed');
  expect(compareObjects(o('chunk/aa.01', 10, 'abc'), o('chunk/aa.01', 10, 'def-2'))).toBe('same');
  expect(compareObjects(o('chunk/aa.01', 10, 'abc'), o('chunk/aa.01', 10, 'def'))).toBe('same');
  expect(compareObjects(o('chunk/aa.01', 10, 'abc'), o('chunk/aa.01', 9, 'abc'))).toBe('changed');
});

test('keys compare in UTF-8 byte order, as S3 lists them', () => {
  // U+FF5E (3 bytes) sorts before U+1F600 (4 bytes, a surrogate pair in UTF-16) in both orders here,
  // but U+E000 vs U+1F600 differ: UTF-16 puts the surrogate (D83D) first, UTF-8 puts U+E000 first.
  expect(compareKeys('\uE000', '\u{1F600}')).toBeLessThan(0);
  expect('\uE000' < '\u{1F600}').toBe(false);
});

test('compareKeys agrees with UTF-8 byte order on keys mixing ASCII, accents, private-use and astral characters', () => {
  const alphabet = [
    'a',
    'b',
    '.',
    '/',
    '\u00e9',
    '\u07ff',
    '\u0800',
    '\uE000',
    '\uFFFF',
    '\u{1F600}',
    '\u{10FFFF}',
  ];
  const word = (seed: number) =>
    Array.from(
      { length: seed % 5 },
      (_, i) => alphabet[(seed * 7 + i * 13 + (seed >> 3)) % alphabet.length],
    ).join('');
  for (let i = 0; i < 3000; i++) {
    const a = `chunk/${word(i)}`;
    const b = `chunk/${word(i * 31 + 5)}`;
    const expected = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
    expect([a, b, Math.sign(compareKeys(a, b))]).toEqual([a, b, expected]);
  }
});
