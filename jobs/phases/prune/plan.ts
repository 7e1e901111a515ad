import { formatCount } from '../../../src/format.ts';
import { pruneRetention } from '../../../src/operations/prune-request.ts';
import { planPrune } from '../../../src/storage/prune/plan.ts';
import { pruneBucket } from '../../../src/storage/prune/prune-bucket.ts';
import { describeRetention } from '../../../src/storage/prune/retention.ts';
import type { Phase } from '../types.ts';
import { describePrunePlan, pruneSummary } from './describe.ts';

/**
 * Reads the backup bucket and applies the retention rules: which backups are kept (and by which rule),
 * which are deleted, and how many mirror objects no kept backup lists (counted by the same merge-join
 * the deletion uses). Changes nothing; the plan is recorded so that the deletion, and any retry of it,
 * deletes exactly what was shown.
 */
export const prunePlanPhase: Phase = {
  name: 'plan',
  async run(ctx) {
    const retention = pruneRetention(ctx.config, ctx.cluster);
    const bucket = ctx.services.backup;
    ctx.progress('reading the backups’ manifests');
    const plan = await planPrune({ bucket, cluster: ctx.cluster.name, retention });
    const counted = await pruneBucket({
      bucket,
      plan,
      dryRun: true,
      signal: ctx.signal,
      onProgress: ({ found }) =>
        ctx.progress(`${formatCount(found.objects)} unneeded mirror objects found so far`),
    });
    const { objects, bytes, missing } = counted.garbage;
    const record = { plan, garbage: { objects, bytes, missing } };
    await ctx.saveState({ prune: record });
    return {
      summary: `${describeRetention(retention)}: ${pruneSummary(record)}`,
      details: describePrunePlan(record),
    };
  },
};
