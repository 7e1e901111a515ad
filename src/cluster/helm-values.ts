/**
 * Rewrites the Helm values a backup saved so that a redeploy points Pachyderm at the restored
 * databases and bucket, and nothing else changes. Keys as in the pachyderm chart's values.yaml
 * (PACHYDERM.md, "Helm values"); the values are the user-supplied ones (`helm get values`), so a
 * key the user never set has the chart's default.
 */
import { z } from 'zod';
import { PachopsError } from '../errors.ts';
import { collectSecrets, MASK, maskSecrets, splitPath } from './values-secrets.ts';

export { collectSecrets, isSecretPath, MASK, maskSecrets, redactText } from './values-secrets.ts';

export interface RestoreTargets {
  postgres: { host: string; port: number; database: string; dexDatabase: string };
  bucket: { name: string };
}

export interface ValueChange {
  path: string;
  before: unknown;
  after: unknown;
}

type Tree = Record<string, unknown>;
type Backend = 'AMAZON' | 'GOOGLE' | 'MICROSOFT' | 'MINIO' | 'LOCAL';

const TargetsSchema = z.object({
  postgres: z.object({
    host: z.string().regex(/^[^\s/?#@]+$/, 'a host name or address'),
    port: z.number().int().min(1).max(65535),
    database: z.string().min(1).max(63),
    dexDatabase: z.string().min(1).max(63),
  }),
  bucket: z.object({
    name: z
      .string()
      .max(255)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a bucket or container name'),
  }),
});

/** The key naming the bucket in each provider's section of `pachd.storage` (chart 2.0–2.11). */
const PROVIDER_BUCKET_KEY: Record<Exclude<Backend, 'LOCAL'>, string[]> = {
  AMAZON: ['pachd', 'storage', 'amazon', 'bucket'],
  GOOGLE: ['pachd', 'storage', 'google', 'bucket'],
  MICROSOFT: ['pachd', 'storage', 'microsoft', 'container'],
  MINIO: ['pachd', 'storage', 'minio', 'bucket'],
};

const STORAGE_URL = ['pachd', 'storage', 'storageURL'];
const PG = ['global', 'postgresql'];

/** Schemes whose host part is the bucket (pachyderm src/internal/obj/url.go; `gcs` is read as `gs`). */
const HOST_IS_BUCKET = new Set(['s3', 'gs', 'gcs', 'azblob']);

function isTree(value: unknown): value is Tree {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function getPath(tree: Tree, path: readonly string[]): unknown {
  let node: unknown = tree;
  for (const key of path) node = isTree(node) ? node[key] : undefined;
  return node;
}

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]] = value;
}

function refuse(code: string, message: string, hint?: string): PachopsError {
  return new PachopsError(code, message, { permanent: true, hint });
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** `2.11.6`, `v2.9.0-rc.1` → [2, 11]. */
function parseChartVersion(version: string): [number, number] {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$/.exec(version.trim());
  if (!m || Number(m[1]) < 2) {
    throw refuse(
      'HELM_VALUES_CHART_VERSION',
      `chart version "${version}" is not a Pachyderm 2.x chart version; pachops rewrites values of charts 2.0 and later`,
    );
  }
  return [Number(m[1]), Number(m[2])];
}

/** The chart's `pachyderm.storageBackend` helper: `pachd.storage.backend`, else from `deployTarget`. */
function storageBackend(values: Tree): Backend | undefined {
  const explicit = nonEmpty(getPath(values, ['pachd', 'storage', 'backend']))?.toUpperCase();
  if (explicit)
    return ['AMAZON', 'GOOGLE', 'MICROSOFT', 'MINIO', 'LOCAL'].includes(explicit)
      ? (explicit as Backend)
      : undefined;
  const target = nonEmpty(values.deployTarget)?.toUpperCase();
  return target && ['AMAZON', 'GOOGLE', 'MICROSOFT', 'LOCAL'].includes(target)
    ? (target as Backend)
    : undefined;
}

function change(values: Tree, path: readonly string[], after: unknown, changes: ValueChange[]): void {
  const before = getPath(values, path);
  if (before === after) return;
  setPath(values, path, after);
  changes.push({ path: path.join('.'), before, after });
}

/** Database host, port, name and the dex database; refuses the chart's bundled PostgreSQL. */
function rewritePostgres(values: Tree, pg: RestoreTargets['postgres'], changes: ValueChange[]): void {
  const enabled = getPath(values, ['postgresql', 'enabled']);
  if (enabled !== false && enabled !== 'false') {
    throw refuse(
      'HELM_VALUES_BUNDLED_POSTGRES',
      'the saved Helm values use the chart’s bundled PostgreSQL (postgresql.enabled is not false), ' +
        'so they name no database server a restore could point pachd at',
      'restore into an external PostgreSQL server (the one configured for this cluster) and deploy with ' +
        'postgresql.enabled: false, or move the cluster to an external database before backing it up',
    );
  }
  if (!nonEmpty(getPath(values, [...PG, 'postgresqlHost']))) {
    throw refuse(
      'HELM_VALUES_NO_DATABASE_HOST',
      'the saved Helm values set postgresql.enabled: false but name no global.postgresql.postgresqlHost',
      'these values could not have deployed a working cluster; check the backup’s helm-values.yaml',
    );
  }
  if (getPath(values, ['cloudsqlAuthProxy', 'enabled']) === true) {
    throw refuse(
      'HELM_VALUES_CLOUDSQL_PROXY',
      'the saved Helm values reach PostgreSQL through the Cloud SQL Auth Proxy (cloudsqlAuthProxy.enabled), ' +
        'whose instance (cloudsqlAuthProxy.connectionName) pachops cannot check against the restore target',
      'deploy by hand: keep the proxy’s host and port and set postgresqlDatabase and ' +
        'identityDatabaseFullNameOverride to the restored databases',
    );
  }
  change(values, [...PG, 'postgresqlHost'], pg.host, changes);
  const port = getPath(values, [...PG, 'postgresqlPort']);
  if (String(port ?? '5432') !== String(pg.port))
    change(values, [...PG, 'postgresqlPort'], String(pg.port), changes);
  change(values, [...PG, 'postgresqlDatabase'], pg.database, changes);
  const dex = nonEmpty(getPath(values, [...PG, 'identityDatabaseFullNameOverride'])) ?? 'dex';
  if (dex !== pg.dexDatabase)
    change(values, [...PG, 'identityDatabaseFullNameOverride'], pg.dexDatabase, changes);
}

/** Replaces only the bucket of a storage URL, keeping scheme, path and query. */
export function replaceStorageUrlBucket(url: string, bucket: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(.*)$/s.exec(url.trim());
  const scheme = m?.[1].toLowerCase();
  if (m && scheme && HOST_IS_BUCKET.has(scheme) && m[2] !== '') return `${m[1]}://${bucket}${m[3]}`;
  if (m && scheme === 'wasb' && m[2].includes('@'))
    return `${m[1]}://${bucket}${m[2].slice(m[2].indexOf('@'))}${m[3]}`;
  throw refuse(
    'HELM_VALUES_STORAGE_URL',
    `pachd.storage.storageURL "${maskSecrets(url, 'storageURL')}" is not an s3://, gs://, azblob:// or wasb:// ` +
      'URL with a bucket; pachops cannot point it at the restored bucket',
  );
}

/** pachd.storage.storageURL and/or the provider's bucket key, whichever the chart version reads. */
function rewriteBucket(values: Tree, bucket: string, version: string, changes: ValueChange[]): void {
  const [major, minor] = parseChartVersion(version);
  const urlChart = major > 2 || minor >= 11;
  const backend = storageBackend(values);
  if (backend === 'LOCAL' || nonEmpty(values.deployTarget)?.toUpperCase() === 'LOCAL') {
    throw refuse(
      'HELM_VALUES_LOCAL_STORAGE',
      'the saved Helm values use LOCAL storage (a host path), which has no bucket to point at the restored objects',
    );
  }
  const url = nonEmpty(getPath(values, STORAGE_URL));
  if (urlChart && !url) {
    throw refuse(
      'HELM_VALUES_NO_BUCKET',
      `chart ${version} requires pachd.storage.storageURL and the saved Helm values have none`,
      'these values could not have deployed chart 2.11 or later; check the chart version the backup recorded',
    );
  }
  if (url) change(values, STORAGE_URL, replaceStorageUrlBucket(url, bucket), changes);
  const key = backend ? PROVIDER_BUCKET_KEY[backend] : undefined;
  // Up to 2.8 only the provider key names the bucket; 2.9 and 2.10 read it unless storageURL is set.
  // It is kept in step whenever it is set, since the chart still writes it into pachyderm-storage-secret.
  const providerRead = major === 2 && (minor < 9 || (minor < 11 && !url));
  if (key && (providerRead || nonEmpty(getPath(values, key)))) change(values, key, bucket, changes);
  if (!url && !key) {
    throw refuse(
      'HELM_VALUES_NO_BUCKET',
      'the saved Helm values name no bucket: neither pachd.storage.storageURL nor a storage backend ' +
        '(pachd.storage.backend or deployTarget AMAZON, GOOGLE or MICROSOFT) is set',
    );
  }
}

/**
 * A deep copy of `values` pointing at the restore targets: `global.postgresql.postgresqlHost`,
 * `postgresqlPort` (a string, as in the chart), `postgresqlDatabase`, `identityDatabaseFullNameOverride`
 * (dex; empty means `dex`), and the bucket (see rewriteBucket). Every other key is left as it was.
 * `changes` lists what differs, in that order; a value already equal to its target is not a change.
 */
export function rewriteHelmValues(
  values: Record<string, unknown>,
  targets: RestoreTargets,
  chart: { version: string },
): { values: Record<string, unknown>; changes: ValueChange[] } {
  const parsed = TargetsSchema.safeParse(targets);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw refuse('HELM_VALUES_BAD_TARGET', `restore target ${issue.path.join('.')}: ${issue.message}`);
  }
  const copy = structuredClone(values);
  const changes: ValueChange[] = [];
  rewritePostgres(copy, parsed.data.postgres, changes);
  rewriteBucket(copy, parsed.data.bucket.name, chart.version, changes);
  return { values: copy, changes };
}

function formatValue(value: unknown, secrets: readonly string[]): string {
  let text: string;
  if (value === undefined) text = '(unset)';
  else if (value === '') text = '""';
  else if (typeof value === 'string') text = value;
  else text = JSON.stringify(value);
  for (const secret of secrets) text = text.split(secret).join(MASK);
  return text;
}

/**
 * One line per change, `path: before → after`, secrets masked: by the change's own path, inside
 * object values, and (given the values tree) any secret of the tree that turns up in a value.
 */
export function formatValuesDiff(
  changes: readonly ValueChange[],
  values?: Record<string, unknown>,
): string[] {
  const secrets = values ? collectSecrets(values) : [];
  return changes.map((c) => {
    const path = splitPath(c.path);
    const before = formatValue(maskSecrets(c.before, path), secrets);
    const after = formatValue(maskSecrets(c.after, path), secrets);
    return `${c.path}: ${before} → ${after}`;
  });
}
