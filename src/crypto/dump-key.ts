import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { ConfigError } from '../errors.ts';

/** AES-256: the key is 32 bytes. */
export const DUMP_KEY_BYTES = 32;

/**
 * The key that encrypts the database dumps, read from the environment variable `env`. It never prints
 * itself: logged, inspected or serialised it shows only the variable's name and the key's fingerprint.
 */
export class DumpKey {
  readonly env: string;
  /** sha256 of the key, its first 16 hex digits: recorded in the manifest to tell keys apart. */
  readonly fingerprint: string;
  readonly #bytes: Buffer;

  constructor(bytes: Buffer, env: string) {
    this.#bytes = Buffer.from(bytes);
    this.env = env;
    this.fingerprint = fingerprintOf(bytes);
  }

  /** The raw key, for the cipher only. */
  bytes(): Buffer {
    return this.#bytes;
  }

  toJSON(): { env: string; fingerprint: string } {
    return { env: this.env, fingerprint: this.fingerprint };
  }

  toString(): string {
    return `DumpKey(${this.env}, fingerprint ${this.fingerprint})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export function fingerprintOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/**
 * Parses the dump key from its environment variable: 32 bytes in base64 (`openssl rand -base64 32`).
 * Errors name the variable and the config key, never the value.
 */
export function readDumpKey(value: string | undefined, env: string, configKey: string): DumpKey {
  if (!value) throw new ConfigError(`${configKey}: environment variable ${env} is not set`);
  const text = value.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new ConfigError(
      `${configKey}: ${env} is not base64 (make a key with: openssl rand -base64 ${DUMP_KEY_BYTES})`,
    );
  }
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== DUMP_KEY_BYTES) {
    throw new ConfigError(
      `${configKey}: ${env} holds ${bytes.length} bytes, not ${DUMP_KEY_BYTES} (make a key with: openssl rand -base64 ${DUMP_KEY_BYTES})`,
    );
  }
  return new DumpKey(bytes, env);
}
