import type { Estimate } from '../announce/estimate.ts';
import type { PhaseName } from '../config/schema.ts';
import type { DumpEncryption } from '../crypto/dump-cipher.ts';
import type { PrunePlan } from '../storage/prune/plan.ts';

export type { PhaseName };
export type OperationKind = 'backup' | 'restore' | 'prune';

/** Phases of a prune: the plan (posted, changes nothing), then the deletion (approval required by default). */
export const PRUNE_PHASES: readonly PhaseName[] = ['plan', 'prune'];

/** Phases of a backup, in order. `plan` is internal: it runs without approval and estimates sizes. */
export const BACKUP_PHASES: readonly PhaseName[] = [
  'plan',
  'precopy',
  'announce',
  'pause',
  'dump',
  'mirror',
  'resume',
  'verify',
];

/**
 * Phases of a restore, in order; the restore's options leave some out (no deploy: no pause, deploy or
 * resume; no safety backup). The pause comes before the safety backup so that it is consistent.
 */
export const RESTORE_PHASES: readonly PhaseName[] = [
  'plan',
  'pause',
  'safety-backup',
  'restore-databases',
  'restore-bucket',
  'deploy',
  'resume',
  'health',
];

export type OperationStatus =
  | 'planning'
  | 'awaiting-approval'
  | 'running'
  | 'failed'
  | 'succeeded'
  | 'rejected'
  | 'aborted'
  | 'planned'
  /** The plan found the request cannot be done; nothing was changed. */
  | 'refused';

/**
 * A backup that ended failed because verify found the cluster's own bucket lacking chunk objects its
 * database references: written whole, kept and listed (VERIFY FAILED), with nothing a retry could mend.
 */
export function backupInconsistent(operation: Operation): boolean {
  return (
    operation.kind === 'backup' &&
    operation.status === 'failed' &&
    (operation.state.mirror?.consistency?.missing ?? 0) > 0
  );
}

export const TERMINAL_STATUSES: readonly OperationStatus[] = [
  'succeeded',
  'rejected',
  'aborted',
  'planned',
  'refused',
];

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
  /** Backup: databases left out (`--skip-db`); empty for a restore. */
  skipDatabases: string[];
  dryRun: boolean;
  /** Backup: end with a restore drill (`drill.afterBackup`). */
  drill?: boolean;
  /** Backup: no live pre-copy (`mirror.precopy: false`). */
  noPrecopy?: boolean;
  /** Set for a restore. */
  restore?: RestoreOptions;
  /**
   * A scheduled backup: who created its schedule. A standing request is theirs, so they count as its
   * requester when it comes to approving it (allowSelfApproval).
   */
  scheduledBy?: string;
}

/** What a restore restores, and where to. */
export interface RestoreOptions {
  /** The backup, and the cluster whose backup bucket holds it. */
  backupId: string;
  fromCluster: string;
  /** Each dumped database and the database it is restored into. */
  databases: { source: string; target: string; overwrite: boolean }[];
  /** The bucket Pachyderm will use; `reuseBackupBucket`: the backup bucket itself (no copy). */
  bucket: { name: string; reuseBackupBucket: boolean };
  /** Redeploy the cluster with Helm, pointed at the restored databases and bucket. */
  deploy: boolean;
  /** Pause the cluster first (and resume it last): when redeploying, or when a live database is replaced. */
  pauseCluster: boolean;
  /** Back up what is about to be replaced first. */
  safetyBackup: boolean;
}

export interface Operation {
  id: string;
  kind: OperationKind;
  cluster: string;
  status: OperationStatus;
  requestedBy: string;
  /** Where the request came from: `slack` (a user id), `cli` (an OS user) or `schedule` (its id). */
  via: 'slack' | 'cli' | 'schedule';
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
  /** The live pre-copy before the pause. */
  precopy?: { listed: number; copied: number; copiedBytes: number; elapsedMs: number };
  /** What the watchdog has done about a long pause (each step once). */
  watchdog?: { remindedAt?: string; escalatedAt?: string; autoResumedAt?: string };
  /** The downtime estimate last announced, and its text (`about 12 min (9–16)`, `no history yet`). */
  estimate?: Estimate & { text: string };
  /** The users' notice, one message per announce channel (updated in place). */
  announcements?: { channel: string; ts: string }[];
  /** Restore: what the plan found, and what each phase did. */
  restore?: RestoreRecord;
  /** Prune: the plan (a retry deletes what it named), and what the deletion did. */
  prune?: PruneRecord;
}

export interface PruneRecord {
  plan: PrunePlan;
  /** Mirror objects no kept backup lists, when planned. */
  garbage: { objects: number; bytes: number; missing: number };
  /** Backup folders' files (manifests included) and mirror objects deleted, with their bytes. */
  deleted?: {
    backups: number;
    incomplete: number;
    files: number;
    fileBytes: number;
    objects: number;
    bytes: number;
    failed: number;
  };
}

export interface RestoreRecord {
  manifest?: {
    createdAt: string;
    pachd: string;
    chartVersion?: string;
    objects: number;
    objectBytes: number;
  };
  safetyBackupId?: string;
  safetyDumps?: Record<string, DumpRecord>;
  /** Databases this restore created: a retry may replace what an interrupted run left in them. */
  created?: string[];
  databases?: Record<string, { rows: { table: string; rows: number }[]; durationMs: number }>;
  bucket?: { copied: number; copiedBytes: number; skipped: number };
  deploy?: { chartVersion: string; changes: string[] };
  health?: { pachdVersion?: string; referenced: number; missing: number; sample: string[] };
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
  /** Set when the dump was encrypted client-side: the algorithm and the key's fingerprint. */
  encryption?: DumpEncryption;
  durationMs: number;
  serverVersion: string;
  pgDumpVersion: string;
  /** pg_dump's `--compress` (absent in records made before it was configurable: level 6). */
  compression?: string;
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
  /** Same size as the backup's copy, ETags not comparable (multipart): not copied again, not proven equal. */
  unverified?: { count: number; sample: string[] };
  listKey: string;
  consistency?: { referenced: number; missing: number; sample: string[] };
}

export interface PhaseRecord {
  operationId: string;
  name: PhaseName;
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

/** The phases an operation runs, in order. */
export function phaseList(kind: OperationKind, options: BackupOptions): readonly PhaseName[] {
  if (kind === 'prune') return PRUNE_PHASES;
  if (kind === 'backup') {
    const phases = BACKUP_PHASES.filter((phase) => phase !== 'precopy' || !options.noPrecopy);
    return options.drill ? [...phases, 'drill'] : phases;
  }
  const restore = options.restore;
  return RESTORE_PHASES.filter((phase) => {
    if (phase === 'deploy') return restore?.deploy ?? false;
    if (phase === 'pause' || phase === 'resume') return restore?.pauseCluster ?? restore?.deploy ?? false;
    if (phase === 'safety-backup') return restore?.safetyBackup ?? false;
    return true;
  });
}

/** Who asked, for people: a Slack mention, the schedule, or the CLI user. */
export function requesterText(operation: Pick<Operation, 'via' | 'requestedBy'>): string {
  if (operation.via === 'slack') return `<@${operation.requestedBy}>`;
  if (operation.via === 'schedule') return `schedule \`${operation.requestedBy.replace(/^schedule:/, '')}\``;
  return operation.requestedBy;
}
