import { FlowProducer, Job, Queue, QueueEvents } from 'bullmq';
import type { Config } from '../../src/config/load.ts';
import { PachopsError } from '../../src/errors.ts';
import { RESERVED_PREFIX } from '../../src/storage/layout.ts';
import { type KeyRange, planKeyRanges } from '../../src/storage/mirror/key-ranges.ts';
import type { MirrorProgress } from '../../src/storage/mirror/mirror-bucket.ts';
import type { PhaseContext } from '../phases/types.ts';
import {
  type CollectJobData,
  SHARD_QUEUE,
  type ShardedMirrorInput,
  type ShardedMirrorResult,
  type ShardJobData,
  type ShardResult,
  shardListKey,
} from './shard-jobs.ts';
import { sumProgress, sumResults } from './sum.ts';

export interface ShardFanOut {
  mirror(ctx: PhaseContext, input: ShardedMirrorInput): Promise<ShardedMirrorResult>;
  close(): Promise<void>;
}

/**
 * Fans a mirror out into a BullMQ flow: one child job per shard (a contiguous run of key ranges), taken
 * by whichever worker process is free, each retried alone on failure; the parent joins their object lists
 * once all are done. The phase waits for the parent, summing the shards' progress as it goes.
 */
export function createShardFanOut(redis: Config['redis'], retry: Config['jobs']): ShardFanOut {
  const connection = { url: redis.url, maxRetriesPerRequest: null };
  const flows = new FlowProducer({ prefix: redis.prefix, connection });
  const queue = new Queue(SHARD_QUEUE, { prefix: redis.prefix, connection });
  return {
    async mirror(ctx, input) {
      const started = Date.now();
      const ranges = await planKeyRanges(ctx.services.source, {
        skipPrefix: RESERVED_PREFIX,
        fine: input.shards > 16,
        always: true,
      });
      const groups = splitContiguous(ranges, input.shards);
      const events = new QueueEvents(SHARD_QUEUE, { prefix: redis.prefix, connection });
      try {
        await events.waitUntilReady();
        const flow = await flows.add({
          name: 'collect',
          queueName: SHARD_QUEUE,
          data: collectData(ctx, input, groups.length),
          opts: {
            jobId: `${input.flowId}.collect`,
            removeOnComplete: { count: 100 },
            removeOnFail: { count: 100 },
          },
          children: groups.map((group, shard) => ({
            name: 'shard',
            queueName: SHARD_QUEUE,
            data: shardData(ctx, input, group, shard),
            opts: {
              jobId: `${input.flowId}.shard-${shard}`,
              attempts: retry.attempts,
              backoff: { type: 'exponential', delay: retry.backoffSeconds * 1000 },
              failParentOnFailure: true,
              removeOnComplete: { count: 1000 },
              removeOnFail: { count: 1000 },
            },
          })),
        });
        const childIds = (flow.children ?? []).map((child) => child.job.id!);
        const latest = new Map<string, MirrorProgress>();
        events.on('progress', ({ jobId, data }) => {
          if (!childIds.includes(jobId)) return;
          latest.set(jobId, data as MirrorProgress);
          input.onProgress?.(sumProgress([...latest.values()], childIds.length));
        });
        const shards = await waitOrAbort(flow.job.waitUntilFinished(events), ctx.signal).catch(
          async (error) => {
            throw await shardFailure(queue, childIds, error);
          },
        );
        return { ...sumResults(shards as ShardResult[], ranges.length), elapsedMs: Date.now() - started };
      } finally {
        await events.close();
      }
    },
    async close() {
      await flows.close();
      await queue.close();
    },
  };
}

/** Ranges cut into at most `count` contiguous runs of nearly equal length (key order kept). */
export function splitContiguous(ranges: KeyRange[], count: number): KeyRange[][] {
  const n = Math.min(count, ranges.length);
  return Array.from({ length: n }, (_, i) =>
    ranges.slice(Math.floor((i * ranges.length) / n), Math.floor(((i + 1) * ranges.length) / n)),
  );
}

function shardData(
  ctx: PhaseContext,
  input: ShardedMirrorInput,
  ranges: KeyRange[],
  shard: number,
): ShardJobData {
  return {
    operationId: ctx.operation.id,
    cluster: ctx.operation.cluster,
    phase: input.phase,
    shard,
    ranges,
    listKey: input.listKey && shardListKey(input.listKey, shard),
  };
}

function collectData(ctx: PhaseContext, input: ShardedMirrorInput, count: number): CollectJobData {
  const listKey = input.listKey;
  return {
    cluster: ctx.operation.cluster,
    listKey,
    shardListKeys: listKey ? Array.from({ length: count }, (_, i) => shardListKey(listKey, i)) : [],
  };
}

async function waitOrAbort<T>(waiting: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new PachopsError('ABORTED', 'sharded mirror aborted', { permanent: true }));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([waiting, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The failing shard's own reason (it names the key and the server's words), not the parent's. */
async function shardFailure(queue: Queue, childIds: string[], error: unknown): Promise<unknown> {
  if (error instanceof PachopsError) return error;
  for (const [shard, id] of childIds.entries()) {
    const child = await Job.fromId(queue, id);
    if (child?.failedReason) {
      const permanent =
        child.attemptsMade >= (child.opts.attempts ?? 1) || /^[A-Z_]+: /.test(child.failedReason);
      return new PachopsError(
        'SHARD_FAILED',
        `mirror shard ${shard + 1} of ${childIds.length} failed: ${child.failedReason}`,
        { permanent },
      );
    }
  }
  return error;
}
