import type { Operation, OperationState, PhaseName, PhaseRecord, PhaseStatus } from './model.ts';

/** Rows as node-postgres returns them (timestamps as Date, bigint as string). */
interface OperationRow {
  id: string;
  kind: Operation['kind'];
  cluster: string;
  status: Operation['status'];
  requested_by: string;
  via: Operation['via'];
  options: Operation['options'];
  thread_channel: string | null;
  thread_ts: string | null;
  backup_id: string;
  cluster_paused: boolean;
  state: OperationState;
  created_at: Date;
  finished_at: Date | null;
}

interface PhaseRow {
  operation_id: string;
  name: PhaseName;
  position: number;
  status: PhaseStatus;
  runs: number;
  started_at: Date | null;
  finished_at: Date | null;
  duration_ms: string | null;
  summary: string | null;
  error: string | null;
  approved_by: string | null;
  report_ts: string | null;
}

export function toOperation(row: OperationRow): Operation {
  return {
    id: row.id,
    kind: row.kind,
    cluster: row.cluster,
    status: row.status,
    requestedBy: row.requested_by,
    via: row.via,
    options: row.options,
    thread:
      row.thread_ts && row.thread_channel ? { channel: row.thread_channel, ts: row.thread_ts } : undefined,
    backupId: row.backup_id,
    clusterPaused: row.cluster_paused,
    state: row.state,
    createdAt: row.created_at,
    finishedAt: row.finished_at ?? undefined,
  };
}

export function toPhase(row: PhaseRow): PhaseRecord {
  return {
    operationId: row.operation_id,
    name: row.name,
    position: row.position,
    status: row.status,
    runs: row.runs,
    startedAt: row.started_at ?? undefined,
    finishedAt: row.finished_at ?? undefined,
    durationMs: row.duration_ms === null ? undefined : Number(row.duration_ms),
    summary: row.summary ?? undefined,
    error: row.error ?? undefined,
    approvedBy: row.approved_by ?? undefined,
    reportTs: row.report_ts ?? undefined,
  };
}
