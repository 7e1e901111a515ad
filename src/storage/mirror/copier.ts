import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { PachopsError } from '../../errors.ts';
import type { PushBack } from '../pressure.ts';
import type { Bucket } from '../s3.ts';
import { AdaptiveLimit } from './adaptive-limit.ts';

/** Whole-copy attempts, on top of the SDK's per-request retries, for failures that are not permanent. */
export const COPY_ATTEMPTS = 4;
const FIRST_BACKOFF_MS = 500;
/** Push-back is logged at most this often, with the count since the last line. */
const LOG_EVERY_MS = 2000;

export interface CopierOptions {
  /** Both buckets' push-back lowers the concurrency. */
  buckets: Bucket[];
  concurrency: number;
  /** Whole-copy attempts (default COPY_ATTEMPTS); each is the SDK's own retries of each request. */
  attempts?: number;
  signal?: AbortSignal;
  log?: Pick<Logger, 'warn' | 'info'>;
}

/**
 * Runs copies concurrently, as many as the adaptive limit allows: it shrinks while the servers push back
 * (503 SlowDown, 429, resets) and grows back while they do not. A copy that still fails after the SDK's
 * retries is tried again whole, after a back-off, unless the failure is permanent. The first failure
 * that outlasts the attempts stops new copies; drain() waits for those in flight.
 */
export class Copier {
  readonly limit: AdaptiveLimit;
  failure: { error: unknown } | undefined;
  pushBacks = 0;
  lowestLimit: number;
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly unlisten: (() => void)[];
  private readonly options: CopierOptions;
  private unlogged = 0;
  private lastLog = 0;

  constructor(options: CopierOptions) {
    this.options = options;
    this.limit = new AdaptiveLimit(options.concurrency);
    this.lowestLimit = this.limit.limit;
    this.unlisten = options.buckets.map((bucket) => bucket.pressure.listen((p) => this.pushedBack(p)));
  }

  /**
   * Waits for a free slot and starts `task`; `settled` is its outcome, undefined if it failed (it never
   * rejects: the failure is kept in `failure` and stops the copier).
   */
  async submit<T>(task: () => Promise<T>): Promise<{ settled: Promise<T | undefined> }> {
    const release = await this.limit.acquire();
    if (this.stopped) {
      release(); // stopped while waiting for the slot: start nothing new
      return { settled: Promise.resolve(undefined) };
    }
    const running = this.attempt(task)
      .then((value) => {
        this.limit.succeeded();
        return value;
      })
      .catch((error: unknown) => {
        this.failure ??= { error };
        return undefined;
      })
      .finally(() => {
        release();
        this.inFlight.delete(running);
      });
    this.inFlight.add(running);
    return { settled: running };
  }

  /**
   * Stops new copies for a failure outside any copy (a range's listing, its object list): every range
   * then winds down at its next key, and the mirror fails with the first failure once drained.
   */
  fail(error: unknown): void {
    this.failure ??= { error };
  }

  get stopped(): boolean {
    return this.failure !== undefined || this.options.signal?.aborted === true;
  }

  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.all(this.inFlight);
  }

  close(): void {
    for (const unlisten of this.unlisten) unlisten();
    this.flushLog(true);
  }

  private async attempt<T>(task: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await task();
      } catch (error) {
        const permanent = !(error instanceof PachopsError) || error.permanent || error.code !== 'S3_FAILED';
        if (permanent || this.stopped || attempt >= (this.options.attempts ?? COPY_ATTEMPTS)) throw error;
        this.pushedBack({ type: 'TRANSIENT', code: (error as PachopsError).code });
        const backoff = FIRST_BACKOFF_MS * 2 ** (attempt - 1) * (0.5 + Math.random());
        await sleep(backoff, undefined, { signal: this.options.signal }).catch(() => undefined);
      }
    }
  }

  private pushedBack(pushBack: PushBack): void {
    this.pushBacks++;
    this.unlogged++;
    if (this.limit.pushedBack()) this.lowestLimit = Math.min(this.lowestLimit, this.limit.limit);
    this.flushLog(false, pushBack);
  }

  private flushLog(final: boolean, pushBack?: PushBack): void {
    const now = Date.now();
    if (!this.unlogged || (!final && now - this.lastLog < LOG_EVERY_MS)) return;
    this.lastLog = now;
    this.options.log?.warn(
      { pushBacks: this.unlogged, last: pushBack?.code, concurrency: this.limit.limit, max: this.limit.max },
      'S3 pushed back: retrying with back-off at lower concurrency',
    );
    this.unlogged = 0;
  }
}
