import { PachopsError } from '../../../src/errors.ts';
import { formatBytes, formatCount } from '../../../src/format.ts';
import { pruneBucket } from '../../../src/storage/prune/prune-bucket.ts';
import type { Phase } from '../types.ts';

/**
 * Deletes what the recorded plan names: each pruned backup's manifest first (it stops being listed and
 * restorable), then the rest of its folder and the incomplete folders the plan deletes, then the mirror
 * objects no kept backup lists. A retry after a failure or an abort deletes what is left of the same plan.
 */
export const prunePhase: Phase = {
  name: 'prune',
  async run(ctx) {
    const record = ctx.operation.state.prune;
    if (!record)
      throw new PachopsError('PRUNE_NO_PLAN', 'the prune has no recorded plan; start a new prune', {
        permanent: true,
      });
    const toDelete = record.garbage.objects;
    const result = await pruneBucket({
      bucket: ctx.services.backup,
      plan: record.plan,
      dryRun: false,
      signal: ctx.signal,
      onProgress: ({ deleted }) =>
        ctx.progress(
          `${formatCount(deleted.deleted)} of about ${formatCount(toDelete)} objects deleted (${formatBytes(deleted.deletedBytes)})`,
          toDelete ? Math.min(1, deleted.deleted / toDelete) : undefined,
        ),
    });
    const { deleted, garbage } = result;
    const incomplete = record.plan.incomplete.filter((i) => i.delete).length;
    await ctx.saveState({
      prune: {
        ...record,
        deleted: {
          backups: record.plan.prune.length,
          incomplete,
          files: result.manifests + result.backupFiles,
          fileBytes: result.backupBytes,
          objects: deleted.deleted - result.backupFiles,
          bytes: deleted.deletedBytes - result.backupBytes,
          failed: deleted.failed,
        },
      },
    });
    if (deleted.failed) {
      const sample = deleted.failures.slice(0, 5).map((f) => `${f.key} (${f.code}: ${f.message})`);
      throw new PachopsError(
        'PRUNE_FAILED',
        `${formatCount(deleted.failed)} object(s) could not be deleted, e.g. ${sample.join('; ')}; the pruned backups' manifests are gone, a retry deletes what is left`,
      );
    }
    return {
      summary: `deleted ${record.plan.prune.length} backup(s)${incomplete ? `, ${incomplete} incomplete folder(s)` : ''} and ${formatCount(garbage.objects)} mirror objects (${formatBytes(garbage.bytes)}); ${record.plan.keep.length} backup(s) kept`,
      details: garbage.missing
        ? [
            `:warning: ${formatCount(garbage.missing)} object(s) that kept backups list are missing from the bucket, e.g. ${garbage.missingSample.slice(0, 3).join(', ')}`,
          ]
        : undefined,
    };
  },
};
