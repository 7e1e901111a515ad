/**
 * The backup bucket (DESIGN.md, "Backup layout"): its root mirrors the source bucket's keys; everything
 * pachops writes lives under `.pachops/`.
 */
export const RESERVED_PREFIX = '.pachops/';
export const BACKUPS_PREFIX = `${RESERVED_PREFIX}backups/`;
export const VERSIONS_PREFIX = `${RESERVED_PREFIX}versions/`;

export const backupPrefix = (backupId: string) => `${BACKUPS_PREFIX}${backupId}/`;
export const manifestKey = (backupId: string) => `${backupPrefix(backupId)}manifest.json`;
export const dumpKey = (backupId: string, database: string) => `${backupPrefix(backupId)}db/${database}.dump`;
export const helmValuesKey = (backupId: string) => `${backupPrefix(backupId)}helm-values.yaml`;
export const objectListKey = (backupId: string) => `${backupPrefix(backupId)}objects.jsonl.gz`;
/**
 * Where the new content of a key that changed since an older backup is kept, so the older backup stays
 * whole; named by the content's ETag, so that one content is stored once however many backups list it.
 */
export const changedObjectKey = (key: string, etag: string) =>
  `${VERSIONS_PREFIX}${etag.replace(/[^A-Za-z0-9-]/g, '') || 'unknown'}/${key}`;

const BACKUP_ID = /^([a-z0-9][a-z0-9-]*)-\d{8}t\d{6}z(?:-[a-z0-9]{4})?$/;

/** `prod-20261124t120000z-ab12`: the cluster, the UTC start time and a short random suffix. */
export function makeBackupId(cluster: string, at: Date, suffix: string): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'z')
    .toLowerCase();
  return `${cluster}-${stamp}-${suffix}`;
}

export function isBackupId(value: string): boolean {
  return BACKUP_ID.test(value);
}

/**
 * The configured cluster a backup id belongs to: its name is everything before the timestamp, so that
 * `prod-eu-20261124t120000z-ab12` is prod-eu's even where a cluster `prod` is configured too.
 */
export function clusterOfBackup<C>(clusters: Record<string, C>, backupId: string): C | undefined {
  const name = BACKUP_ID.exec(backupId)?.[1];
  return name !== undefined && Object.hasOwn(clusters, name) ? clusters[name] : undefined;
}
