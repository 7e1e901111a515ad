import { hostname } from 'node:os';
import { type Job, Worker } from 'bullmq';
import type { Config } from '../../src/config/load.ts';
import { PachopsError } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import type { StateStore } from '../../src/operations/store.ts';
import { changedObjectKey } from '../../src/storage/layout.ts';
import { mirrorBucket } from '../../src/storage/mirror/mirror-bucket.ts';
import { concatObjectLists, deleteKeys } from '../../src/storage/object-list.ts';
import type { ClusterServices } from '../phases/types.ts';
import { toJobError } from '../queue.ts';
import {
  CollectJobData,
  SHARD_QUEUE,
  type ShardJobData,
  type ShardResult,
  ShardJobData as ShardSchema,
} from './shard-jobs.ts';

export interface ShardWorkerDeps {
  config: Config;
  store: StateStore;
  services: (cluster: Config['clusters'][string]) => ClusterServices;
  log: Logger;
}

/** How often a shard looks whether its phase still runs (aborted, failed elsewhere: it stops too). */
const PHASE_CHECK_MS = 1000;
/** Progress sent to the phase at most this often. */
const PROGRESS_MS = 1000;

/** A worker for mirror shards: any worker process takes shards of any sharded mirror. */
export function startShardWorker(deps: ShardWorkerDeps): Worker {
  const { config } = deps;
  return new Worker(
    SHARD_QUEUE,
    async (job) => {
      try {
        return await (job.name === 'collect' ? collect(deps, job) : runShard(deps, job));
      } catch (error) {
        throw toJobError(error); // a permanent failure is not retried
      }
    },
    {
      prefix: config.redis.prefix,
      connection: { url: config.redis.url, maxRetriesPerRequest: null },
      // One shard at a time per process: shards spread over the worker replicas.
      concurrency: 1,
      lockDuration: config.jobs.lockSeconds * 1000,
      stalledInterval: config.jobs.lockSeconds * 1000,
    },
  );
}

async function runShard(deps: ShardWorkerDeps, job: Job): Promise<ShardResult> {
  const data: ShardJobData = ShardSchema.parse(job.data);
  const cluster = deps.config.clusters[data.cluster];
  if (!cluster)
    throw new PachopsError('CLUSTER_UNKNOWN', `cluster ${data.cluster} is not configured`, {
      permanent: true,
    });
  const services = deps.services(cluster);
  const log = deps.log.child({ operationId: data.operationId, phase: data.phase, shard: data.shard });
  const controller = new AbortController();
  const watch = setInterval(() => void stopUnlessRunning(deps, data, controller), PHASE_CHECK_MS);
  let lastProgress = 0;
  try {
    const result = await mirrorBucket({
      source: services.source,
      target: services.backup,
      changedKeyFor: changedObjectKey,
      objectListKey: data.listKey,
      ranges: data.ranges,
      ...cluster.mirror,
      signal: controller.signal,
      log,
      onProgress: (progress) => {
        if (Date.now() - lastProgress < PROGRESS_MS) return;
        lastProgress = Date.now();
        void job.updateProgress(progress).catch(() => undefined); // progress is best effort
      },
    });
    log.info({ copied: result.copied, listed: result.listed }, 'mirror shard done');
    return { ...result, shard: data.shard, worker: `${hostname()}/${process.pid}` };
  } finally {
    clearInterval(watch);
  }
}

async function stopUnlessRunning(deps: ShardWorkerDeps, data: ShardJobData, controller: AbortController) {
  const phase = await deps.store.getPhase(data.operationId, data.phase).catch(() => undefined);
  if (phase && phase.status !== 'running' && phase.status !== 'queued') controller.abort();
}

/** The flow's parent: the shards' object lists joined in shard (= key) order, their results returned. */
async function collect(deps: ShardWorkerDeps, job: Job): Promise<ShardResult[]> {
  const data = CollectJobData.parse(job.data);
  const cluster = deps.config.clusters[data.cluster];
  if (!cluster)
    throw new PachopsError('CLUSTER_UNKNOWN', `cluster ${data.cluster} is not configured`, {
      permanent: true,
    });
  const { backup } = deps.services(cluster);
  if (data.listKey) {
    await concatObjectLists(backup, data.shardListKeys, data.listKey);
    await deleteKeys(backup, data.shardListKeys);
  }
  const values = Object.values(await job.getChildrenValues()) as ShardResult[];
  return values.sort((a, b) => a.shard - b.shard);
}
