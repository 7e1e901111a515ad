import type pg from 'pg';
import type { PhaseSample } from '../announce/estimate.ts';
import type { OperationState } from './model.ts';

const DOWNTIME = ['pause', 'dump', 'mirror', 'resume'];

interface HistoryRow {
  operation_id: string;
  name: PhaseSample['phase'];
  duration_ms: string;
  finished_at: Date;
  state: OperationState;
}

/**
 * The measured phases of a cluster's earlier backups, newest first, with the sizes each one moved: what
 * the downtime estimator learns from.
 */
export async function loadPhaseHistory(
  pool: pg.Pool,
  cluster: string,
  except?: string,
): Promise<PhaseSample[]> {
  const { rows } = await pool.query<HistoryRow>(
    `SELECT p.operation_id, p.name, p.duration_ms, p.finished_at, o.state
     FROM phases p JOIN operations o ON o.id = p.operation_id
     WHERE o.cluster = $1 AND o.kind = 'backup' AND NOT o.dry_run AND o.id <> coalesce($2, '')
       AND p.status = 'succeeded' AND p.name = ANY($3) AND p.duration_ms IS NOT NULL
     ORDER BY p.finished_at DESC LIMIT 400`,
    [cluster, except ?? null, DOWNTIME],
  );
  return rows.map((row) => toSample(row));
}

function toSample(row: HistoryRow): PhaseSample {
  const { state } = row;
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return {
    operationId: row.operation_id,
    phase: row.name,
    durationMs: Number(row.duration_ms),
    finishedAt: row.finished_at,
    pauseMode: state.pause?.mode ?? 'scale',
    bytes: state.dumps ? sum(Object.values(state.dumps).map((d) => d.bytes)) : undefined,
    databaseBytes: state.plan ? sum(state.plan.databases.map((d) => d.bytes)) : undefined,
    objectsCopied: state.mirror?.copied,
    bytesCopied: state.mirror?.copiedBytes,
    objectsListed: state.mirror?.objects,
  };
}
