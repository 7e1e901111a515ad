import { once } from 'node:events';
import type { Writable } from 'node:stream';

/**
 * Waits until `stream` wants more (drain) or is gone (close/error). The listener that did not fire is
 * removed, so waiting at every full buffer of a long restore leaks nothing.
 */
export async function drainOrClose(stream: Writable): Promise<void> {
  const done = new AbortController();
  try {
    await Promise.race([
      once(stream, 'drain', { signal: done.signal }),
      once(stream, 'close', { signal: done.signal }),
    ]);
  } catch {
    // 'error' (EPIPE when the reader exits early) or our own abort: the caller checks stream.destroyed.
  } finally {
    done.abort();
  }
}
