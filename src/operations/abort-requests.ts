import type pg from 'pg';
import type { PhaseName } from './model.ts';

/** Someone asked a running phase to stop: one run of one phase of one operation. */
export interface AbortRequest {
  operationId: string;
  phase: PhaseName;
  /** The phase's run (`phases.runs`) it applies to: a later run (a Retry) is not affected. */
  run: number;
  requestedBy: string;
  requestedAt: Date;
}

type AbortRequestKey = Pick<AbortRequest, 'operationId' | 'phase' | 'run'>;

/**
 * Abort requests in the state database: the bot records them (it never touches the cluster), the worker
 * running that phase polls for them and stops the phase.
 */
export class AbortRequestStore {
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** Records the request; a second one for the same run changes nothing and returns the first. */
  async request(
    input: AbortRequestKey & { requestedBy: string },
  ): Promise<{ created: boolean; request: AbortRequest }> {
    const { rows } = await this.pool.query(
      `INSERT INTO abort_requests (operation_id, phase, run, requested_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING RETURNING *`,
      [input.operationId, input.phase, input.run, input.requestedBy],
    );
    if (rows[0]) return { created: true, request: toRequest(rows[0]) };
    return { created: false, request: (await this.find(input))! };
  }

  async find(key: AbortRequestKey): Promise<AbortRequest | undefined> {
    const { rows } = await this.pool.query(
      'SELECT * FROM abort_requests WHERE operation_id = $1 AND phase = $2 AND run = $3',
      [key.operationId, key.phase, key.run],
    );
    return rows[0] ? toRequest(rows[0]) : undefined;
  }
}

interface AbortRequestRow {
  operation_id: string;
  phase: PhaseName;
  run: number;
  requested_by: string;
  requested_at: Date;
}

function toRequest(row: AbortRequestRow): AbortRequest {
  return {
    operationId: row.operation_id,
    phase: row.phase,
    run: row.run,
    requestedBy: row.requested_by,
    requestedAt: row.requested_at,
  };
}
