/**
 * A database of a chosen size for the dump benchmark, made quickly with generate_series: rows of text
 * (compressible, like metadata) and of random bytea (incompressible, like hashes and blobs).
 */
import pg from 'pg';

// One statement a query: a multi-statement query here ended the connection (pg 8.23).
const SCHEMA = [
  'CREATE EXTENSION IF NOT EXISTS pgcrypto',
  'CREATE TABLE IF NOT EXISTS events (id bigserial PRIMARY KEY, created timestamptz NOT NULL, kind text NOT NULL, payload text NOT NULL)',
  'CREATE TABLE IF NOT EXISTS blobs (id bigserial PRIMARY KEY, digest bytea NOT NULL, data bytea NOT NULL)',
];

/** One batch: about 20 MB of text rows and 22 MB of random bytea. */
const BATCH = [
  `INSERT INTO events (created, kind, payload)
     SELECT now() - make_interval(secs => i), (ARRAY['commit','job','datum','file'])[1 + i % 4],
            md5(i::text) || md5((i * 7)::text) || repeat('x', i % 40)
     FROM generate_series(1, 100000) AS i`,
  'INSERT INTO blobs (digest, data) SELECT gen_random_bytes(32), gen_random_bytes(1024) FROM generate_series(1, 20000)',
];

/** The database's size in bytes. */
export async function databaseBytes(client: pg.Client): Promise<number> {
  const { rows } = await client.query('SELECT pg_database_size(current_database())::bigint AS bytes');
  return Number(rows[0].bytes);
}

/** Adds batches until the database holds at least `bytes`; returns its size then. */
export async function growDatabase(url: string, bytes: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of SCHEMA) await client.query(statement);
    let size = await databaseBytes(client);
    while (size < bytes) {
      for (const statement of BATCH) await client.query(statement);
      size = await databaseBytes(client);
    }
    await client.query('VACUUM ANALYZE');
    return await databaseBytes(client);
  } finally {
    await client.end();
  }
}
