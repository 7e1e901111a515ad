import { formatBytes, formatCount, formatDuration } from '../../../src/format.ts';
import type { Phase } from '../types.ts';
import { mirrorToBackup } from './mirror.ts';

/**
 * Mirrors the bucket while Pachyderm still runs, so that the paused `mirror` only copies what was
 * written since: the downtime shrinks to the delta. Safe on a live bucket: chunk objects are immutable,
 * and whatever this misses or copies early, the paused mirror sets right.
 */
export const precopyPhase: Phase = {
  name: 'precopy',
  async run(ctx) {
    const result = await mirrorToBackup(ctx, { label: '(cluster live)' });
    await ctx.saveState({
      precopy: {
        listed: result.listed,
        copied: result.copied,
        copiedBytes: result.copiedBytes,
        elapsedMs: result.elapsedMs,
      },
    });
    return {
      summary: `${formatCount(result.copied)} of ${formatCount(result.listed)} objects (${formatBytes(result.copiedBytes)}) copied while the cluster runs, in ${formatDuration(result.elapsedMs)}`,
      details: [
        'the paused mirror will copy only what is written from now on',
        ...(result.vanished
          ? [
              `${formatCount(result.vanished)} object(s) were deleted by Pachyderm while being copied (chunk GC): not needed`,
            ]
          : []),
      ],
    };
  },
};
