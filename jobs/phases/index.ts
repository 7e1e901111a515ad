import { PachopsError } from '../../src/errors.ts';
import type { OperationKind, PhaseName } from '../../src/operations/model.ts';
import { announcePhase } from './backup/announce.ts';
import { drillPhase } from './backup/drill.ts';
import { dumpPhase } from './backup/dump.ts';
import { mirrorPhase } from './backup/mirror.ts';
import { planPhase } from './backup/plan.ts';
import { precopyPhase } from './backup/precopy.ts';
import { verifyPhase } from './backup/verify.ts';
import { pausePhase } from './pause.ts';
import { prunePlanPhase } from './prune/plan.ts';
import { prunePhase } from './prune/prune.ts';
import { deployPhase } from './restore/deploy.ts';
import { healthPhase } from './restore/health.ts';
import { restorePlanPhase } from './restore/plan.ts';
import { restoreBucketPhase } from './restore/restore-bucket.ts';
import { restoreDatabasesPhase } from './restore/restore-databases.ts';
import { safetyBackupPhase } from './restore/safety-backup.ts';
import { resumePhase } from './resume.ts';
import type { Phase } from './types.ts';

/** The phases of each kind of operation; `pause` and `resume` are shared. */
const PHASES: Record<OperationKind, Partial<Record<PhaseName, Phase>>> = {
  backup: {
    plan: planPhase,
    precopy: precopyPhase,
    announce: announcePhase,
    pause: pausePhase,
    dump: dumpPhase,
    mirror: mirrorPhase,
    resume: resumePhase,
    verify: verifyPhase,
    drill: drillPhase,
  },
  restore: {
    plan: restorePlanPhase,
    pause: pausePhase,
    'safety-backup': safetyBackupPhase,
    'restore-databases': restoreDatabasesPhase,
    'restore-bucket': restoreBucketPhase,
    deploy: deployPhase,
    resume: resumePhase,
    health: healthPhase,
  },
  prune: { plan: prunePlanPhase, prune: prunePhase },
};

export function phaseOf(kind: OperationKind, name: PhaseName): Phase {
  const phase = PHASES[kind][name];
  if (!phase) throw new PachopsError('PHASE_UNKNOWN', `a ${kind} has no phase ${name}`, { permanent: true });
  return phase;
}
