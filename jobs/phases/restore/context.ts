import type { ClusterConfig } from '../../../src/config/load.ts';
import { keyForDump } from '../../../src/crypto/dump-cipher.ts';
import type { DumpKey } from '../../../src/crypto/dump-key.ts';
import { PachopsError } from '../../../src/errors.ts';
import type { RestoreOptions } from '../../../src/operations/model.ts';
import { type Manifest, readManifest } from '../../../src/storage/manifest.ts';
import { type Bucket, openBucket } from '../../../src/storage/s3.ts';
import type { PhaseContext } from '../types.ts';

/** What every restore phase needs: the request, the backup's manifest and bucket, and the targets. */
export interface RestoreContext {
  restore: RestoreOptions;
  /** The cluster the backup was taken of (whose backup bucket holds it). */
  from: ClusterConfig;
  backupBucket: Bucket;
  manifest: Manifest;
  /** The bucket Pachyderm will use after the restore. */
  targetBucket: Bucket;
  /** The restore target of the database holding `storage.chunk_objects`. */
  metadataTarget: string;
  /**
   * The key of an encrypted dump: the one configured for the backup's own cluster (`from`, whose backup
   * bucket holds it), also when restoring into another cluster. Throws when it is missing or another.
   */
  dumpKeyFor(dump: Manifest['databases'][number]): DumpKey | undefined;
}

export async function openRestore(ctx: PhaseContext): Promise<RestoreContext> {
  const restore = ctx.operation.options.restore;
  if (!restore) throw new PachopsError('BAD_REQUEST', 'this operation is not a restore', { permanent: true });
  const from = ctx.config.clusters[restore.fromCluster];
  if (!from)
    throw new PachopsError('CLUSTER_UNKNOWN', `cluster ${restore.fromCluster} is no longer configured`, {
      permanent: true,
    });
  const backupBucket = ctx.servicesOf(from).backup;
  const manifest = await readManifest(backupBucket, restore.backupId);
  if (!manifest) {
    throw new PachopsError(
      'BACKUP_INCOMPLETE',
      `${restore.backupId} is not a complete backup in ${backupBucket.name} (no manifest)`,
      {
        permanent: true,
      },
    );
  }
  const targetBucket = restore.bucket.reuseBackupBucket
    ? backupBucket
    : openBucket(
        { ...ctx.cluster.objectStore, bucket: restore.bucket.name },
        { maxSockets: ctx.cluster.mirror.concurrency * 2 }, // as jobs/services.ts opens the cluster's own
      );
  const metadataSource = from.postgres.metadataDatabase ?? from.postgres.databases[0];
  const metadata = restore.databases.find((d) => d.source === metadataSource) ?? restore.databases[0];
  const dumpKeyFor = (dump: Manifest['databases'][number]) =>
    keyForDump(dump, from.backup.dumpKey, `clusters.${from.name}.backup`);
  return { restore, from, backupBucket, manifest, targetBucket, metadataTarget: metadata.target, dumpKeyFor };
}
