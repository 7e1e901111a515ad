import { connectDatabase, type PostgresTarget, pgError } from './connection.ts';

/** Sizes of the databases to dump (for the plan). */
export async function databaseSizes(
  target: PostgresTarget,
  databases: string[],
): Promise<{ name: string; bytes: number }[]> {
  const client = await connectDatabase(target, databases[0]);
  try {
    const { rows } = await client.query(
      'SELECT datname AS name, pg_database_size(datname)::bigint AS bytes FROM pg_database WHERE datname = ANY($1)',
      [databases],
    );
    return databases.map((name) => {
      const row = rows.find((r) => r.name === name);
      if (!row)
        throw pgError(
          Object.assign(new Error(`database "${name}" does not exist`), { code: '3D000' }),
          'read database sizes',
        );
      return { name, bytes: Number(row.bytes) };
    });
  } finally {
    await client.end();
  }
}

/**
 * Every object key Pachyderm's metadata needs (PACHYDERM.md, "consistency"), in byte order to merge-join
 * with an S3 listing; read through a cursor so that millions of rows never sit in memory.
 */
export async function* chunkObjectKeys(
  target: PostgresTarget,
  database: string,
  batch = 5000,
): AsyncGenerator<string> {
  const client = await connectDatabase(target, database);
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(`
      DECLARE chunk_keys NO SCROLL CURSOR FOR
      SELECT key FROM (
        SELECT 'chunk/' || encode(chunk_id, 'hex') || '.' || lpad(to_hex(gen), 16, '0') AS key
        FROM storage.chunk_objects WHERE uploaded AND NOT tombstone
      ) AS live ORDER BY key COLLATE "C"`);
    for (;;) {
      const { rows } = await client.query(`FETCH ${batch} FROM chunk_keys`);
      for (const row of rows) yield row.key as string;
      if (rows.length < batch) break;
    }
    await client.query('COMMIT');
  } catch (error) {
    throw pgError(error, `read storage.chunk_objects in ${database}`);
  } finally {
    await client.end();
  }
}
