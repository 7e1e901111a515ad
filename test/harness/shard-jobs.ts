/** The mirror shard jobs a scenario's workers ran, read from its BullMQ queue (kept after completion). */
import { type Job, Queue } from 'bullmq';
import { SHARD_QUEUE } from '../../jobs/mirror-shards/shard-jobs.ts';
import type { Scenario } from './scenario.ts';

/** Completed shard jobs: how often each started (`attemptsStarted`), failed or stalled. */
export async function completedShards(scenario: Scenario): Promise<Job[]> {
  const { url, prefix } = scenario.redis;
  const queue = new Queue(SHARD_QUEUE, { prefix, connection: { url } });
  try {
    return (await queue.getJobs(['completed'])).filter((job) => job.name === 'shard');
  } finally {
    await queue.close();
  }
}
