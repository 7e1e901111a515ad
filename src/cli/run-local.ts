import { setTimeout as sleep } from 'node:timers/promises';
import { type RunnerDeps, runPhase } from '../../jobs/run-phase.ts';
import { createServiceCache } from '../../jobs/services.ts';
import type { Config } from '../config/load.ts';
import { PachopsError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { PhaseName } from '../operations/model.ts';
import type { Announcer, Dispatcher, Reporter } from '../operations/ports.ts';
import { PromptStore } from '../operations/prompts.ts';
import type { StateStore } from '../operations/store.ts';

/**
 * Runs phases in this process instead of on the queue: the CLI's way when Slack (or Redis) is down.
 * Same phases, same state database, same retries as the worker; approvals were given by `--yes`.
 */
export function createLocalRunner(input: {
  config: Config;
  store: StateStore;
  reporter: Reporter;
  announcer: Announcer;
  log: Logger;
  signal: AbortSignal;
  /** Who gave the approvals (`--yes`): recorded as each phase's approver. */
  actor: string;
}): RunnerDeps {
  const deps: RunnerDeps = {
    config: input.config,
    store: input.store,
    prompts: new PromptStore(input.store.pool),
    reporter: input.reporter,
    announcer: input.announcer,
    log: input.log,
    approvedBy: input.actor,
    services: createServiceCache(input.config),
    dispatcher: undefined as unknown as Dispatcher,
  };
  deps.dispatcher = {
    async dispatch(operationId: string, phase: PhaseName, approvedBy?: string) {
      await input.store.queuePhase(operationId, phase, approvedBy);
      const { attempts, backoffSeconds } = input.config.jobs;
      for (let attempt = 1; ; attempt++) {
        try {
          return await runPhase(deps, {
            operationId,
            phase,
            attempt,
            maxAttempts: attempts,
            signal: input.signal,
          });
        } catch (error) {
          const permanent = error instanceof PachopsError && error.permanent;
          if (permanent || attempt >= attempts || input.signal.aborted) throw error;
          await sleep(backoffSeconds * 1000 * 2 ** (attempt - 1));
        }
      }
    },
  };
  return deps;
}
