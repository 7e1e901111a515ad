/**
 * Errors that carry a stable `code`, so that the thread, the CLI and the logs can say what failed and
 * what to do about it. `permanent` errors are not retried by the job queue.
 */
export class PachopsError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly permanent: boolean;

  constructor(
    code: string,
    message: string,
    options: { hint?: string; permanent?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'PachopsError';
    this.code = code;
    this.hint = options.hint;
    this.permanent = options.permanent ?? false;
  }
}

export class ConfigError extends PachopsError {
  constructor(message: string) {
    super('CONFIG_INVALID', message, { permanent: true });
    this.name = 'ConfigError';
  }
}

/** Turns anything thrown into one line a person can act on. */
export function describeError(error: unknown): string {
  if (error instanceof PachopsError) return error.hint ? `${error.message} (${error.hint})` : error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
