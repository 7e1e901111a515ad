import { z } from 'zod';
import { PhaseName as PhaseNameSchema } from '../../src/config/schema.ts';
import type { PhaseName } from '../../src/operations/model.ts';
import type { MirrorProgress, MirrorResult } from '../../src/storage/mirror/mirror-bucket.ts';

/** The queue of mirror shards and their collectors (one BullMQ flow per sharded mirror). */
export const SHARD_QUEUE = 'pachops-mirror-shards';

const KeyRangeSchema = z.object({
  after: z.string().optional(),
  upTo: z.string().optional(),
  hexPrefix: z.string().optional(),
  hexDigits: z.string().optional(),
});

/** One shard: a contiguous run of key ranges of the cluster's bucket, mirrored into its backup bucket. */
export const ShardJobData = z.object({
  operationId: z.string().min(1),
  cluster: z.string().min(1),
  phase: PhaseNameSchema,
  shard: z.number().int().nonnegative(),
  ranges: z.array(KeyRangeSchema).min(1),
  /** Where this shard writes its part of the object list (absent for precopy). */
  listKey: z.string().optional(),
});
export type ShardJobData = z.infer<typeof ShardJobData>;

/** The flow's parent: runs once every shard is done; joins their object lists in key order. */
export const CollectJobData = z.object({
  cluster: z.string().min(1),
  listKey: z.string().optional(),
  shardListKeys: z.array(z.string()),
});
export type CollectJobData = z.infer<typeof CollectJobData>;

/** What a shard returns: its result, and which worker process did it. */
export type ShardResult = Omit<MirrorResult, 'ranges'> & { shard: number; worker: string };

/** The part of the object list that shard `index` writes. */
export const shardListKey = (listKey: string, index: number) =>
  `${listKey}.shards/${String(index).padStart(4, '0')}`;

export interface ShardedMirrorInput {
  /** The phase that mirrors (precopy, mirror, safety-backup): its shards stop when it no longer runs. */
  phase: PhaseName;
  shards: number;
  /** The object list to write (mirror), joined from the shards' parts. */
  listKey?: string;
  onProgress?: (progress: MirrorProgress) => void;
  /**
   * Names the flow's jobs: the same id finds the flow already under way (a worker taking over a crashed
   * phase) instead of starting a second one.
   */
  flowId: string;
}

export interface ShardedMirrorResult extends MirrorResult {
  /** One entry per shard: which worker process mirrored it, and how much it copied. */
  shards: { shard: number; worker: string; copied: number }[];
}
