import { AsyncLocalStorage } from 'node:async_hooks';
import { type Logger, pino } from 'pino';
import { CENSOR, REDACTED_PATHS, redactFields, scrubText, secretForms } from './log-redact.ts';

/** Where a root logger keeps its context (children inherit it through their prototype). */
const CONTEXT = Symbol('pachops.log-context');
type LogContext = AsyncLocalStorage<Record<string, unknown>>;

export type { Logger };

/**
 * One root logger per process; children carry `{ operationId, phase, slackUser }`. Secrets never reach a
 * line: fields named like secrets are censored at any depth, errors are serialised and scrubbed (a
 * message may carry a connection string), and the finished line is searched once more for the values
 * in `secrets` (tokens, passwords and keys from the configuration) and for URL passwords and tokens.
 * `withLogContext` adds fields to every line written within a piece of work.
 */
export function createLogger(options: {
  level?: string;
  name: string;
  destination?: NodeJS.WritableStream;
  /** Secret values to mask wherever they turn up (`configSecrets(config)`). */
  secrets?: readonly (string | undefined)[];
}): Logger {
  const secrets = secretForms(options.secrets ?? []);
  const context: LogContext = new AsyncLocalStorage();
  const logger = pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: CENSOR },
      formatters: {
        log: (fields) => redactFields(fields, secrets) as Record<string, unknown>,
      },
      // Errors were serialised (and scrubbed) by the formatter above; a second pass would rename their type.
      serializers: { err: (value: unknown) => value },
      hooks: { streamWrite: (line) => scrubText(line, secrets) },
      mixin: (_fields, _level, instance) => contextFields(context, instance),
    },
    options.destination ?? process.stdout,
  );
  Object.defineProperty(logger, CONTEXT, { value: context });
  return logger;
}

/** The context's fields that the logger has not bound itself (a binding is never written twice). */
function contextFields(context: LogContext, instance: Logger): Record<string, unknown> {
  const fields = context.getStore();
  if (!fields) return {};
  const bound = instance.bindings();
  return Object.fromEntries(Object.entries(fields).filter(([key]) => !(key in bound)));
}

/**
 * Runs `fn` with `fields` on every line that any logger of the same root writes meanwhile, in every
 * callback and timer it starts: a phase job's lines all carry `{ operationId, phase }`, including those
 * of shared objects (the Slack reporter, the announcer) that log through the root logger.
 */
export function withLogContext<T>(log: Logger, fields: Record<string, unknown>, fn: () => T): T {
  const context = (log as Logger & { [CONTEXT]?: LogContext })[CONTEXT];
  if (!context) return fn();
  return context.run({ ...context.getStore(), ...fields }, fn);
}
