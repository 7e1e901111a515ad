import pLimit from 'p-limit';

/** Handlers' work after their acks at once; more waits, so that new requests are acked first. */
const FOLLOW_UPS_AT_ONCE = 4;

/**
 * Bounds the work Slack handlers do after their ack (state queries, Slack API calls). A burst of clicks
 * and commands then has every request acked before most of the follow-ups run, instead of each ack
 * waiting behind the follow-ups of the requests before it on the one event loop.
 */
export function createAfterAck(limit = FOLLOW_UPS_AT_ONCE): <T>(work: () => Promise<T>) => Promise<T> {
  const run = pLimit(limit);
  return (work) => run(work);
}
