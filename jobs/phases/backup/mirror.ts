import { formatBytes, formatCount, formatDuration } from '../../../src/format.ts';
import type { MirrorRecord } from '../../../src/operations/model.ts';
import { chunkObjectKeys } from '../../../src/postgres/inspect.ts';
import { findMissingKeys } from '../../../src/storage/consistency.ts';
import { changedObjectKey, objectListKey } from '../../../src/storage/layout.ts';
import { writeManifest } from '../../../src/storage/manifest.ts';
import { type MirrorResult, mirrorBucket } from '../../../src/storage/mirror/mirror-bucket.ts';
import {
  describeMirrorProgress,
  type MirrorProgress,
  mirrorFraction,
} from '../../../src/storage/mirror/progress.ts';
import { readObjectList } from '../../../src/storage/object-list.ts';
import { describeWorkers } from '../../mirror-shards/describe.ts';
import type { ShardedMirrorResult } from '../../mirror-shards/shard-jobs.ts';
import type { Phase, PhaseContext } from '../types.ts';
import { refreshAnnouncement } from './announce.ts';
import { buildManifest } from './manifest.ts';

/**
 * Copies what the backup bucket lacks, writes the backup's object list, checks it against the keys the
 * (paused, hence still) metadata references, and writes the manifest: from here the backup is complete.
 */
export const mirrorPhase: Phase = {
  name: 'mirror',
  async run(ctx) {
    const { mirror, details, elapsedMs } = await mirrorInto(ctx, ctx.operation.backupId);
    await ctx.saveState({ mirror });
    await refreshAnnouncement(ctx, 'mirror');
    // Asked to stop (an [Abort], or a resume ending the backup) after the last copy: no manifest, no backup.
    ctx.signal.throwIfAborted();
    await writeManifest(
      ctx.services.backup,
      buildManifest({ ...ctx.operation, state: { ...ctx.operation.state, mirror } }, ctx.cluster),
    );
    return {
      summary: `${formatCount(mirror.objects)} objects (${formatBytes(mirror.bytes)}), ${formatCount(mirror.copied)} copied in ${formatDuration(elapsedMs)}; manifest written`,
      details,
    };
  },
};

/**
 * Mirrors the cluster's bucket into its backup bucket, writes `<backupId>/objects.jsonl.gz`, and checks
 * it against the keys the metadata references. The manifest is the caller's to write.
 */
export async function mirrorInto(
  ctx: PhaseContext,
  backupId: string,
): Promise<{ mirror: MirrorRecord; details: string[]; elapsedMs: number }> {
  const listKey = objectListKey(backupId);
  const result = await mirrorToBackup(ctx, { listKey });
  const consistency = await checkConsistency(ctx, listKey);
  const mirror: MirrorRecord = {
    objects: result.listed - result.vanished,
    bytes: result.listedBytes - result.vanishedBytes,
    copied: result.copied,
    copiedBytes: result.copiedBytes,
    changed: result.changed,
    ...(result.unverified ? { unverified: { count: result.unverified, sample: result.unverifiedKeys } } : {}),
    listKey,
    consistency,
  };
  const details = [
    `${formatCount(result.copied)} copied (${formatBytes(result.copiedBytes)}) ${result.serverSide ? 'server-side' : 'by streaming'}; ${formatCount(result.listed - result.copied)} already in the backup bucket`,
    consistency.missing === 0
      ? `consistency: all ${formatCount(consistency.referenced)} chunk objects that the database references are in the backup`
      : `:warning: consistency: ${formatCount(consistency.missing)} of ${formatCount(consistency.referenced)} chunk objects the database references are missing from the cluster's own bucket, so from this backup too (e.g. ${consistency.sample.slice(0, 3).join(', ')}): the cluster needs looking at, and a restore of this backup would lack them too`,
  ];
  if (result.changed)
    details.push(`${result.changed} key(s) changed since an earlier backup: kept under .pachops/versions/`);
  if (result.unverified)
    details.push(
      `${formatCount(result.unverified)} object(s) have the size of the backup's copy but ETags that cannot be compared (multipart): not copied again, not proven equal (e.g. ${result.unverifiedKeys.slice(0, 3).join(', ')})`,
    );
  if (result.vanished)
    details.push(
      `${formatCount(result.vanished)} object(s) were deleted from the source while being copied, and left out of the object list (e.g. ${result.vanishedKeys.slice(0, 3).join(', ')}); the consistency line says whether the database needs any of them`,
    );
  const sharded = 'shards' in result ? (result as ShardedMirrorResult).shards : undefined;
  if (sharded) details.push(`${sharded.length} shards on ${describeWorkers(sharded)}`);
  if (result.pushBacks)
    details.push(
      `the S3 server pushed back ${formatCount(result.pushBacks)} time(s): concurrency went down to ${result.lowestConcurrency} of ${ctx.cluster.mirror.concurrency}`,
    );
  return { mirror, details, elapsedMs: result.elapsedMs };
}

async function checkConsistency(ctx: PhaseContext, listKey: string) {
  const { postgres } = ctx.cluster;
  const database = postgres.metadataDatabase ?? postgres.databases[0];
  return findMissingKeys(chunkObjectKeys(postgres, database), readObjectList(ctx.services.backup, listKey));
}

/**
 * Mirrors the cluster's bucket into its backup bucket: in shards on the queue when `mirror.shards` > 1
 * (and a worker runs the phase), else here; progress to the phase's message (`label` after it).
 */
export async function mirrorToBackup(
  ctx: PhaseContext,
  options: { listKey?: string; label?: string },
): Promise<MirrorResult | ShardedMirrorResult> {
  const suffix = options.label ? ` ${options.label}` : '';
  const onProgress = (p: MirrorProgress) =>
    ctx.progress(`${describeMirrorProgress(p)}${suffix}`, mirrorFraction(p));
  const { shards } = ctx.cluster.mirror;
  if (shards > 1 && ctx.shards) return ctx.shards.mirror({ shards, listKey: options.listKey, onProgress });
  return mirrorBucket({
    source: ctx.services.source,
    target: ctx.services.backup,
    changedKeyFor: changedObjectKey,
    objectListKey: options.listKey,
    ...ctx.cluster.mirror,
    signal: ctx.signal,
    log: ctx.log,
    onProgress,
  });
}
