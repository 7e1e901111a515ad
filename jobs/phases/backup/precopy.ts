import { formatBytes, formatCount, formatDuration } from '../../../src/format.ts';
import { changedObjectKey } from '../../../src/storage/layout.ts';
import { mirrorBucket } from '../../../src/storage/mirror/mirror-bucket.ts';
import {
  describeMirrorProgress,
  type MirrorProgress,
  mirrorFraction,
} from '../../../src/storage/mirror/progress.ts';
import type { Phase } from '../types.ts';

/**
 * Mirrors the bucket while Pachyderm still runs, so that the paused `mirror` only copies what was
 * written since: the downtime shrinks to the delta. Safe on a live bucket: chunk objects are immutable,
 * and whatever this misses or copies early, the paused mirror sets right.
 */
export const precopyPhase: Phase = {
  name: 'precopy',
  async run(ctx) {
    const onProgress = (p: MirrorProgress) =>
      ctx.progress(`${describeMirrorProgress(p)} (cluster live)`, mirrorFraction(p));
    const { shards } = ctx.cluster.mirror;
    const result =
      shards > 1 && ctx.shards
        ? await ctx.shards.mirror({ phase: 'precopy', shards, onProgress })
        : await mirrorBucket({
            source: ctx.services.source,
            target: ctx.services.backup,
            changedKeyFor: changedObjectKey,
            ...ctx.cluster.mirror,
            signal: ctx.signal,
            log: ctx.log,
            onProgress,
          });
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
