import pg from 'pg';
import { PachopsError } from '../errors.ts';
import { connectDatabase, type PostgresTarget, pgError } from './connection.ts';

/**
 * The tables a restore report names (PACHYDERM.md; `core`/`pfs` from 2.8, `collections` before), in
 * report order; those a database lacks are left out.
 */
export const MAIN_PACHYDERM_TABLES = [
  'storage.chunk_objects',
  'storage.filesets',
  'storage.tracker_objects',
  'storage.tracker_refs',
  'core.projects',
  'pfs.repos',
  'pfs.branches',
  'pfs.commits',
  'pfs.commit_diffs',
  'collections.repos',
  'collections.commits',
  'collections.pipelines',
  'collections.jobs',
];

export interface UserTable {
  schema: string;
  name: string;
}

export interface TableRows {
  /** `schema.table`. */
  table: string;
  rows: number;
}

const qualified = (t: UserTable) => `${t.schema}.${t.name}`;

/**
 * Tables in non-system schemas, by the catalog (no privilege needed): partitions are counted through their
 * parent, and tables an extension owns are not the database's content.
 */
export async function listUserTables(client: pg.ClientBase): Promise<UserTable[]> {
  const { rows } = await client.query<UserTable>(`
    SELECT n.nspname AS schema, c.relname AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`);
  return rows;
}

/** Exact count(*) of each table, on the caller's connection (and snapshot). */
export async function countTables(client: pg.ClientBase, tables: UserTable[]): Promise<TableRows[]> {
  const counts: TableRows[] = [];
  for (const table of tables) {
    const name = `${pg.escapeIdentifier(table.schema)}.${pg.escapeIdentifier(table.name)}`;
    const { rows } = await client.query(`SELECT count(*) AS n FROM ${name}`);
    counts.push({ table: qualified(table), rows: Number(rows[0].n) });
  }
  return counts;
}

function pickTables(existing: UserTable[], requested: string[] | undefined, database: string): UserTable[] {
  const byName = new Map(existing.map((t) => [qualified(t), t]));
  if (!requested) {
    const main = MAIN_PACHYDERM_TABLES.flatMap((name) => byName.get(name) ?? []);
    return main.length ? main : existing;
  }
  return requested.map((name) => {
    const table = byName.get(name.includes('.') ? name : `public.${name}`);
    if (!table) {
      throw new PachopsError('TABLE_MISSING', `database ${database} has no table ${name}`, {
        permanent: true,
      });
    }
    return table;
  });
}

/**
 * Exact row counts in one snapshot: of `tables` (`schema.table`; all must exist), else of the main Pachyderm
 * tables the database has, else (dex, anything else) of every user table.
 */
export async function countRows(
  target: PostgresTarget,
  database: string,
  tables?: string[],
): Promise<TableRows[]> {
  const client = await connectDatabase(target, database);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const chosen = pickTables(await listUserTables(client), tables, database);
    const counts = await countTables(client, chosen);
    await client.query('COMMIT');
    return counts;
  } catch (error) {
    throw pgError(error, `count rows in ${database}`);
  } finally {
    await client.end();
  }
}
