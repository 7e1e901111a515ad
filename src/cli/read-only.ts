import { describeDrill, drillBackup } from '../../jobs/phases/backup/drill.ts';
import { verifyBackup } from '../../jobs/phases/backup/verify.ts';
import type { ClusterConfig } from '../config/load.ts';
import { resolveCluster } from '../config/resolve-cluster.ts';
import { PachopsError } from '../errors.ts';
import { formatBackupDetail, formatBackupTable } from '../storage/backup-summary.ts';
import { clusterOfBackup, isBackupId } from '../storage/layout.ts';
import { listBackups, readManifest } from '../storage/manifest.ts';
import { openBucket } from '../storage/s3.ts';
import { type CliContext, EXIT } from './context.ts';

function ownerOfBackup(ctx: CliContext, backupId: string) {
  if (!isBackupId(backupId))
    throw new PachopsError(
      'BAD_REQUEST',
      `${backupId} is not a backup id (they look like prod-20261124t120000z-ab12)`,
      { permanent: true },
    );
  const cluster = clusterOfBackup(ctx.config.clusters, backupId);
  if (!cluster)
    throw new PachopsError('BAD_REQUEST', `no configured cluster owns backup ${backupId}`, {
      permanent: true,
    });
  return cluster;
}

export async function runListCommand(ctx: CliContext, clusterName?: string): Promise<number> {
  const clusters = clusterName
    ? [resolveCluster(ctx.config, clusterName)]
    : Object.values(ctx.config.clusters);
  for (const cluster of clusters) {
    const manifests = await listBackups(openBucket(cluster.backup), { cluster: cluster.name });
    ctx.out.write(`${cluster.name} (s3://${cluster.backup.bucket})\n${formatBackupTable(manifests)}\n`);
  }
  return EXIT.ok;
}

export async function runShowCommand(ctx: CliContext, backupId: string): Promise<number> {
  const cluster = ownerOfBackup(ctx, backupId);
  const manifest = await readManifest(openBucket(cluster.backup), backupId);
  if (!manifest)
    throw new PachopsError('BAD_REQUEST', `no complete backup ${backupId} in ${cluster.backup.bucket}`, {
      permanent: true,
    });
  ctx.out.write(`${formatBackupDetail(manifest, cluster.backup.bucket)}\n`);
  return EXIT.ok;
}

export async function runVerifyCommand(
  ctx: CliContext,
  backupId: string,
  options: { drill?: boolean } = {},
): Promise<number> {
  const cluster = ownerOfBackup(ctx, backupId);
  if (options.drill) return runDrill(ctx, cluster, backupId);
  const result = await verifyBackup({
    bucket: openBucket(cluster.backup),
    backupId,
    pgBin: ctx.config.tools.pgBin,
    dumpKey: cluster.backup.dumpKey,
    progress: (text) => ctx.out.write(`… ${text}\n`),
  });
  for (const line of result.lines) ctx.out.write(`${line}\n`);
  for (const problem of result.problems) ctx.out.write(`PROBLEM ${problem}\n`);
  ctx.out.write(
    result.problems.length ? `backup ${backupId} FAILED verification\n` : `backup ${backupId} verified\n`,
  );
  return result.problems.length ? EXIT.failed : EXIT.ok;
}

export async function runStatusCommand(ctx: CliContext): Promise<number> {
  const store = await ctx.openStore();
  try {
    const active = await store.listOperations({ active: true });
    if (!active.length) ctx.out.write('no operation in progress\n');
    for (const operation of active) {
      const phases = await store.getPhases(operation.id);
      const current = phases.find((p) => !['succeeded', 'pending', 'skipped'].includes(p.status));
      ctx.out.write(
        `${operation.cluster}  ${operation.id}  ${operation.kind} ${operation.backupId}  ${operation.status}` +
          `${current ? `  ${current.name}: ${current.status}` : ''}${operation.clusterPaused ? '  CLUSTER PAUSED' : ''}  by ${operation.requestedBy}\n`,
      );
    }
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

/** `pachops verify <id> --drill`: restore the dumps into scratch databases, check, drop, report. */
async function runDrill(ctx: CliContext, cluster: ClusterConfig, backupId: string): Promise<number> {
  const bucket = openBucket(cluster.backup);
  const manifest = await readManifest(bucket, backupId);
  if (!manifest)
    throw new PachopsError('BAD_REQUEST', `no complete backup ${backupId} in ${cluster.backup.bucket}`, {
      permanent: true,
    });
  const result = await drillBackup({
    cluster,
    bucket,
    manifest,
    pgBin: ctx.config.tools.pgBin,
    progress: (text) => ctx.out.write(`… ${text}\n`),
  });
  for (const line of describeDrill(result)) ctx.out.write(`${line}\n`);
  const ok = result.consistency.missing === 0;
  ctx.out.write(ok ? `restore drill of ${backupId} passed\n` : `restore drill of ${backupId} FAILED\n`);
  return ok ? EXIT.ok : EXIT.failed;
}
