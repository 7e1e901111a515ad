import { types } from 'node:util';
import { stdSerializers } from 'pino';

/** What a secret is replaced with in a log line. */
export const CENSOR = '[redacted]';

/** Field names whose values are secret, on the lower-cased name without `_` and `-`, at any depth. */
const SECRET_KEY =
  /pass(word|wd|phrase)?$|secret|token|credential|authorization|cookie|apikey|privatekey|encryptionkey|sessionkey/;

/** Names of variables or Secrets that hold a secret (`passwordEnv`, `secretAccessKeyEnv`) are not secret. */
const NAMES_A_SECRET = /(env|name|names)$/;

/** `scheme://user:password@host`: the password of a connection string or URL. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@"]*:)([^@/\s"]+)(@)/gi;

/** Slack tokens: bot, user, app-level, configuration and refresh tokens. */
const SLACK_TOKEN = /\bx(?:ox[abeprs]|app|oxe\.xox[bp])-[A-Za-z0-9-]{8,}/g;

/** `password=x`, `secret: x`, `token=x` inside free text (libpq keyword strings, query strings, YAML). */
const KEYWORD_SECRET = /\b((?:pass(?:word|wd)?|secret|token|sslpassword)\s*[=:]\s*)('[^']*'|[^\s&,;'"]+)/gi;

const MAX_DEPTH = 12;

/**
 * pino's own redaction, for what the field walk cannot reach: a child logger's bindings are serialised
 * once, when the child is made, without the log formatter.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'secretAccessKey',
  '*.secretAccessKey',
  'credentials',
  '*.credentials',
  'authorization',
  '*.authorization',
];

function isSecretKey(key: string): boolean {
  const name = key.toLowerCase().replace(/[_-]/g, '');
  return SECRET_KEY.test(name) && !NAMES_A_SECRET.test(name);
}

/**
 * The forms a secret may take in text: as given, URL-encoded (in a connection string), JSON-escaped (in
 * a line already serialised). Values shorter than 4 characters are left out: masking every `1` would
 * garble lines without protecting anything.
 */
export function secretForms(secrets: readonly (string | undefined)[]): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/** Masks known secret values and whatever looks like a secret in free text (URL passwords, tokens). */
export function scrubText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join(CENSOR);
  return out
    .replace(URL_PASSWORD, `$1${CENSOR}$3`)
    .replace(SLACK_TOKEN, CENSOR)
    .replace(KEYWORD_SECRET, `$1${CENSOR}`);
}

/** Errors from any realm (Node's own, a library's, a test's VM context). */
function isError(value: object): value is Error {
  return value instanceof Error || types.isNativeError(value);
}

/**
 * A copy of a log line's fields fit to write: secret-named fields at any depth censored, errors
 * serialised (message, stack, causes and their own fields) and then treated like any other object,
 * every string scrubbed. Objects nested deeper than MAX_DEPTH, or seen before, are cut short.
 */
export function redactFields(value: unknown, secrets: readonly string[]): unknown {
  const seen = new WeakSet<object>();
  const walk = (item: unknown, depth: number): unknown => {
    if (typeof item === 'string') return scrubText(item, secrets);
    if (item === null || typeof item !== 'object') return item;
    if (seen.has(item)) return '[circular]';
    if (depth > MAX_DEPTH) return '[too deep]';
    seen.add(item);
    if (Array.isArray(item)) return item.map((v) => walk(v, depth + 1));
    if (isError(item)) return walk({ ...stdSerializers.err(item) }, depth);
    if (typeof (item as { toJSON?: unknown }).toJSON === 'function') {
      return walk((item as { toJSON(): unknown }).toJSON(), depth);
    }
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(item))
      out[key] = isSecretKey(key) && v !== undefined && v !== null && v !== '' ? CENSOR : walk(v, depth + 1);
    return out;
  };
  return walk(value, 0);
}
