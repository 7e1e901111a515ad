/**
 * The encrypted dump format (src/crypto/dump-cipher.ts): round trips at the sizes around a segment, and
 * every kind of damage — truncation, a flipped bit, swapped segments, another key, a foreign file — rejected
 * with its own code before any plaintext of the damaged segment comes out.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inspect } from 'node:util';
import {
  createDecryptStream,
  createEncryptStream,
  DumpDecryptor,
  DumpEncryptor,
  HEADER_BYTES,
  SEGMENT_BYTES,
} from '../../src/crypto/dump-cipher.ts';
import { DumpKey, fingerprintOf, readDumpKey } from '../../src/crypto/dump-key.ts';
import type { PachopsError } from '../../src/errors.ts';

const key = new DumpKey(randomBytes(32), 'PACHOPS_DUMP_KEY');
const otherKey = new DumpKey(randomBytes(32), 'PACHOPS_DUMP_KEY');
const SEGMENT = SEGMENT_BYTES + 16;

/** Feeds `data` in uneven chunks (7 KiB) so that segments never line up with chunks. */
function run(cipher: DumpEncryptor | DumpDecryptor, data: Buffer, chunk = 7 * 1024): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunk) out.push(...cipher.update(data.subarray(at, at + chunk)));
  out.push(...cipher.final());
  return Buffer.concat(out);
}

const encrypt = (data: Buffer) => run(new DumpEncryptor(key), data);
const decrypt = (data: Buffer, with_ = key) => run(new DumpDecryptor(with_, 'db/pachyderm.dump'), data);

function failure(data: Buffer, with_ = key): PachopsError {
  try {
    decrypt(data, with_);
  } catch (error) {
    return error as PachopsError;
  }
  throw new Error('decrypted damaged input');
}

describe('round trip', () => {
  test.each([
    ['0 bytes', 0],
    ['1 byte', 1],
    ['a segment less one', SEGMENT_BYTES - 1],
    ['a segment', SEGMENT_BYTES],
    ['a segment and one', SEGMENT_BYTES + 1],
    ['5 MiB and change', 5 * 1024 * 1024 + 12_345],
  ])('%s', (_name, size) => {
    const plaintext = randomBytes(size);
    const sealed = encrypt(plaintext);
    const segments = Math.max(1, Math.ceil(size / SEGMENT_BYTES));
    expect(sealed.length).toBe(HEADER_BYTES + size + segments * 16);
    expect(sealed.subarray(0, 8).toString('latin1')).toBe('PCHOPSDE');
    expect(decrypt(sealed).equals(plaintext)).toBe(true);
    // whole segments in one call decrypt the same
    expect(run(new DumpDecryptor(key, 'x'), sealed, 1024 * 1024).equals(plaintext)).toBe(true);
  });

  test('two encryptions of the same bytes differ (a fresh salt and file key each)', () => {
    const plaintext = Buffer.from('PGDMP same content');
    expect(encrypt(plaintext).equals(encrypt(plaintext))).toBe(false);
  });

  test('the streams carry a large input with the same result', async () => {
    const plaintext = randomBytes(3 * SEGMENT_BYTES + 99);
    const sealed: Buffer[] = [];
    await pipeline(Readable.from([plaintext]), createEncryptStream(key), async (source) => {
      for await (const chunk of source) sealed.push(chunk as Buffer);
    });
    const opened: Buffer[] = [];
    await pipeline(Readable.from([Buffer.concat(sealed)]), createDecryptStream(key, 'x'), async (source) => {
      for await (const chunk of source) opened.push(chunk as Buffer);
    });
    expect(Buffer.concat(opened).equals(plaintext)).toBe(true);
  });
});

describe('damage is rejected', () => {
  const plaintext = randomBytes(3 * SEGMENT_BYTES + 500);
  const sealed = encrypt(plaintext);

  test('truncated at a segment boundary: the cut segment was not the last', () => {
    const error = failure(sealed.subarray(0, HEADER_BYTES + 2 * SEGMENT));
    expect(error.code).toBe('DUMP_DECRYPT_FAILED');
    expect(error.message).toMatch(/truncated/);
  });

  test('truncated inside a segment, and inside the last tag', () => {
    expect(failure(sealed.subarray(0, HEADER_BYTES + SEGMENT + 100)).code).toBe('DUMP_DECRYPT_FAILED');
    expect(failure(sealed.subarray(0, HEADER_BYTES + 3 * SEGMENT + 5)).code).toBe('DUMP_DECRYPT_FAILED');
    expect(failure(sealed.subarray(0, HEADER_BYTES)).code).toBe('DUMP_DECRYPT_FAILED');
  });

  test('bytes appended after the last segment', () => {
    expect(failure(Buffer.concat([sealed, Buffer.from('x')])).code).toBe('DUMP_DECRYPT_FAILED');
  });

  test('a flipped bit in a segment, in a tag, and in the header salt', () => {
    for (const at of [HEADER_BYTES + SEGMENT + 10, HEADER_BYTES + SEGMENT - 1, 30]) {
      const bad = Buffer.from(sealed);
      bad[at]! ^= 0x01;
      const error = failure(bad);
      expect(error.code).toBe('DUMP_DECRYPT_FAILED');
    }
  });

  test('no plaintext of a damaged segment comes out: the segments before it do', () => {
    const bad = Buffer.from(sealed);
    bad[HEADER_BYTES + SEGMENT + 10]! ^= 0x01;
    const decryptor = new DumpDecryptor(key, 'x');
    const out: Buffer[] = [];
    expect(() => {
      for (let at = 0; at < bad.length; at += 4096)
        out.push(...decryptor.update(bad.subarray(at, at + 4096)));
    }).toThrow(/segment 1 does not authenticate/);
    expect(Buffer.concat(out).equals(plaintext.subarray(0, SEGMENT_BYTES))).toBe(true);
  });

  test('two segments swapped', () => {
    const first = sealed.subarray(HEADER_BYTES, HEADER_BYTES + SEGMENT);
    const second = sealed.subarray(HEADER_BYTES + SEGMENT, HEADER_BYTES + 2 * SEGMENT);
    const swapped = Buffer.concat([
      sealed.subarray(0, HEADER_BYTES),
      second,
      first,
      sealed.subarray(HEADER_BYTES + 2 * SEGMENT),
    ]);
    expect(failure(swapped).message).toMatch(/segment 0 does not authenticate/);
  });

  test('another key: named by both fingerprints, before any segment is read', () => {
    const error = failure(sealed, otherKey);
    expect(error.code).toBe('DUMP_KEY_MISMATCH');
    expect(error.message).toContain(key.fingerprint);
    expect(error.message).toContain(`PACHOPS_DUMP_KEY holds the key of fingerprint ${otherKey.fingerprint}`);
  });

  test('a plain pg_dump file is not taken for an encrypted one', () => {
    const error = failure(Buffer.concat([Buffer.from('PGDMP'), randomBytes(100)]));
    expect(error.code).toBe('DUMP_NOT_ENCRYPTED');
    expect(failure(Buffer.from('PGDMP')).code).toBe('DUMP_NOT_ENCRYPTED');
  });

  test('a damaged stream ends the pipeline with the error', async () => {
    const bad = Buffer.from(sealed);
    bad[HEADER_BYTES + 5]! ^= 0x80;
    const piped = pipeline(Readable.from([bad]), createDecryptStream(key, 'x'), async (source) => {
      for await (const _ of source) void _;
    });
    await expect(piped).rejects.toMatchObject({ code: 'DUMP_DECRYPT_FAILED' });
  });
});

describe('the key', () => {
  const text = randomBytes(32).toString('base64');

  test('parses from base64 and never shows itself', () => {
    const parsed = readDumpKey(text, 'MY_KEY', 'clusters.prod.backup.encryption.keyEnv');
    expect(parsed.fingerprint).toBe(fingerprintOf(Buffer.from(text, 'base64')));
    expect(parsed.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    for (const shown of [
      JSON.stringify({ parsed }),
      inspect(parsed),
      String(parsed),
      inspect({ deep: { parsed } }),
    ]) {
      expect(shown).not.toContain(text);
      expect(shown).not.toContain(Buffer.from(text, 'base64').toString('hex'));
      expect(shown).toContain(parsed.fingerprint);
    }
  });

  test.each([
    ['missing', undefined, /MY_KEY is not set/],
    ['not base64', 'not*base64!', /MY_KEY is not base64 .*openssl rand -base64 32/],
    ['16 bytes', randomBytes(16).toString('base64'), /MY_KEY holds 16 bytes, not 32/],
  ])('%s: a message that names the variable, never the value', (_name, value, message) => {
    let error: unknown;
    try {
      readDumpKey(value, 'MY_KEY', 'clusters.prod.backup.encryption.keyEnv');
    } catch (caught) {
      error = caught;
    }
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^clusters\.prod\.backup\.encryption\.keyEnv: /);
    if (value) expect((error as Error).message).not.toContain(value);
  });
});
