import pg from 'pg';
import { PachopsError } from '../errors.ts';
import { MIGRATIONS } from './migrations.ts';
import {
  type BackupOptions,
  type Operation,
  type OperationKind,
  type OperationState,
  type OperationStatus,
  type PhaseName,
  type PhaseRecord,
  type PhaseStatus,
  phaseList,
  type SlackThread,
} from './model.ts';
import { toOperation, toPhase } from './store-rows.ts';

export interface AuditEntry {
  at: Date;
  operationId?: string;
  cluster?: string;
  actor: string;
  action: string;
  details: Record<string, unknown>;
}

const MIGRATION_LOCK = 0x7061636801; // pg_advisory_xact_lock key: "pach" + 1

export interface NewOperation {
  id: string;
  kind: OperationKind;
  cluster: string;
  requestedBy: string;
  via: 'slack' | 'cli' | 'schedule';
  options: BackupOptions;
  backupId: string;
}

/** The bot's own database: operations, phases, approval prompts and the audit trail. */
export class StateStore {
  readonly pool: pg.Pool;

  constructor(url: string, options: { onError?: (error: Error) => void } = {}) {
    this.pool = new pg.Pool({ connectionString: url, max: 5 });
    // An idle connection ended by the server (restart, failover, a proxy's timeout) is dropped by the pool
    // and replaced on the next query; without a listener it would crash the process.
    this.pool.on('error', (error) => options.onError?.(error));
  }

  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS pachops_migrations (version int PRIMARY KEY, applied_at timestamptz DEFAULT now())',
      );
      const { rows } = await client.query('SELECT coalesce(max(version), 0) AS v FROM pachops_migrations');
      for (let version = Number(rows[0].v) + 1; version <= MIGRATIONS.length; version++) {
        await client.query(MIGRATIONS[version - 1]);
        await client.query('INSERT INTO pachops_migrations (version) VALUES ($1)', [version]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Creates the operation and its phases; refuses when the cluster already has an active one. */
  async createOperation(input: NewOperation): Promise<Operation> {
    const client = await this.pool.connect();
    let conflict = false;
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO operations (id, kind, cluster, status, requested_by, via, options, dry_run, backup_id)
         VALUES ($1, $2, $3, 'planning', $4, $5, $6, $7, $8)`,
        [
          input.id,
          input.kind,
          input.cluster,
          input.requestedBy,
          input.via,
          input.options,
          input.options.dryRun,
          input.backupId,
        ],
      );
      for (const [position, name] of phaseList(input.kind, input.options).entries()) {
        await client.query(
          'INSERT INTO phases (operation_id, name, position, status) VALUES ($1, $2, $3, $4)',
          [input.id, name, position, 'pending'],
        );
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      conflict = (error as { constraint?: string }).constraint === 'operations_one_active_per_cluster';
      if (!conflict) throw error;
    } finally {
      // Released before any further query: under a burst of requests the pool must not wait on itself.
      client.release();
    }
    if (conflict) throw await this.activeOperationError(input.cluster);
    return (await this.getOperation(input.id))!;
  }

  private async activeOperationError(cluster: string): Promise<PachopsError> {
    const active = await this.activeOperation(cluster);
    const what = active ? ` (${active.id}, ${active.status}, requested by ${active.requestedBy})` : '';
    return new PachopsError('OPERATION_ACTIVE', `cluster ${cluster} already has an active operation${what}`, {
      permanent: true,
      hint: 'finish or abort it first; `/pach status` shows it',
    });
  }

  async getOperation(id: string): Promise<Operation | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM operations WHERE id = $1', [id]);
    return rows[0] ? toOperation(rows[0]) : undefined;
  }

  async activeOperation(cluster: string): Promise<Operation | undefined> {
    const { rows } = await this.pool.query(
      'SELECT * FROM operations WHERE cluster = $1 AND finished_at IS NULL AND NOT dry_run',
      [cluster],
    );
    return rows[0] ? toOperation(rows[0]) : undefined;
  }

  async listOperations(filter: { active?: boolean; limit?: number } = {}): Promise<Operation[]> {
    const where = filter.active ? 'WHERE finished_at IS NULL' : '';
    const { rows } = await this.pool.query(
      `SELECT * FROM operations ${where} ORDER BY created_at DESC LIMIT $1`,
      [filter.limit ?? 20],
    );
    return rows.map(toOperation);
  }

  async setThread(id: string, thread: SlackThread): Promise<void> {
    await this.pool.query(
      'UPDATE operations SET thread_channel = $2, thread_ts = $3, updated_at = now() WHERE id = $1',
      [id, thread.channel, thread.ts],
    );
  }

  async setStatus(id: string, status: OperationStatus, options: { finished?: boolean } = {}): Promise<void> {
    await this.pool.query(
      `UPDATE operations SET status = $2, updated_at = now(),
         finished_at = CASE WHEN $3 THEN coalesce(finished_at, now()) ELSE finished_at END
       WHERE id = $1`,
      [id, status, options.finished ?? false],
    );
  }

  async setClusterPaused(id: string, paused: boolean): Promise<void> {
    await this.pool.query('UPDATE operations SET cluster_paused = $2, updated_at = now() WHERE id = $1', [
      id,
      paused,
    ]);
  }

  /** Shallow-merges `patch` into the operation's state (each phase owns its top-level keys). */
  async patchState(id: string, patch: Partial<OperationState>): Promise<OperationState> {
    const { rows } = await this.pool.query(
      'UPDATE operations SET state = state || $2::jsonb, updated_at = now() WHERE id = $1 RETURNING state',
      [id, JSON.stringify(patch)],
    );
    return rows[0].state;
  }

  /** Removes one key of the state (`patchState` merges, so it cannot). */
  async unsetState(id: string, key: keyof OperationState): Promise<void> {
    await this.pool.query(
      'UPDATE operations SET state = state - $2::text, updated_at = now() WHERE id = $1',
      [id, key],
    );
  }

  async getPhases(operationId: string): Promise<PhaseRecord[]> {
    const { rows } = await this.pool.query('SELECT * FROM phases WHERE operation_id = $1 ORDER BY position', [
      operationId,
    ]);
    return rows.map(toPhase);
  }

  async getPhase(operationId: string, name: PhaseName): Promise<PhaseRecord | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM phases WHERE operation_id = $1 AND name = $2', [
      operationId,
      name,
    ]);
    return rows[0] ? toPhase(rows[0]) : undefined;
  }

  /** Marks a phase queued and counts the run; returns the run number (part of the job id). */
  async queuePhase(operationId: string, name: PhaseName, approvedBy?: string): Promise<number> {
    const { rows } = await this.pool.query(
      `UPDATE phases SET status = 'queued', runs = runs + 1, approved_by = coalesce($3, approved_by), error = NULL
       WHERE operation_id = $1 AND name = $2 RETURNING runs`,
      [operationId, name, approvedBy ?? null],
    );
    await this.setStatus(operationId, 'running');
    return rows[0].runs;
  }

  /** Undoes queuePhase when the job could not be enqueued. */
  async unqueuePhase(
    operationId: string,
    name: PhaseName,
    status: PhaseStatus,
    operationStatus: OperationStatus,
  ) {
    await this.pool.query(
      `UPDATE phases SET status = $3, runs = greatest(runs - 1, 0) WHERE operation_id = $1 AND name = $2 AND status = 'queued'`,
      [operationId, name, status],
    );
    await this.setStatus(operationId, operationStatus);
  }

  async updatePhase(
    operationId: string,
    name: PhaseName,
    change: { status: PhaseStatus; summary?: string; error?: string; result?: unknown },
  ): Promise<void> {
    const starting = change.status === 'running';
    const ending = ['succeeded', 'failed', 'skipped'].includes(change.status);
    await this.pool.query(
      `UPDATE phases SET status = $3,
         started_at = CASE WHEN $4 THEN now() ELSE started_at END,
         finished_at = CASE WHEN $5 THEN now() ELSE NULL END,
         duration_ms = CASE WHEN $5 AND started_at IS NOT NULL
           THEN (extract(epoch FROM now() - started_at) * 1000)::bigint ELSE duration_ms END,
         summary = coalesce($6, summary), error = $7, result = coalesce($8, result)
       WHERE operation_id = $1 AND name = $2`,
      [
        operationId,
        name,
        change.status,
        starting,
        ending,
        change.summary ?? null,
        change.error ?? null,
        change.result === undefined ? null : JSON.stringify(change.result),
      ],
    );
  }

  async setPhaseReport(operationId: string, name: PhaseName, ts: string): Promise<void> {
    await this.pool.query('UPDATE phases SET report_ts = $3 WHERE operation_id = $1 AND name = $2', [
      operationId,
      name,
      ts,
    ]);
  }

  /** The audit trail, newest first. */
  async listAudit(filter: { cluster?: string; limit?: number } = {}): Promise<AuditEntry[]> {
    const { rows } = await this.pool.query(
      `SELECT at, operation_id, cluster, actor, action, details FROM audit
       WHERE ($1::text IS NULL OR cluster = $1) ORDER BY at DESC, id DESC LIMIT $2`,
      [filter.cluster ?? null, filter.limit ?? 50],
    );
    return rows.map((r) => ({
      at: r.at,
      operationId: r.operation_id ?? undefined,
      cluster: r.cluster ?? undefined,
      actor: r.actor,
      action: r.action,
      details: r.details,
    }));
  }

  async audit(entry: {
    operationId?: string;
    cluster?: string;
    actor: string;
    action: string;
    details?: object;
  }) {
    await this.pool.query(
      'INSERT INTO audit (operation_id, cluster, actor, action, details) VALUES ($1, $2, $3, $4, $5)',
      [entry.operationId ?? null, entry.cluster ?? null, entry.actor, entry.action, entry.details ?? {}],
    );
  }
}
