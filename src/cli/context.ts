import { userInfo } from 'node:os';
import { type Config, loadConfig } from '../config/load.ts';
import { configSecrets } from '../config/secrets.ts';
import { createLogger, type Logger } from '../log.ts';
import { StateStore } from '../operations/store.ts';

export interface CliContext {
  config: Config;
  log: Logger;
  out: NodeJS.WritableStream;
  /** `cli:<os user>`: who the audit trail says acted. */
  actor: string;
  openStore(): Promise<StateStore>;
}

/** Loads the configuration once; logs go to stderr (JSON) so that stdout stays for people and pipes. */
export async function createCliContext(
  env: Record<string, string | undefined>,
  out: NodeJS.WritableStream,
): Promise<CliContext> {
  const config = await loadConfig(env);
  const log = createLogger({
    name: 'pachops-cli',
    level: config.runtime.logLevel ?? 'warn',
    destination: process.stderr,
    secrets: configSecrets(config),
  });
  return {
    config,
    log,
    out,
    actor: `cli:${userInfo().username}`,
    async openStore() {
      const store = new StateStore(config.stateDatabase.url, {
        onError: (error) => log.warn({ err: error }, 'a state database connection was lost'),
      });
      await store.migrate();
      return store;
    },
  };
}

/** Exit codes: 0 done, 1 the operation failed, 2 bad usage or configuration, 3 refused. */
export const EXIT = { ok: 0, failed: 1, usage: 2, refused: 3 } as const;
