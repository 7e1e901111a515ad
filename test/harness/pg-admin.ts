/** Superuser chores on a test PostgreSQL server: the same for a server this process started and the shared one. */
import pg from 'pg';

/** Where a PostgreSQL superuser connects. */
export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Whether the server has ssl=on (then `?sslmode=require` in a URL works). */
  ssl: boolean;
  /** The server's self-signed certificate (PEM path), usable as sslrootcert for verify-full; null without ssl. */
  sslRootCert: string | null;
}

/** What tests use to reach, and make databases on, a PostgreSQL server. */
export interface PgAdmin extends PgTarget {
  /** postgres://user:password@host:port/db (db defaults to 'postgres'). */
  url(db?: string): string;
  /** CREATE DATABASE name (OWNER owner); resolves to the new database's superuser URL. */
  createDatabase(name: string, owner?: string): Promise<string>;
  /** CREATE ROLE name LOGIN PASSWORD password. */
  createRole(name: string, password: string): Promise<void>;
  /** DROP DATABASE IF EXISTS name WITH (FORCE). */
  dropDatabase(name: string): Promise<void>;
}

/** Wraps a target with the superuser chores. */
export function makePgAdmin(target: PgTarget): PgAdmin {
  const url = (db = 'postgres') =>
    `postgres://${encodeURIComponent(target.user)}:${encodeURIComponent(target.password)}` +
    `@${target.host}:${target.port}/${encodeURIComponent(db)}`;
  return {
    ...target,
    url,
    async createDatabase(name, owner) {
      const ownerSql = owner ? ` OWNER ${pg.escapeIdentifier(owner)}` : '';
      await runSql(url(), `CREATE DATABASE ${pg.escapeIdentifier(name)}${ownerSql}`);
      return url(name);
    },
    async createRole(name, password) {
      await runSql(
        url(),
        `CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN PASSWORD ${pg.escapeLiteral(password)}`,
      );
    },
    async dropDatabase(name) {
      await runSql(url(), `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    },
  };
}

/** Runs statements on one short-lived connection. */
export async function runSql(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}
