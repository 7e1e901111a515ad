import { type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import type { Logger } from '../log.ts';

/** Bolt's Logger interface on top of pino, so Bolt's own lines are structured and redacted too. */
export function toBoltLogger(log: Logger): BoltLogger {
  const text = (parts: unknown[]) =>
    parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
  return {
    // Bolt logs at debug on every request: build the line only when it will be written
    debug: (...msg) => {
      if (log.isLevelEnabled('debug')) log.debug(text(msg));
    },
    info: (...msg) => log.info(text(msg)),
    warn: (...msg) => log.warn(text(msg)),
    error: (...msg) => log.error(text(msg)),
    setLevel: () => undefined,
    getLevel: () => (log.level === 'debug' ? LogLevel.DEBUG : LogLevel.INFO),
    setName: () => undefined,
  };
}
