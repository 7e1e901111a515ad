import { setTimeout as sleep } from 'node:timers/promises';
import { PachopsError } from '../errors.ts';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
  /** Called after each unsuccessful check with what is still outstanding. */
  onWait?: (outstanding: string) => void;
}

/**
 * Polls `check` until it returns null (done) or the timeout passes; `check` returns what is still
 * outstanding ("2 pods of app=pachd"), which ends up in the timeout error.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<string | null>,
  options: WaitOptions,
): Promise<number> {
  const started = Date.now();
  let outstanding = await check();
  while (outstanding !== null) {
    if (Date.now() - started > options.timeoutMs) {
      throw new PachopsError(
        'WAIT_TIMEOUT',
        `timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${what}: ${outstanding}`,
        // Something is stuck: a person should look before it is tried again.
        { permanent: true, hint: 'check the pods with kubectl, then Retry' },
      );
    }
    options.onWait?.(outstanding);
    await sleep(options.intervalMs ?? 500, undefined, { signal: options.signal });
    outstanding = await check();
  }
  return Date.now() - started;
}
