import { join } from 'node:path';
import { execa } from 'execa';
import { postgresToolEnv } from '../child-env.ts';
import { PachopsError } from '../errors.ts';

export type PgTool = 'pg_dump' | 'pg_restore';

/** `tools.pgBin` names the folder of pg_dump/pg_restore; empty means PATH. */
export function pgToolPath(tool: PgTool, pgBin: string): string {
  return pgBin ? join(pgBin, tool) : tool;
}

/** The major version a pg_dump/pg_restore binary reports (`pg_dump (PostgreSQL) 15.19` → 15). */
export async function pgToolMajor(tool: PgTool, pgBin: string): Promise<{ major: number; version: string }> {
  const path = pgToolPath(tool, pgBin);
  const result = await execa(path, ['--version'], { reject: false, ...postgresToolEnv() });
  const match = /(\d+)(?:\.(\d+))?/.exec(String(result.stdout ?? ''));
  if (result.failed || !match) {
    throw new PachopsError(
      'PG_TOOL_MISSING',
      `cannot run ${path}: ${result.shortMessage ?? 'no version printed'}`,
      {
        permanent: true,
        hint: 'install the PostgreSQL client tools or set tools.pgBin to their folder',
      },
    );
  }
  return { major: Number(match[1]), version: match[0] };
}

/** pg_dump must be at least the server's major version; say which one is needed when it is not. */
export function checkDumpCompatible(
  tool: { major: number; version: string },
  serverVersionNum: number,
  pgBin: string,
): void {
  const serverMajor = Math.floor(serverVersionNum / 10000);
  if (tool.major < serverMajor) {
    throw new PachopsError(
      'PG_DUMP_TOO_OLD',
      `pg_dump ${tool.version} cannot dump a PostgreSQL ${serverMajor} server`,
      {
        permanent: true,
        hint: `install pg_dump ${serverMajor} or newer and point tools.pgBin at it (now: ${pgBin || 'PATH'})`,
      },
    );
  }
}
