import { PachopsError } from '../errors.ts';
import { buildRestoreOptions } from '../operations/restore-request.ts';
import { startOperation } from '../operations/start.ts';
import { clusterOfBackup, isBackupId } from '../storage/layout.ts';
import { readManifest } from '../storage/manifest.ts';
import { openBucket } from '../storage/s3.ts';
import { withRunner } from './backup.ts';
import type { CliContext } from './context.ts';

export interface RestoreFlags {
  toCluster?: string;
  dbSuffix?: string;
  /** `source=target` pairs. */
  db: string[];
  overwrite: string[];
  bucket?: string;
  reuseBackupBucket: boolean;
  deploy: boolean;
  safetyBackup?: boolean;
  yes: boolean;
}

/** `pachops restore <backup-id>`: the same phases as the Slack restore, every approval given by `--yes`. */
export async function runRestoreCommand(
  ctx: CliContext,
  backupId: string,
  flags: RestoreFlags,
): Promise<number> {
  if (!flags.yes) {
    throw new PachopsError(
      'APPROVAL_REQUIRED',
      'a restore creates databases and a bucket and may redeploy the cluster: pass --yes',
      {
        permanent: true,
      },
    );
  }
  if (!isBackupId(backupId))
    throw new PachopsError('BAD_REQUEST', `${backupId} is not a backup id`, { permanent: true });
  const from = clusterOfBackup(ctx.config.clusters, backupId);
  const manifest = from && (await readManifest(openBucket(from.backup), backupId));
  if (!manifest)
    throw new PachopsError('BAD_REQUEST', `${backupId} is not a complete backup of a configured cluster`, {
      permanent: true,
    });
  const targets = Object.fromEntries(
    flags.db.map((pair) => {
      const match = /^([A-Za-z0-9_]+)=([A-Za-z0-9_]+)$/.exec(pair);
      if (!match)
        throw new PachopsError('BAD_REQUEST', `--db ${pair}: expected source=target`, { permanent: true });
      return [match[1], match[2]];
    }),
  );
  const built = buildRestoreOptions(ctx.config, manifest, { ...flags, backupId, targets });
  return withRunner(ctx, ['succeeded'], async (_store, runner, track) => {
    await startOperation(runner, {
      kind: 'restore',
      cluster: built.cluster.name,
      requestedBy: ctx.actor,
      via: 'cli',
      backupId,
      options: { skipDatabases: [], dryRun: false, restore: built.options },
      onCreated: (operation) => track(operation.id),
    });
  });
}
