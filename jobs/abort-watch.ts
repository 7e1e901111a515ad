import { PachopsError } from '../src/errors.ts';
import type { Logger } from '../src/log.ts';
import type { AbortRequest, AbortRequestStore } from '../src/operations/abort-requests.ts';
import type { PhaseName } from '../src/operations/model.ts';

/** How often a running phase looks for an abort request: a click takes effect within about this long. */
export const ABORT_POLL_MS = 1000;

/** A phase stopped on request: permanent (BullMQ must not run it again by itself), not a fault. */
export class PhaseAbortedError extends PachopsError {
  readonly request: AbortRequest;
  /** The phase's last progress line: how far it got. */
  readonly partial?: string;

  constructor(request: AbortRequest, partial: string | undefined, cause: unknown) {
    const got = partial ? ` (last progress: ${partial})` : '';
    super('ABORTED', `aborted by ${request.requestedBy}${got}`, { permanent: true, cause });
    this.name = 'PhaseAbortedError';
    this.request = request;
    this.partial = partial;
  }
}

export interface AbortWatch {
  /** Aborted when someone asks this run of the phase to stop, or when `parent` aborts (the CLI's Ctrl-C). */
  signal: AbortSignal;
  /** The request that aborted the signal, once seen. */
  request(): AbortRequest | undefined;
  /** Stops polling (waiting for a poll in flight); with `lookAgain`, looks once more for a late request. */
  stop(options?: { lookAgain?: boolean }): Promise<AbortRequest | undefined>;
}

/**
 * Polls the state database for an abort request for one run of one phase while it runs, and aborts the
 * signal the phase was given when one appears. A poll that fails is logged and tried again next time.
 */
export function watchForAbort(input: {
  requests: AbortRequestStore;
  key: { operationId: string; phase: PhaseName; run: number };
  parent?: AbortSignal;
  log: Logger;
  intervalMs?: number;
}): AbortWatch {
  const controller = new AbortController();
  const { parent } = input;
  const onParent = () => controller.abort(parent?.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  let seen: AbortRequest | undefined;
  let inFlight: Promise<void> | undefined;
  const poll = async () => {
    try {
      const found = await input.requests.find(input.key);
      if (found && !seen && !controller.signal.aborted) {
        seen = found;
        input.log.info({ requestedBy: found.requestedBy }, 'abort requested; stopping the phase');
        controller.abort(new PachopsError('ABORTED', `aborted by ${found.requestedBy}`, { permanent: true }));
      }
    } catch (error) {
      input.log.warn({ err: error }, 'could not look for an abort request; trying again');
    }
  };
  const look = () => {
    if (inFlight || seen) return;
    inFlight = poll().finally(() => {
      inFlight = undefined;
    });
  };
  // At once, then every interval: a request made before the phase started (a resume ending the
  // operation as the phase was taken up) stops it before it acts.
  look();
  const timer = setInterval(look, input.intervalMs ?? ABORT_POLL_MS);
  return {
    signal: controller.signal,
    request: () => seen,
    async stop(options = {}) {
      clearInterval(timer);
      parent?.removeEventListener('abort', onParent);
      await inFlight;
      if (seen || !options.lookAgain) return seen;
      return input.requests.find(input.key).catch(() => undefined);
    },
  };
}
