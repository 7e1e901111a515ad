/** The state database's schema, one entry per version; applied in order, each once, in a transaction. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE operations (
    id             text PRIMARY KEY,
    kind           text NOT NULL,
    cluster        text NOT NULL,
    status         text NOT NULL,
    requested_by   text NOT NULL,
    via            text NOT NULL,
    options        jsonb NOT NULL,
    dry_run        boolean NOT NULL DEFAULT false,
    thread_channel text,
    thread_ts      text,
    backup_id      text NOT NULL UNIQUE,
    cluster_paused boolean NOT NULL DEFAULT false,
    state          jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
  );
  -- The one-operation-per-cluster rule, enforced by the database rather than by hope.
  CREATE UNIQUE INDEX operations_one_active_per_cluster ON operations (cluster)
    WHERE finished_at IS NULL AND NOT dry_run;

  CREATE TABLE phases (
    operation_id text NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    name         text NOT NULL,
    position     int NOT NULL,
    status       text NOT NULL,
    runs         int NOT NULL DEFAULT 0,
    approved_by  text,
    started_at   timestamptz,
    finished_at  timestamptz,
    duration_ms  bigint,
    summary      text,
    result       jsonb,
    error        text,
    report_ts    text,
    PRIMARY KEY (operation_id, name)
  );

  CREATE TABLE prompts (
    id           text PRIMARY KEY,
    operation_id text NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    phase        text NOT NULL,
    kind         text NOT NULL,
    status       text NOT NULL,
    channel      text,
    ts           text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    decided_by   text,
    decision     text,
    decided_at   timestamptz
  );
  CREATE INDEX prompts_by_operation ON prompts (operation_id);

  CREATE TABLE audit (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    operation_id text,
    cluster      text,
    actor        text NOT NULL,
    action       text NOT NULL,
    details      jsonb NOT NULL DEFAULT '{}'
  );
  CREATE INDEX audit_by_cluster ON audit (cluster, at);
  `,
  `
  -- A restore names the backup it restores: backup ids are unique among backups only.
  ALTER TABLE operations DROP CONSTRAINT operations_backup_id_key;
  CREATE UNIQUE INDEX operations_backup_id_of_backups ON operations (backup_id) WHERE kind = 'backup';
  `,
  `
  CREATE TABLE schedules (
    id             text PRIMARY KEY,
    cluster        text NOT NULL,
    cron           text NOT NULL,
    tz             text NOT NULL,
    channel        text NOT NULL,
    note           text,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz,
    last_fired_for timestamptz
  );
  `,
  `
  -- [Abort] on a running phase: recorded by the bot, polled by the worker running that run of the phase.
  -- Keyed by run, so that a request for an aborted run never stops the retry that follows it.
  CREATE TABLE abort_requests (
    operation_id text NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    phase        text NOT NULL,
    run          int NOT NULL,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (operation_id, phase, run)
  );
  `,
  `
  -- /metrics folds finished operations into running totals by finished_at, and reads only those finished
  -- since (and the active ones, finished_at IS NULL) on each scrape.
  CREATE INDEX operations_by_finished_at ON operations (finished_at);
  `,
];
