import { PACHD, scaleAll, waitForPachdReady } from '../../src/cluster/scale.ts';
import { waitUntil } from '../../src/cluster/wait.ts';
import { formatDuration } from '../../src/format.ts';
import { announceBack } from './backup/announce.ts';
import type { Phase, PhaseContext } from './types.ts';

/** Brings Pachyderm back exactly as the pause found it, waits for pachd, and reports the downtime. */
export const resumePhase: Phase = {
  name: 'resume',
  async run(ctx) {
    const pause = ctx.operation.state.pause;
    if (!pause) return { summary: 'nothing was paused: nothing to resume' };
    const waitOptions = {
      timeoutMs: ctx.cluster.pause.timeoutSeconds * 1000,
      signal: ctx.signal,
      onWait: (left: string) => ctx.progress(`waiting: ${left}`),
    };
    let what: string;
    if (pause.mode === 'scale') {
      const changed = await scaleAll(ctx.services.kube, pause.replicas, 'up');
      what = `scaled back: ${changed.join(', ') || 'nothing recorded'}`;
      const pachd = pause.replicas[`Deployment/${PACHD}`] ?? 0;
      if (pachd > 0) await waitForPachdReady(ctx.services.kube, pachd, waitOptions);
    } else {
      await unpauseWithPachctl(ctx, waitOptions);
      await waitForPachdReady(ctx.services.kube, 1, waitOptions);
      what = 'pachctl enterprise unpause: unpaused';
    }
    const resumedAt = new Date();
    const downtimeMs = resumedAt.getTime() - Date.parse(pause.startedAt);
    await ctx.saveState({ resumedAt: resumedAt.toISOString(), downtimeMs });
    await announceBack(ctx, downtimeMs);
    return { summary: `pachd ready; downtime ${formatDuration(downtimeMs)}`, details: [what] };
  },
};

async function unpauseWithPachctl(
  ctx: PhaseContext,
  options: Parameters<typeof waitUntil>[2],
): Promise<void> {
  const { pachctl } = ctx.services;
  await pachctl.unpause();
  await waitUntil(
    'pachctl enterprise pause-status to say unpaused',
    async () => {
      const status = await pachctl.pauseStatus();
      return status === 'unpaused' ? null : `status is ${status}`;
    },
    { ...options, intervalMs: 1000 },
  );
}
