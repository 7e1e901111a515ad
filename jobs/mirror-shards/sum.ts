import type { MirrorProgress } from '../../src/storage/mirror/mirror-bucket.ts';
import { SAMPLE_SIZE } from '../../src/storage/mirror/mirror-range.ts';
import { emptyCounts, type MirrorCounts } from '../../src/storage/mirror/progress.ts';
import type { ShardedMirrorResult, ShardResult } from './shard-jobs.ts';

function sumCounts(parts: MirrorCounts[]): MirrorCounts {
  const total = emptyCounts();
  for (const part of parts)
    for (const key of Object.keys(total) as (keyof MirrorCounts)[]) total[key] += part[key];
  return total;
}

/** The shards' latest progress as one: counts and rates add up, the ETA is the slowest shard's. */
export function sumProgress(parts: MirrorProgress[], shards: number): MirrorProgress {
  const counts = sumCounts(parts);
  const all = parts.length === shards;
  const remaining =
    all && parts.every((p) => p.remaining)
      ? {
          objects: parts.reduce((sum, p) => sum + p.remaining!.objects, 0),
          bytes: parts.reduce((sum, p) => sum + p.remaining!.bytes, 0),
        }
      : undefined;
  const etas = parts.map((p) => p.etaMs);
  return {
    ...counts,
    listingDone: all && parts.every((p) => p.listingDone),
    listedFraction: parts.reduce((sum, p) => sum + p.listedFraction, 0) / shards,
    remaining,
    objectsPerSecond: parts.reduce((sum, p) => sum + p.objectsPerSecond, 0),
    bytesPerSecond: parts.reduce((sum, p) => sum + p.bytesPerSecond, 0),
    etaMs: remaining && etas.every((e) => e !== undefined) ? Math.max(...(etas as number[])) : undefined,
    concurrency: parts.reduce((sum, p) => sum + p.concurrency, 0),
    elapsedMs: Math.max(0, ...parts.map((p) => p.elapsedMs)),
  };
}

/** The shards' results as one mirror's, with who did each shard. */
export function sumResults(parts: ShardResult[], ranges: number): ShardedMirrorResult {
  const progress = sumProgress(parts, parts.length);
  return {
    ...progress,
    serverSide: parts.every((p) => p.serverSide),
    ranges,
    pushBacks: parts.reduce((sum, p) => sum + p.pushBacks, 0),
    lowestConcurrency: Math.min(...parts.map((p) => p.lowestConcurrency)),
    unverifiedKeys: parts.flatMap((p) => p.unverifiedKeys).slice(0, SAMPLE_SIZE),
    vanishedKeys: parts.flatMap((p) => p.vanishedKeys).slice(0, SAMPLE_SIZE),
    shards: parts.map((p) => ({ shard: p.shard, worker: p.worker, copied: p.copied })),
  };
}
