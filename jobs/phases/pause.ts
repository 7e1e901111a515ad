import { readReplicaCounts, scaleAll, waitForPodsGone } from '../../src/cluster/scale.ts';
import { waitUntil } from '../../src/cluster/wait.ts';
import { formatDuration } from '../../src/format.ts';
import type { PauseRecord } from '../../src/operations/model.ts';
import { announcePauseStarted } from './backup/announce.ts';
import type { Phase, PhaseContext, PhaseOutcome } from './types.ts';

/**
 * Suspends Pachyderm's state-mutating work (the guide's first step). Scale mode records every replica
 * count before touching anything, so a retry never records the zeros it set itself.
 */
export const pausePhase: Phase = {
  name: 'pause',
  async run(ctx) {
    const { operation, cluster } = ctx;
    const record: PauseRecord = operation.state.pause ?? {
      mode: cluster.pause.mode,
      startedAt: new Date().toISOString(),
      replicas: cluster.pause.mode === 'scale' ? await readReplicaCounts(ctx.services.kube) : {},
    };
    if (!operation.state.pause) await ctx.saveState({ pause: record });
    await announcePauseStarted(ctx);
    // Asked to stop while announcing (an abort, a resume ending the operation): nothing scaled down yet.
    ctx.signal.throwIfAborted();
    const outcome = record.mode === 'scale' ? await pauseByScaling(ctx, record) : await pauseWithPachctl(ctx);
    await ctx.saveState({ pause: { ...record, pausedAt: new Date().toISOString() } });
    return outcome;
  },
};

async function pauseByScaling(ctx: PhaseContext, record: PauseRecord): Promise<PhaseOutcome> {
  const { kube } = ctx.services;
  const changed = await scaleAll(kube, record.replicas, 'down');
  const waited = await waitForPodsGone(kube, {
    timeoutMs: ctx.cluster.pause.timeoutSeconds * 1000,
    signal: ctx.signal,
    onWait: (left) => ctx.progress(`waiting: ${left}`),
  });
  const before = Object.entries(record.replicas).map(([key, n]) => `${key.split('/')[1]} ${n}→0`);
  return {
    summary: `scaled ${changed.length} workloads to 0; all Pachyderm pods gone after ${formatDuration(waited)}`,
    details: [`recorded and scaled: ${before.join(', ') || 'nothing found'}`],
  };
}

async function pauseWithPachctl(ctx: PhaseContext): Promise<PhaseOutcome> {
  const { pachctl } = ctx.services;
  await pachctl.pause(ctx.signal);
  const waited = await waitUntil(
    'pachctl enterprise pause-status to say paused',
    async () => {
      const status = await pachctl.pauseStatus();
      return status === 'paused' ? null : `status is ${status}`;
    },
    {
      timeoutMs: ctx.cluster.pause.timeoutSeconds * 1000,
      signal: ctx.signal,
      intervalMs: 1000,
      onWait: (s) => ctx.progress(s),
    },
  );
  return { summary: `pachctl enterprise pause: paused after ${formatDuration(waited)}` };
}
