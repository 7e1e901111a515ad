import { PachopsError } from '../../src/errors.ts';
import type { PostgresTarget } from '../../src/postgres/connection.ts';
import { DEFAULT_DUMP_COMPRESSION, dumpCompression } from '../../src/postgres/dump.ts';

const target = (dumpCompression?: number | string): PostgresTarget => ({
  host: 'db',
  port: 5432,
  user: 'pachyderm',
  sslmode: 'require',
  databases: ['pachyderm'],
  dumpCompression,
});
const pgDump = (major: number) => ({ major, version: `${major}.4` });

test('a gzip level goes to any pg_dump; absent is level 1', () => {
  expect(dumpCompression(target(), pgDump(15))).toBe(String(DEFAULT_DUMP_COMPRESSION));
  expect(DEFAULT_DUMP_COMPRESSION).toBe(1);
  expect(dumpCompression(target(0), pgDump(13))).toBe('0');
  expect(dumpCompression(target('6'), pgDump(15))).toBe('6');
  expect(dumpCompression(target(9), pgDump(17))).toBe('9');
});

test('a method needs pg_dump 16: older ones are refused, permanently, with the fix', () => {
  for (const method of ['zstd', 'lz4:3', 'none']) {
    expect(dumpCompression(target(method), pgDump(16))).toBe(method);
    let error: unknown;
    try {
      dumpCompression(target(method), pgDump(15));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PachopsError);
    expect(error).toMatchObject({
      code: 'PG_DUMP_COMPRESSION',
      permanent: true,
      message: `pg_dump 15.4 knows gzip levels 0–9 only, not dumpCompression ${method}`,
    });
    expect((error as PachopsError).hint).toMatch(/pg_dump 16 or newer/);
  }
});
