/**
 * What the deploy-file tests compare the deploy files with: the shipped sources (src/ and jobs/, what the
 * image carries), the environment variables they read, and the secret variables a config names.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const read = (path: string) => readFileSync(join(root, path), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Repository-relative paths of every TypeScript file the image ships. */
export const shipped = [...sourceFiles('src'), ...sourceFiles('jobs')];

/** Variables the shipped code reads (`env.X`, `env['X']`; assignments excluded). */
export const codeEnv = new Set(
  shipped.flatMap((file) =>
    [...read(file).matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])(?!\s*=[^=])/g)].map(
      (m) => m[1] ?? m[2],
    ),
  ),
);

/** Every `…Env` value in a config: the secret variables it names. */
export function namedSecrets(value: unknown): string[] {
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) =>
    key.endsWith('Env') && typeof v === 'string' ? [v] : namedSecrets(v),
  );
}

/** An environment giving each secret a config names a placeholder value. */
/** A stand-in value for each: 32 bytes in base64 fits every kind, the dump key (`encryption.keyEnv`) too. */
const SECRET = Buffer.alloc(32, 1).toString('base64');
export const withSecrets = (config: unknown) =>
  Object.fromEntries(namedSecrets(config).map((n) => [n, SECRET]));
