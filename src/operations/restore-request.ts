import type { ClusterConfig, Config } from '../config/load.ts';
import { resolveCluster } from '../config/resolve-cluster.ts';
import { PachopsError } from '../errors.ts';
import type { Manifest } from '../storage/manifest.ts';
import type { RestoreOptions } from './model.ts';

/** A restore as asked for, from the Slack modal or the CLI, before its defaults are filled in. */
export interface RestoreRequest {
  backupId: string;
  /** Where to deploy; default: the cluster the backup was taken of. */
  toCluster?: string;
  /** Target database per dumped database; default `<name><dbSuffix>`. */
  targets?: Record<string, string>;
  /** Default `_restored_<yyyymmdd>`. */
  dbSuffix?: string;
  /** Target databases the requester confirmed may be overwritten (by naming them again). */
  overwrite: string[];
  /** Default `<the cluster's bucket>-restored-<yyyymmdd>`. */
  bucket?: string;
  reuseBackupBucket: boolean;
  deploy: boolean;
  /** Default: on when a target is one of the cluster's live databases. */
  safetyBackup?: boolean;
}

const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** A refusal that names the field of the request (and of the Slack form) it is about. */
export class RestoreRequestError extends PachopsError {
  readonly field: 'backup' | 'cluster' | 'databases' | 'suffix' | 'overwrite' | 'bucket' | 'deploy';

  constructor(field: RestoreRequestError['field'], message: string) {
    super('BAD_REQUEST', message, { permanent: true });
    this.field = field;
  }
}

function refuse(field: RestoreRequestError['field'], message: string): never {
  throw new RestoreRequestError(field, message);
}

/** `20261124` */
export function restoreDate(now: Date): string {
  return now.toISOString().slice(0, 10).replace(/-/g, '');
}

/**
 * Fills in a restore's defaults and refuses what cannot be right, before anything is recorded: names that
 * are not database or bucket names, two databases onto one, an overwrite nobody confirmed, reusing a
 * backup bucket the cluster cannot reach. Whether targets are empty is checked by the plan phase.
 */
export function buildRestoreOptions(
  config: Config,
  manifest: Manifest,
  request: RestoreRequest,
  now = new Date(),
): { cluster: ClusterConfig; options: RestoreOptions } {
  let cluster: ClusterConfig;
  try {
    cluster = resolveCluster(config, request.toCluster ?? manifest.cluster);
  } catch (error) {
    refuse('cluster', (error as Error).message);
  }
  const from = config.clusters[manifest.cluster];
  if (!from)
    refuse(
      'backup',
      `backup ${manifest.backupId} belongs to cluster ${manifest.cluster}, which is not configured`,
    );
  const suffix = request.dbSuffix ?? `_restored_${restoreDate(now)}`;
  const databases = manifest.databases.map(({ name }) => {
    const target = request.targets?.[name] ?? `${name}${suffix}`;
    if (!DATABASE_NAME.test(target))
      refuse(
        request.targets?.[name] ? 'databases' : 'suffix',
        `\`${target}\` is not a database name pachops will create (a-z, 0-9, _; at most 63)`,
      );
    return { source: name, target, overwrite: request.overwrite.includes(target) };
  });
  const unknownOverwrite = request.overwrite.filter((name) => !databases.some((d) => d.target === name));
  if (unknownOverwrite.length)
    refuse('overwrite', `overwrite names ${unknownOverwrite.join(', ')}, which this restore does not write`);
  const targets = databases.map((d) => d.target);
  if (new Set(targets).size !== targets.length)
    refuse('databases', `two databases would be restored into one: ${targets.join(', ')}`);
  const bucket = restoreBucket(cluster, from, manifest, request, now);
  if (request.deploy && !manifest.helm) {
    refuse(
      'deploy',
      `backup ${manifest.backupId} holds no Helm values, so it cannot be deployed; restore without deploying`,
    );
  }
  const live = databases.some((d) => d.overwrite && cluster.postgres.databases.includes(d.target));
  return {
    cluster,
    options: {
      backupId: manifest.backupId,
      fromCluster: manifest.cluster,
      databases,
      bucket,
      deploy: request.deploy,
      // Replacing a database pachd is using must not happen under its feet.
      pauseCluster: request.deploy || live,
      safetyBackup: request.safetyBackup ?? live,
    },
  };
}

function restoreBucket(
  cluster: ClusterConfig,
  from: ClusterConfig,
  manifest: Manifest,
  request: RestoreRequest,
  now: Date,
): RestoreOptions['bucket'] {
  if (request.reuseBackupBucket) {
    if (request.bucket && request.bucket !== from.backup.bucket)
      refuse('bucket', 'name a target bucket or reuse the backup bucket, not both');
    if (manifest.objects.changed > 0) {
      refuse(
        'bucket',
        `backup ${manifest.backupId} has ${manifest.objects.changed} object(s) kept under .pachops/versions/: its bucket root is not this backup; restore into a new bucket`,
      );
    }
    if ((from.backup.endpoint ?? '') !== (cluster.objectStore.endpoint ?? '')) {
      refuse(
        'bucket',
        `the backup bucket is on ${from.backup.endpoint ?? 'AWS'}, not on the object store ${cluster.name} uses; restore into a new bucket`,
      );
    }
    return { name: from.backup.bucket, reuseBackupBucket: true };
  }
  const name = request.bucket ?? `${cluster.objectStore.bucket.slice(0, 45)}-restored-${restoreDate(now)}`;
  if (!BUCKET_NAME.test(name))
    refuse('bucket', `\`${name}\` is not a bucket name (3–63 of a-z, 0-9, . and -)`);
  if (name === from.backup.bucket)
    refuse('bucket', 'that is the backup bucket: choose "reuse the backup bucket" to use it');
  return { name, reuseBackupBucket: false };
}
