import pLimit from 'p-limit';

// The global setTimeout, not node:timers/promises as elsewhere: Jest's fake clock drives the test of this.
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How the bot schedules handlers' work after their acks. */
export interface AfterAckOptions {
  /** Follow-ups running at once; more wait their turn. */
  limit?: number;
  /** A follow-up starts once no Slack request arrived for this long (default 100 ms)… */
  quietMs?: number;
  /** …or once it has waited this long (default 500 ms; views.open's trigger_id lives 3 s). */
  maxWaitMs?: number;
}

/** The scheduler: `arrived` is told of every Slack request, `afterAck` runs a handler's follow-up. */
export interface AfterAck {
  arrived(): void;
  afterAck<T>(work: () => Promise<T>): Promise<T>;
}

/**
 * Acks first: a handler's work after its ack (state queries, Slack API calls) waits while Slack requests
 * keep arriving, so that a burst of clicks and commands has every request acked before the follow-ups
 * take the event loop, instead of each ack waiting behind the follow-ups of the requests before it. A
 * follow-up never waits longer than `maxWaitMs`, and at most `limit` run at once.
 */
export function createAfterAck(options: AfterAckOptions = {}): AfterAck {
  const { limit = 4, quietMs = 100, maxWaitMs = 500 } = options;
  const run = pLimit(limit);
  let lastArrival = Number.NEGATIVE_INFINITY;
  const untilQuiet = async (since: number) => {
    for (;;) {
      const now = Date.now();
      const wait = Math.min(lastArrival + quietMs - now, since + maxWaitMs - now);
      if (wait <= 0) return;
      await sleep(wait);
    }
  };
  return {
    arrived: () => {
      lastArrival = Date.now();
    },
    afterAck: (work) => {
      const enqueued = Date.now();
      return run(async () => {
        await untilQuiet(enqueued);
        return work();
      });
    },
  };
}
