import { StandardRetryStrategy } from '@smithy/core/retry';

/** One push-back from a server, as the SDK's retry strategy classified it. */
export interface PushBack {
  type: RetryInfo['errorType'];
  /** The S3 error code or the socket error (`SlowDown`, `ECONNRESET`…). */
  code: string;
}

/**
 * Tells whoever listens that a server pushed back (503 SlowDown, 429, a reset connection) each time the
 * SDK is about to retry a request, so that a copier can lower its concurrency while the SDK backs off.
 */
export class Pressure {
  private readonly listeners = new Set<(pushBack: PushBack) => void>();

  listen(listener: (pushBack: PushBack) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  notify(pushBack: PushBack): void {
    for (const listener of this.listeners) listener(pushBack);
  }
}

type RetryInfo = Parameters<StandardRetryStrategy['refreshRetryTokenForRetry']>[1];
type RetryToken = Parameters<StandardRetryStrategy['refreshRetryTokenForRetry']>[0];

/**
 * The SDK's standard retry strategy (exponential back-off with jitter, a retry quota), reporting every
 * retry to a {@link Pressure} so that the copier lowers its concurrency. Not the SDK's adaptive mode: its
 * client-side rate limiter, shared by every request of a client, throttles far harder: 400 copies with
 * 15% of them answered SlowDown (test/storage/mirror-faults.test.ts) did not finish in 120 s with it,
 * and took 18 s with this.
 */
export class ReportingRetryStrategy extends StandardRetryStrategy {
  private readonly pressure: Pressure;

  constructor(pressure: Pressure, maxAttempts: number) {
    super(maxAttempts);
    this.pressure = pressure;
  }

  override refreshRetryTokenForRetry(token: RetryToken, info: RetryInfo) {
    // Only what the SDK retries is push-back: a 501 (SERVER_ERROR) is an answer, not a server under load.
    if (info.errorType === 'THROTTLING' || info.errorType === 'TRANSIENT')
      this.pressure.notify({ type: info.errorType, code: errorCode(info) });
    return super.refreshRetryTokenForRetry(token, info);
  }
}

function errorCode(info: RetryInfo): string {
  const error = info.error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  return error?.code ?? error?.name ?? `HTTP ${error?.$metadata?.httpStatusCode ?? '?'}`;
}
