/**
 * The simulator's tables: the real shape of Pachyderm's storage tables (src/internal/storage, v2.x
 * migrations, e.g. created_at is TIMESTAMP there), a cut-down pfs, and a few of dex's tables.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';

export const PACHYDERM_SCHEMA = `
CREATE SCHEMA IF NOT EXISTS storage;
CREATE SCHEMA IF NOT EXISTS pfs;

CREATE TABLE storage.chunk_objects (
  chunk_id BYTEA NOT NULL,
  gen BIGSERIAL NOT NULL,
  uploaded BOOLEAN NOT NULL DEFAULT FALSE,
  tombstone BOOLEAN NOT NULL DEFAULT FALSE,
  size INT8 NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (chunk_id, gen)
);

CREATE TABLE storage.keys (
  name VARCHAR(128) NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (name)
);

CREATE TABLE storage.tracker_objects (
  int_id BIGSERIAL PRIMARY KEY,
  str_id VARCHAR(4096) UNIQUE,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  expires_at TIMESTAMP
);

CREATE TABLE storage.tracker_refs (
  from_id INT8 NOT NULL,
  to_id INT8 NOT NULL,
  PRIMARY KEY (from_id, to_id)
);
CREATE INDEX ON storage.tracker_refs (to_id, from_id);

CREATE TABLE storage.filesets (
  id UUID NOT NULL PRIMARY KEY,
  metadata_pb BYTEA NOT NULL,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TYPE pfs.commit_origin AS ENUM ('ORIGIN_KIND_UNKNOWN', 'USER', 'AUTO', 'FSCK');

CREATE TABLE pfs.repos (
  id BIGSERIAL PRIMARY KEY,
  name VARCHAR(63) NOT NULL UNIQUE,
  type TEXT NOT NULL DEFAULT 'user',
  description TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE pfs.commits (
  int_id BIGSERIAL PRIMARY KEY,
  commit_id TEXT NOT NULL UNIQUE,
  commit_set_id TEXT NOT NULL,
  repo_id BIGINT NOT NULL REFERENCES pfs.repos (id),
  branch_id_str TEXT,
  origin pfs.commit_origin NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  start_time TIMESTAMP,
  finished_time TIMESTAMP,
  size BIGINT,
  created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE pfs.commit_diffs (
  commit_int_id BIGINT NOT NULL REFERENCES pfs.commits (int_id) ON DELETE CASCADE,
  num BIGSERIAL NOT NULL,
  fileset_id UUID NOT NULL,
  PRIMARY KEY (commit_int_id, num)
);
`;

export const DEX_SCHEMA = `
CREATE TABLE migrations (num INTEGER NOT NULL, at TIMESTAMPTZ NOT NULL);
CREATE TABLE client (
  id TEXT NOT NULL PRIMARY KEY, secret TEXT NOT NULL, redirect_uris BYTEA NOT NULL,
  trusted_peers BYTEA NOT NULL, public BOOLEAN NOT NULL, name TEXT NOT NULL, logo_url TEXT NOT NULL
);
CREATE TABLE password (
  email TEXT NOT NULL PRIMARY KEY, hash BYTEA NOT NULL, username TEXT NOT NULL, user_id TEXT NOT NULL
);
CREATE TABLE connector (
  id TEXT NOT NULL PRIMARY KEY, type TEXT NOT NULL, name TEXT NOT NULL,
  resource_version TEXT NOT NULL, config BYTEA
);
CREATE TABLE keys (
  id TEXT NOT NULL PRIMARY KEY, verification_keys BYTEA NOT NULL, signing_key BYTEA NOT NULL,
  signing_key_pub BYTEA NOT NULL, next_rotation TIMESTAMPTZ NOT NULL
);
`;

/** Creates Pachyderm's tables and its encryption key row. */
export async function createPachydermSchema(db: pg.ClientBase): Promise<void> {
  await db.query(PACHYDERM_SCHEMA);
  // the chunk encryption key: without this row the bucket is unreadable
  await db.query('INSERT INTO storage.keys (name, data) VALUES ($1, $2)', ['default', randomBytes(32)]);
  await db.query(`INSERT INTO pfs.repos (name, description) VALUES ('images', 'raw images'), ('edges', '')`);
}

/** Creates dex's tables with a handful of rows. */
export async function createDexSchema(db: pg.ClientBase): Promise<void> {
  await db.query(DEX_SCHEMA);
  await db.query(`
    INSERT INTO migrations (num, at) SELECT n, now() FROM generate_series(1, 14) AS n;
    INSERT INTO client VALUES
      ('pachd', 'pachd-secret', '\\x5b5d', '\\x5b5d', false, 'pachd', ''),
      ('console', 'console-secret', '\\x5b5d', '\\x5b5d', false, 'Console', '');
    INSERT INTO password VALUES ('admin@example.com', '\\x2432612431302478', 'admin', 'u-1');
    INSERT INTO connector VALUES ('ldap', 'ldap', 'LDAP', '1', '\\x7b7d');
    INSERT INTO keys VALUES ('keys', '\\x5b5d', '\\x7b7d', '\\x7b7d', now() + interval '6 hours');
  `);
}
