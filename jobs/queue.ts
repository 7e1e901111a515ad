import { Queue, UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import type { Config } from '../src/config/load.ts';
import { PhaseName as PhaseNameSchema } from '../src/config/schema.ts';
import { PachopsError } from '../src/errors.ts';
import type { PhaseName } from '../src/operations/model.ts';
import type { Dispatcher } from '../src/operations/ports.ts';
import type { StateStore } from '../src/operations/store.ts';

export const PHASE_QUEUE = 'pachops-phases';

export const PhaseJobData = z.object({
  operationId: z.string().min(1),
  phase: PhaseNameSchema,
  run: z.number().int().positive(),
});
export type PhaseJobData = z.infer<typeof PhaseJobData>;

export function createPhaseQueue(redis: Config['redis']): Queue {
  // Producers fail fast while Redis is away (no offline queue): a click is then refused and can be
  // repeated, rather than hanging until Redis returns.
  return new Queue(PHASE_QUEUE, {
    prefix: redis.prefix,
    connection: { url: redis.url, maxRetriesPerRequest: null, enableOfflineQueue: false },
  });
}

/**
 * Enqueues a phase as a BullMQ job. The job id names the operation, phase and run, so a second enqueue of
 * the same run (a double click that slipped past the prompt claim, a redelivery) adds nothing.
 */
export function createQueueDispatcher(store: StateStore, queue: Queue, retry: Config['jobs']): Dispatcher {
  return {
    async dispatch(operationId: string, phase: PhaseName, approvedBy?: string) {
      const before = await store.getOperation(operationId);
      const previous = await store.getPhase(operationId, phase);
      // Marked queued before the job exists, so that a fast worker's `running` is never overwritten.
      const run = await store.queuePhase(operationId, phase, approvedBy);
      const data: PhaseJobData = { operationId, phase, run };
      try {
        await queue.add(phase, data, {
          jobId: `${operationId}.${phase}.${run}`,
          attempts: retry.attempts,
          backoff: { type: 'exponential', delay: retry.backoffSeconds * 1000 },
          removeOnComplete: { count: 1000 },
          removeOnFail: { count: 1000 },
        });
      } catch (error) {
        await store.unqueuePhase(
          operationId,
          phase,
          previous?.status ?? 'pending',
          before?.status ?? 'running',
        );
        throw new PachopsError(
          'QUEUE_UNAVAILABLE',
          `could not enqueue ${phase}: Redis: ${(error as Error).message}`,
          {
            cause: error,
            hint: 'nothing was started; try again once Redis answers',
          },
        );
      }
    },
  };
}

/** BullMQ retries what it can; permanent errors (bad input, 403) must not be retried. */
export function toJobError(error: unknown): Error {
  if (error instanceof PachopsError && error.permanent)
    return new UnrecoverableError(`${error.code}: ${error.message}`);
  return error instanceof Error ? error : new Error(String(error));
}
