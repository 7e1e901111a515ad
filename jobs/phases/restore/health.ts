import { waitForPachdReady } from '../../../src/cluster/scale.ts';
import { PachopsError } from '../../../src/errors.ts';
import { formatCount } from '../../../src/format.ts';
import { chunkObjectKeys } from '../../../src/postgres/inspect.ts';
import { findMissingKeys } from '../../../src/storage/consistency.ts';
import { RESERVED_PREFIX } from '../../../src/storage/layout.ts';
import { listObjects } from '../../../src/storage/listing.ts';
import type { Phase, PhaseContext } from '../types.ts';
import { openRestore } from './context.ts';

/**
 * Is the restored Pachyderm whole? pachd ready, versions, not paused (a paused pachd passes its
 * readiness probe too), and every chunk object the restored metadata references present in the bucket.
 */
export const healthPhase: Phase = {
  name: 'health',
  async run(ctx) {
    const r = await openRestore(ctx);
    const lines = r.restore.deploy ? await checkPachd(ctx) : ['not deployed: databases and bucket only'];
    // Check against the bucket Pachyderm actually reads: the restored one once deployed; without a
    // deploy, a live metadata database that was replaced goes on being read with the cluster's own bucket.
    const live = !r.restore.deploy && ctx.cluster.postgres.databases.includes(r.metadataTarget);
    const bucket = live ? ctx.services.source : r.targetBucket;
    ctx.progress(`checking every chunk object the restored metadata references against ${bucket.name}`);
    const skip = bucket === r.backupBucket ? { skipPrefix: RESERVED_PREFIX } : {};
    const result = await findMissingKeys(
      chunkObjectKeys(ctx.cluster.postgres, r.metadataTarget),
      listObjects(bucket, skip),
    );
    await ctx.saveState({
      restore: { ...ctx.operation.state.restore, health: { ...result, pachdVersion: lines[0] } },
    });
    if (result.missing > 0) {
      throw new PachopsError(
        'RESTORE_INCONSISTENT',
        `${formatCount(result.missing)} of ${formatCount(result.referenced)} chunk objects that ${r.metadataTarget} references are missing from ${bucket.name}: ${result.sample.join(', ')}`,
        {
          permanent: true,
          hint: live
            ? `the cluster still reads ${bucket.name}; restore again with a redeploy onto the restored bucket ${r.targetBucket.name}`
            : 'Pachyderm will fail to read those files; restore the bucket again or choose another backup',
        },
      );
    }
    lines.push(
      `consistency: all ${formatCount(result.referenced)} chunk objects ${r.metadataTarget} references are in ${bucket.name}`,
    );
    return {
      summary: `healthy: ${lines[0]}; ${formatCount(result.referenced)} chunk objects all present`,
      details: lines,
    };
  },
};

async function checkPachd(ctx: PhaseContext): Promise<string[]> {
  await waitForPachdReady(ctx.services.kube, 1, {
    timeoutMs: ctx.cluster.pause.timeoutSeconds * 1000,
    signal: ctx.signal,
    onWait: (left) => ctx.progress(`waiting: ${left}`),
  });
  const versions = await ctx.services.pachctl.version();
  const cluster = await ctx.services.pachctl.inspectCluster();
  if (cluster.paused) {
    throw new PachopsError('RESTORE_PAUSED', `pachd ${versions.pachd} is up but paused`, {
      permanent: true,
      hint: 'run `pachctl enterprise unpause`, then Retry',
    });
  }
  return [
    `pachd ${versions.pachd} (pachctl ${versions.pachctl})`,
    `cluster ${cluster.id || '(no id)'} not paused`,
  ];
}
