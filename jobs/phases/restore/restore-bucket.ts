import { formatBytes, formatCount, formatDuration } from '../../../src/format.ts';
import { readObjectList } from '../../../src/storage/object-list.ts';
import { copyListedObjects, ensureBucket } from '../../../src/storage/restore-objects.ts';
import type { Phase } from '../types.ts';
import { openRestore } from './context.ts';

/**
 * Copies exactly the objects of the backup's object list into the target bucket (server-side where the
 * endpoint allows, concurrently, with progress); a rerun copies only what is still missing. Reusing the
 * backup bucket copies nothing.
 */
export const restoreBucketPhase: Phase = {
  name: 'restore-bucket',
  async run(ctx) {
    const r = await openRestore(ctx);
    if (r.restore.bucket.reuseBackupBucket) {
      return {
        summary: `nothing to copy: Pachyderm will use the backup bucket ${r.backupBucket.name}, which stops being a backup`,
      };
    }
    const { created } = await ensureBucket(r.targetBucket);
    const result = await copyListedObjects({
      list: readObjectList(r.backupBucket, r.manifest.objects.listKey),
      from: r.backupBucket,
      to: r.targetBucket,
      concurrency: ctx.cluster.mirror.concurrency,
      tuning: ctx.cluster.mirror,
      signal: ctx.signal,
      log: ctx.log,
      onProgress: (p) => {
        const seconds = Math.max(p.elapsedMs / 1000, 0.001);
        const fraction = p.listed / Math.max(1, r.manifest.objects.count);
        const left =
          fraction > 0.02 ? ` · about ${formatDuration((p.elapsedMs * (1 - fraction)) / fraction)} left` : '';
        ctx.progress(
          `${formatCount(p.listed)} of ${formatCount(r.manifest.objects.count)} objects, ${formatCount(p.copied)} copied (${formatBytes(p.copiedBytes)}), ${formatBytes(p.copiedBytes / seconds)}/s${left}`,
          fraction,
        );
      },
    });
    await ctx.saveState({
      restore: {
        ...ctx.operation.state.restore,
        bucket: { copied: result.copied, copiedBytes: result.copiedBytes, skipped: result.skipped },
      },
    });
    return {
      summary: `${formatCount(result.copied)} objects (${formatBytes(result.copiedBytes)}) copied into ${r.targetBucket.name} in ${formatDuration(result.elapsedMs)}`,
      details: [
        `${created ? 'bucket created' : 'bucket existed'}; ${result.serverSide ? 'server-side copies' : 'streamed copies'}; ${formatCount(result.skipped)} already there`,
      ],
    };
  },
};
