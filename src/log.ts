import { type Logger, pino } from 'pino';

export type { Logger };

/** Field paths that may hold secrets; pino replaces their values before a line is written. */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'secretAccessKey',
  '*.secretAccessKey',
  '*.*.secretAccessKey',
  'credentials',
  '*.credentials',
  'env.PGPASSWORD',
  'headers.authorization',
  '*.headers.authorization',
];

/** One root logger per process; children carry `{ operationId, phase, slackUser }`. */
export function createLogger(options: {
  level?: string;
  name: string;
  destination?: NodeJS.WritableStream;
}): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    options.destination ?? process.stdout,
  );
}
