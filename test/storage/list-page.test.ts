/**
 * The listing's own reading of ListObjectsV2 pages (src/storage/list-page.ts) against the SDK's, page by
 * page, on RGW and s3rver, with keys that XML must escape; and its refusals of what it cannot read.
 */
import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { parseListPage, sendListPage } from '../../src/storage/list-page.ts';
import { listObjects, stripQuotes } from '../../src/storage/listing.ts';
import { putAll, smallObjects, useStorageServers, type Written } from './s3-fixtures.ts';

const servers = useStorageServers();

const escaped: Written[] = [
  '<angle>&amp;"quotes"\'apos\'',
  'amp&lt;not-an-entity&#65;',
  'unicode/Grüße-日本語-😀',
  'with space/and  two',
  'percent/100%25',
  'zero/empty',
].map((key, i) => ({ key, body: randomBytes(i) }));

describe.each([
  ['RGW', servers.rgw],
  ['s3rver', servers.s3rver],
])('on %s', (_name, server) => {
  test('every page reads as the SDK reads it: keys, sizes, ETags, truncation and the next token', async () => {
    const bucket = await servers.newBucket(server(), 'lp');
    await putAll(server(), bucket.name, [...escaped, ...smallObjects(12)]);
    let token: string | undefined;
    let pages = 0;
    do {
      const input = { Bucket: bucket.name, MaxKeys: 5, ContinuationToken: token };
      const [ours, sdk] = await Promise.all([
        sendListPage(bucket.client, input),
        bucket.client.send(new ListObjectsV2Command(input)),
      ]);
      expect(ours.contents).toEqual(
        (sdk.Contents ?? []).map((o) => ({ key: o.Key, size: o.Size, etag: expect.any(String) })),
      );
      expect(ours.contents.map((o) => stripQuotes(o.etag))).toEqual(
        (sdk.Contents ?? []).map((o) => stripQuotes(o.ETag)),
      );
      // Both requests carry our token; s3rver's tokens differ per answer (encrypted), so only their presence.
      expect(ours.isTruncated).toBe(sdk.IsTruncated === true);
      expect(ours.nextContinuationToken === undefined).toBe(sdk.NextContinuationToken === undefined);
      token = ours.nextContinuationToken;
      pages++;
    } while (token);
    expect(pages).toBe(4);
    const keys: string[] = [];
    for await (const entry of listObjects(bucket)) keys.push(entry.key);
    expect(keys).toEqual(expect.arrayContaining(escaped.map((o) => o.key)));
    expect(keys).toHaveLength(18);
  });

  test('an error answer is still the SDK’s error (code and status), not a parse failure', async () => {
    const error = await sendListPage(server().client, { Bucket: 'no-such-bucket-pachops' }).catch((e) => e);
    expect(error).toMatchObject({ name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
  });
});

describe('parseListPage', () => {
  const page = (inner: string) =>
    `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${inner}</ListBucketResult>`;

  test('reads fields in any order and decodes entities', () => {
    const xml = page(
      '<Name>b</Name><IsTruncated>true</IsTruncated><Contents><Size>3</Size><ETag>&quot;abc&quot;</ETag><Key>a&amp;b&#x3C;&#62;</Key></Contents><NextContinuationToken>t&amp;1</NextContinuationToken>',
    );
    expect(parseListPage(xml)).toEqual({
      contents: [{ key: 'a&b<>', size: 3, etag: '"abc"' }],
      isTruncated: true,
      nextContinuationToken: 't&1',
    });
  });

  test('an empty page, and a last page without a token', () => {
    expect(parseListPage(page('<KeyCount>0</KeyCount><IsTruncated>false</IsTruncated>'))).toEqual({
      contents: [],
      isTruncated: false,
      nextContinuationToken: undefined,
    });
  });

  test('refuses what it cannot read rather than guessing', () => {
    expect(() => parseListPage('<Error><Code>SlowDown</Code></Error>')).toThrow(/not a ListBucketResult/);
    expect(() => parseListPage(page('<Contents><Size>1</Size></Contents>'))).toThrow(/without a key or size/);
    expect(() => parseListPage(page('<Contents><Key>k</Key><Size>x</Size></Contents>'))).toThrow(
      /without a key or size/,
    );
    expect(() => parseListPage(page('<Contents id="1"><Key>k</Key><Size>1</Size></Contents>'))).toThrow(
      /unexpected layout/,
    );
    expect(() => parseListPage(page('<Contents><Key><![CDATA[k]]></Key><Size>1</Size></Contents>'))).toThrow(
      /not a ListBucketResult/,
    );
  });
});
