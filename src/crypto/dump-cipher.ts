import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Transform } from 'node:stream';
import { PachopsError } from '../errors.ts';
import type { DumpKey } from './dump-key.ts';

/**
 * The encrypted dump format, a segmented AEAD (the STREAM construction, as in age and Tink):
 *
 *   header  = magic "PCHOPSDE" ‖ version 1 ‖ algorithm 1 ‖ segment size (u32 BE) ‖ key fingerprint (8 bytes)
 *             ‖ salt (16 random bytes)                                                         (38 bytes)
 *   segment = AES-256-GCM(file key, nonce, plaintext, aad = header) ‖ tag (16 bytes), 64 KiB of plaintext
 *             each, the last one 0…64 KiB
 *   file key = HKDF-SHA256(key, salt, "pachops dump v1"): a fresh key per file, so counter nonces never repeat
 *   nonce    = 7 zero bytes ‖ segment counter (u32 BE) ‖ 1 on the last segment, else 0
 *
 * Every segment is authenticated before its plaintext is handed on; a reordered segment fails (counter),
 * a truncated file fails (no segment carries the last flag where the file ends), a foreign header fails.
 */
export const DUMP_CIPHER = 'aes-256-gcm-stream-64k';

/** How a stored dump is encrypted client-side (absent: as pg_dump wrote it). Never the key itself. */
export interface DumpEncryption {
  algorithm: typeof DUMP_CIPHER;
  /** fingerprintOf(key): which key decrypts it. */
  keyFingerprint: string;
}
const MAGIC = Buffer.from('PCHOPSDE', 'latin1');
const VERSION = 1;
const ALGORITHM = 1;
export const SEGMENT_BYTES = 64 * 1024;
const TAG_BYTES = 16;
const SALT_BYTES = 16;
export const HEADER_BYTES = MAGIC.length + 2 + 4 + 8 + SALT_BYTES;
const MAX_SEGMENTS = 2 ** 32;
const INFO = Buffer.from('pachops dump v1');

function fileKey(key: DumpKey, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key.bytes(), salt, INFO, 32));
}

function nonceOf(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(counter, 7);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Chunks in, exact-size slices out, without copying more than a slice at a time. */
class ByteQueue {
  #chunks: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.length += chunk.length;
  }

  take(bytes: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    this.#chunks = all.length > bytes ? [all.subarray(bytes)] : [];
    this.length -= bytes;
    return all.subarray(0, bytes);
  }
}

/** Encrypts a byte stream into the format above: `update` and `final` return what is ready. */
export class DumpEncryptor {
  readonly #header: Buffer;
  readonly #key: Buffer;
  readonly #queue = new ByteQueue();
  #counter = 0;
  #headerSent = false;

  constructor(key: DumpKey) {
    const salt = randomBytes(SALT_BYTES);
    const header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(header, 0);
    header[8] = VERSION;
    header[9] = ALGORITHM;
    header.writeUInt32BE(SEGMENT_BYTES, 10);
    Buffer.from(key.fingerprint, 'hex').copy(header, 14);
    salt.copy(header, 22);
    this.#header = header;
    this.#key = fileKey(key, salt);
  }

  update(chunk: Buffer): Buffer[] {
    this.#queue.push(chunk);
    const out = this.#start();
    // A segment is sealed once a byte beyond it arrives: only then is it known not to be the last.
    while (this.#queue.length > SEGMENT_BYTES) out.push(this.#seal(this.#queue.take(SEGMENT_BYTES), false));
    return out;
  }

  final(): Buffer[] {
    const out = this.#start();
    out.push(this.#seal(this.#queue.take(this.#queue.length), true));
    return out;
  }

  #start(): Buffer[] {
    if (this.#headerSent) return [];
    this.#headerSent = true;
    return [this.#header];
  }

  #seal(plaintext: Buffer, last: boolean): Buffer {
    if (this.#counter >= MAX_SEGMENTS) {
      throw new PachopsError('DUMP_TOO_LARGE', 'a dump above 256 TiB cannot be encrypted', {
        permanent: true,
      });
    }
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonceOf(this.#counter++, last));
    cipher.setAAD(this.#header);
    return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  }
}

/** Decrypts the format above; throws DUMP_* errors, and hands out only authenticated plaintext. */
export class DumpDecryptor {
  readonly #dumpKey: DumpKey;
  readonly #label: string;
  readonly #queue = new ByteQueue();
  #header?: Buffer;
  #key?: Buffer;
  #counter = 0;

  /** `label` names the file in errors (its S3 key). */
  constructor(key: DumpKey, label: string) {
    this.#dumpKey = key;
    this.#label = label;
  }

  update(chunk: Buffer): Buffer[] {
    this.#queue.push(chunk);
    if (!this.#header && this.#queue.length >= HEADER_BYTES) this.#readHeader(this.#queue.take(HEADER_BYTES));
    const out: Buffer[] = [];
    // Opened once a byte beyond it arrives: only the segment that ends the file may carry the last flag.
    while (this.#header && this.#queue.length > SEGMENT_BYTES + TAG_BYTES) {
      out.push(this.#open(this.#queue.take(SEGMENT_BYTES + TAG_BYTES), false));
    }
    return out;
  }

  final(): Buffer[] {
    if (!this.#header) throw this.#notEncrypted();
    if (this.#queue.length < TAG_BYTES) throw this.#damaged('it ends inside a segment (truncated)');
    return [this.#open(this.#queue.take(this.#queue.length), true)];
  }

  #readHeader(header: Buffer): void {
    if (!header.subarray(0, MAGIC.length).equals(MAGIC)) throw this.#notEncrypted();
    if (header[8] !== VERSION || header[9] !== ALGORITHM || header.readUInt32BE(10) !== SEGMENT_BYTES) {
      throw new PachopsError(
        'DUMP_ENCRYPTION_UNSUPPORTED',
        `${this.#label} is encrypted in a format this pachops does not read (version ${header[8]}, algorithm ${header[9]})`,
        { permanent: true, hint: 'restore it with the pachops version that wrote it, or a newer one' },
      );
    }
    const fingerprint = header.subarray(14, 22).toString('hex');
    if (fingerprint !== this.#dumpKey.fingerprint) throw keyMismatch(this.#label, fingerprint, this.#dumpKey);
    this.#header = header;
    this.#key = fileKey(this.#dumpKey, header.subarray(22, 22 + SALT_BYTES));
  }

  #open(segment: Buffer, last: boolean): Buffer {
    const index = this.#counter++;
    const decipher = createDecipheriv('aes-256-gcm', this.#key!, nonceOf(index, last));
    decipher.setAAD(this.#header!);
    decipher.setAuthTag(segment.subarray(segment.length - TAG_BYTES));
    const plaintext = decipher.update(segment.subarray(0, segment.length - TAG_BYTES));
    try {
      decipher.final();
    } catch {
      const why = last
        ? 'its last segment does not authenticate: it was truncated, reordered or altered'
        : `segment ${index} does not authenticate: it was altered or reordered`;
      throw this.#damaged(why);
    }
    return plaintext;
  }

  #notEncrypted(): PachopsError {
    return new PachopsError(
      'DUMP_NOT_ENCRYPTED',
      `${this.#label} is not an encrypted pachops dump (no PCHOPSDE header), though its manifest says it is`,
      { permanent: true, hint: 'the dump was replaced after the backup; nothing was restored from it' },
    );
  }

  #damaged(why: string): PachopsError {
    return new PachopsError('DUMP_DECRYPT_FAILED', `${this.#label} cannot be decrypted: ${why}`, {
      permanent: true,
      hint: 'nothing unauthenticated was restored from it; restore from another backup',
    });
  }
}

/** The key at hand is not the one a dump was encrypted with: names both fingerprints, never a key. */
export function keyMismatch(label: string, expected: string, key: DumpKey): PachopsError {
  return new PachopsError(
    'DUMP_KEY_MISMATCH',
    `${label} was encrypted with the key of fingerprint ${expected}; ${key.env} holds the key of fingerprint ${key.fingerprint}`,
    { permanent: true, hint: `set ${key.env} to the key the backup was made with` },
  );
}

/**
 * The key that decrypts a dump a manifest lists: none for a plain dump; DUMP_KEY_MISSING or
 * DUMP_KEY_MISMATCH, before anything is read, when the key at hand cannot. `where` names the config entry.
 */
export function keyForDump(
  dump: { key: string; encryption?: DumpEncryption },
  available: DumpKey | undefined,
  where: string,
): DumpKey | undefined {
  if (!dump.encryption) return undefined;
  const expected = dump.encryption.keyFingerprint;
  if (!available) {
    throw new PachopsError(
      'DUMP_KEY_MISSING',
      `${dump.key} is encrypted (key fingerprint ${expected}) and ${where}.encryption names no key`,
      {
        permanent: true,
        hint: `set ${where}.encryption.keyEnv to a variable holding the key the backup was made with`,
      },
    );
  }
  if (available.fingerprint !== expected) throw keyMismatch(dump.key, expected, available);
  return available;
}

/** The plaintext of a dump as it streams in: the bytes as stored, or decrypted segment by segment. */
export function plaintextOf(
  key: DumpKey | undefined,
  label: string,
): { update(chunk: Buffer): Buffer[]; final(): Buffer[] } {
  if (key) return new DumpDecryptor(key, label);
  return { update: (chunk) => [chunk], final: () => [] };
}

/** A Transform that runs `update`/`final` of an encryptor or decryptor over a stream. */
function cipherStream(cipher: { update(chunk: Buffer): Buffer[]; final(): Buffer[] }): Transform {
  return new Transform({
    // a few segments buffered each way, so that pg_dump is not held back at every 64 KiB segment
    highWaterMark: 4 * SEGMENT_BYTES,
    transform(chunk: Buffer, _encoding, callback) {
      try {
        for (const out of cipher.update(chunk)) this.push(out);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      try {
        for (const out of cipher.final()) this.push(out);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

export function createEncryptStream(key: DumpKey): Transform {
  return cipherStream(new DumpEncryptor(key));
}

export function createDecryptStream(key: DumpKey, label: string): Transform {
  return cipherStream(new DumpDecryptor(key, label));
}
