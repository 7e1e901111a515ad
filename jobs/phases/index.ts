import type { BackupPhase } from '../../src/operations/model.ts';
import { dumpPhase } from './dump.ts';
import { mirrorPhase } from './mirror.ts';
import { pausePhase } from './pause.ts';
import { planPhase } from './plan.ts';
import { resumePhase } from './resume.ts';
import type { Phase } from './types.ts';
import { verifyPhase } from './verify.ts';

/** Every phase by name, in the order a backup runs them. */
export const PHASES: Record<BackupPhase, Phase> = {
  plan: planPhase,
  pause: pausePhase,
  dump: dumpPhase,
  mirror: mirrorPhase,
  resume: resumePhase,
  verify: verifyPhase,
};
