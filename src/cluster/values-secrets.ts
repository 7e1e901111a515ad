/**
 * Which Helm values are secret, and how to print values without them: whatever pachops shows of a
 * values tree (the deploy diff, helm's own error output) goes through here first.
 */

export const MASK = '••••';

/** Storage provider sections whose `id` is an access key id (PACHYDERM.md, pachd.storage.*). */
const PROVIDERS = new Set(['amazon', 'google', 'microsoft', 'minio']);

/** Key names that hold a secret; matched on the lower-cased name with `_` and `-` removed. */
const SECRET_NAME =
  /pass(word|wd|phrase)?|secret|token|cred|privatekey|apikey|accesskey|licensekey|signingkey|keyid|encryptionkey|cert|^crt$|^pem$|^tls(key|crt)$/;

/** A bare `key` is a private key under a TLS section, but a label key elsewhere (tolerations). */
const KEY_PARENT = /secret|tls|ssl|cert|cred/;

/** Names that merely name a Secret or a user (`rootTokenSecretName`, `postgresqlUsername`). */
const NAME_OF_SOMETHING = /name$/;

/** `key: value` or `key=value` inside a string (a YAML or JSON blob, a query string). */
const EMBEDDED_SECRET =
  /(["']?)([A-Za-z0-9_.-]*(?:pass(?:word|wd)?|secret|token|private_?key|api_?key|access_?key|signature|sig)[A-Za-z0-9_-]*)\1(\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s&,;}"']+)/gi;

const PEM = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g;

/** `scheme://user:password@host` */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)([^@/\s]+)(@)/gi;

function normalise(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

/** Splits `a.b.c` into segments (the paths pachops builds have no dots inside keys). */
export function splitPath(path: string | readonly string[]): string[] {
  if (typeof path !== 'string') return [...path];
  return path === '' ? [] : path.split('.');
}

/** Whether the value at this path is a secret: by the key's name, or `id` under a storage provider. */
export function isSecretPath(path: string | readonly string[]): boolean {
  const segments = splitPath(path).filter((s) => !/^\d+$/.test(s));
  const last = segments.at(-1);
  if (last === undefined) return false;
  const name = normalise(last);
  const parent = normalise(segments.at(-2) ?? '');
  if (name === 'id') return PROVIDERS.has(parent);
  if (name === 'key') return KEY_PARENT.test(parent);
  if (NAME_OF_SOMETHING.test(name)) return false;
  return SECRET_NAME.test(name);
}

/** Masks what looks secret inside a free-form string: PEM blocks, URL passwords, `secret: x` pairs. */
export function scrubString(text: string): string {
  return text
    .replace(PEM, MASK)
    .replace(URL_PASSWORD, `$1${MASK}$3`)
    .replace(
      EMBEDDED_SECRET,
      (_m, quote: string, key: string, sep: string) => `${quote}${key}${quote}${sep}${MASK}`,
    );
}

function maskAll(value: unknown): unknown {
  if (value === null || value === undefined || value === '' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map(maskAll);
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskAll(v)]));
  }
  return MASK;
}

/** `{name: AWS_SECRET_ACCESS_KEY, value: …}` as in env lists: the value is as secret as the name says. */
function isSecretEnvEntry(value: Record<string, unknown>): boolean {
  return typeof value.name === 'string' && 'value' in value && isSecretPath([value.name]);
}

/**
 * A copy of `value` (found at `path` in a values tree) fit to print: a secret path prints as `••••`,
 * and inside objects, arrays and strings every secret-looking part is masked too, whatever the path.
 */
export function maskSecrets(value: unknown, path: string | readonly string[] = []): unknown {
  const segments = splitPath(path);
  if (isSecretPath(segments)) return maskAll(value);
  if (typeof value === 'string') return scrubString(value);
  if (Array.isArray(value)) return value.map((item, i) => maskSecrets(item, [...segments, String(i)]));
  if (value !== null && typeof value === 'object') {
    const tree = value as Record<string, unknown>;
    const secretEnv = isSecretEnvEntry(tree);
    return Object.fromEntries(
      Object.entries(tree).map(([k, v]) => [
        k,
        secretEnv && k === 'value' ? maskAll(v) : maskSecrets(v, [...segments, k]),
      ]),
    );
  }
  return value;
}

/**
 * Every secret string in a values tree (by path, PEM block or env entry), longest first, so that
 * printed text can be scrubbed of them wherever they turn up. Values shorter than 4 characters are
 * left out: masking every `1` or `no` would garble the text without protecting anything.
 */
export function collectSecrets(values: unknown): string[] {
  const found = new Set<string>();
  const walk = (value: unknown, segments: string[], secret: boolean) => {
    if (typeof value === 'string' || typeof value === 'number') {
      const text = String(value);
      if (secret && text.length >= 4) found.add(text);
      else if (typeof value === 'string') for (const m of text.matchAll(PEM)) found.add(m[0]);
      return;
    }
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, [...segments, String(i)], secret);
    } else if (value !== null && typeof value === 'object') {
      const tree = value as Record<string, unknown>;
      const secretEnv = isSecretEnvEntry(tree);
      for (const [k, v] of Object.entries(tree)) {
        const path = [...segments, k];
        walk(v, path, secret || isSecretPath(path) || (secretEnv && k === 'value'));
      }
    }
  };
  walk(values, [], false);
  return [...found].sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of the given secrets (and whatever scrubString catches) with `••••`. */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(MASK);
  return scrubString(out);
}
