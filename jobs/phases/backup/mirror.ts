import { formatBytes, formatCount, formatDuration } from '../../../src/format.ts';
import type { MirrorRecord } from '../../../src/operations/model.ts';
import { chunkObjectKeys } from '../../../src/postgres/inspect.ts';
import { findMissingKeys } from '../../../src/storage/consistency.ts';
import { changedObjectKey, objectListKey } from '../../../src/storage/layout.ts';
import { writeManifest } from '../../../src/storage/manifest.ts';
import { type MirrorProgress, mirrorBucket } from '../../../src/storage/mirror.ts';
import { readObjectList, writeObjectList } from '../../../src/storage/object-list.ts';
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
  const { services } = ctx;
  const listKey = objectListKey(backupId);
  const objectList = writeObjectList(services.backup, listKey);
  let result: Awaited<ReturnType<typeof mirrorBucket>>;
  try {
    result = await mirrorBucket({
      source: services.source,
      target: services.backup,
      changedKeyFor: changedObjectKey,
      objectList,
      concurrency: ctx.cluster.mirror.concurrency,
      signal: ctx.signal,
      onProgress: (p) => ctx.progress(describeProgress(p)),
    });
  } catch (error) {
    objectList.abort();
    throw error;
  }
  await objectList.finish();
  const consistency = await checkConsistency(ctx, listKey);
  const mirror: MirrorRecord = {
    objects: result.listed,
    bytes: result.listedBytes,
    copied: result.copied,
    copiedBytes: result.copiedBytes,
    changed: result.changed,
    listKey,
    consistency,
  };
  const details = [
    `${formatCount(result.copied)} copied (${formatBytes(result.copiedBytes)}) ${result.serverSide ? 'server-side' : 'by streaming'}; ${formatCount(result.listed - result.copied)} already in the backup bucket`,
    consistency.missing === 0
      ? `consistency: all ${formatCount(consistency.referenced)} chunk objects that the database references are in the backup`
      : `consistency: ${formatCount(consistency.missing)} of ${formatCount(consistency.referenced)} referenced chunk objects are missing from the source bucket itself (e.g. ${consistency.sample.slice(0, 3).join(', ')})`,
  ];
  if (result.changed)
    details.push(`${result.changed} key(s) changed since an earlier backup: kept under .pachops/versions/`);
  return { mirror, details, elapsedMs: result.elapsedMs };
}

async function checkConsistency(ctx: PhaseContext, listKey: string) {
  const { postgres } = ctx.cluster;
  const database = postgres.metadataDatabase ?? postgres.databases[0];
  return findMissingKeys(chunkObjectKeys(postgres, database), readObjectList(ctx.services.backup, listKey));
}

function describeProgress(p: MirrorProgress): string {
  const seconds = Math.max(p.elapsedMs / 1000, 0.001);
  return `${formatCount(p.listed)} objects listed, ${formatCount(p.copied)} copied (${formatBytes(p.copiedBytes)}), ${formatBytes(p.copiedBytes / seconds)}/s, ${(p.copied / seconds).toFixed(0)} objects/s`;
}
