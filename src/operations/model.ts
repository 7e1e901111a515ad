import type { PhaseName } from '../config/schema.ts';

export type { PhaseName };
export type OperationKind = 'backup';

/** Phases of a backup, in order. `plan` is internal: it runs without approval and estimates sizes. */
export const BACKUP_PHASES = ['plan', 'pause', 'dump', 'mirror', 'resume', 'verify'] as const;
export type BackupPhase = (typeof BACKUP_PHASES)[number];

export type OperationStatus =
  | 'planning'
  | 'awaiting-approval'
  | 'running'
  | 'failed'
  | 'succeeded'
  | 'rejected'
  | 'aborted'
  | 'planned';

export const TERMINAL_STATUSES: readonly OperationStatus[] = ['succeeded', 'rejected', 'aborted', 'planned'];

export type PhaseStatus =
  | 'pending'
  | 'awaiting-approval'
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'skipped';

export interface SlackThread {
  channel: string;
  /** The parent message: the plan and its checklist. */
  ts: string;
}

export interface BackupOptions {
  note?: string;
  skipDatabases: string[];
  dryRun: boolean;
}

export interface Operation {
  id: string;
  kind: OperationKind;
  cluster: string;
  status: OperationStatus;
  requestedBy: string;
  /** Where the request came from: `slack` (a user id) or `cli` (an OS user). */
  via: 'slack' | 'cli';
  options: BackupOptions;
  thread?: SlackThread;
  backupId: string;
  /** True from the moment pause starts scaling down until resume has brought the cluster back. */
  clusterPaused: boolean;
  state: OperationState;
  createdAt: Date;
  finishedAt?: Date;
}

/** What phases record for later phases (and for a retry to continue from). */
export interface OperationState {
  plan?: { databases: { name: string; bytes: number }[]; objects: number; objectBytes: number };
  pause?: PauseRecord;
  dumps?: Record<string, DumpRecord>;
  helm?: HelmRecord | null;
  pachd?: { version: string; image: string };
  mirror?: MirrorRecord;
  resumedAt?: string;
  downtimeMs?: number;
  /** Set when the operation was rejected or aborted while paused: it ends once resume has run. */
  endAfterResume?: 'rejected' | 'aborted';
}

export interface PauseRecord {
  mode: 'scale' | 'enterprise';
  startedAt: string;
  pausedAt?: string;
  /** Replica counts before the pause, by `Kind/name`. */
  replicas: Record<string, number>;
}

export interface DumpRecord {
  key: string;
  bytes: number;
  sha256: string;
  durationMs: number;
  serverVersion: string;
  pgDumpVersion: string;
}

export interface HelmRecord {
  release: string;
  namespace: string;
  revision: number;
  chart: string;
  chartVersion: string;
  appVersion: string;
  valuesKey: string;
}

export interface MirrorRecord {
  objects: number;
  bytes: number;
  copied: number;
  copiedBytes: number;
  changed: number;
  listKey: string;
  consistency?: { referenced: number; missing: number; sample: string[] };
}

export interface PhaseRecord {
  operationId: string;
  name: BackupPhase;
  position: number;
  status: PhaseStatus;
  runs: number;
  startedAt?: Date;
  finishedAt?: Date;
  durationMs?: number;
  summary?: string;
  error?: string;
  approvedBy?: string;
  /** The thread message that reports this phase (updated in place). */
  reportTs?: string;
}

export function phaseList(_kind: OperationKind): readonly BackupPhase[] {
  return BACKUP_PHASES;
}
