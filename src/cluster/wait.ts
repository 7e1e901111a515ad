import { setTimeout as sleep } from 'node:timers/promises';
import { PachopsError } from '../errors.ts';

export interface WaitOptions {
  timeoutMs: number;
  /** The longest pause between two checks (default 500 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
  /** Called after each unsuccessful check with what is still outstanding. */
  onWait?: (outstanding: string) => void;
}

/** The first re-check comes this soon, and each pause doubles up to `intervalMs`. */
const FIRST_RECHECK_MS = 100;

/**
 * Polls `check` until it returns null (done) or the timeout passes; `check` returns what is still
 * outstanding ("2 pods of app=pachd"), which ends up in the timeout error. The checks start close
 * together, so a wait of a few hundred ms adds little to the downtime, and spread out to `intervalMs`.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<string | null>,
  options: WaitOptions,
): Promise<number> {
  const started = Date.now();
  let outstanding = await check();
  let pause = Math.min(FIRST_RECHECK_MS, options.intervalMs ?? 500);
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
    await sleep(pause, undefined, { signal: options.signal });
    pause = Math.min(pause * 2, options.intervalMs ?? 500);
    outstanding = await check();
  }
  return Date.now() - started;
}
