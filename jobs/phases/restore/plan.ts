import { versionFromImage } from '../../../src/cluster/helm-release.ts';
import { PACHD } from '../../../src/cluster/scale.ts';
import { PachopsError } from '../../../src/errors.ts';
import { formatBytes, formatCount, formatDuration } from '../../../src/format.ts';
import { checkDumpTools } from '../../../src/postgres/dump.ts';
import { inspectDatabase, mayCreateDatabases, verifyDumpChecksum } from '../../../src/postgres/restore.ts';
import { pgToolMajor } from '../../../src/postgres/tools.ts';
import { inspectBucket } from '../../../src/storage/restore-objects.ts';
import type { Phase, PhaseContext } from '../types.ts';
import { openRestore, type RestoreContext } from './context.ts';

function refuse(message: string): never {
  throw new PachopsError('RESTORE_REFUSED', message, { permanent: true });
}

/**
 * Checks the backup and the targets before anything changes, and says what the restore will do: the
 * backup's age and versions, what is created, overwritten or redeployed, and whether a live cluster is
 * paused. A refusal here ends the operation with nothing changed.
 */
export const restorePlanPhase: Phase = {
  name: 'plan',
  async run(ctx) {
    const r = await openRestore(ctx);
    await checkTools(ctx, r);
    for (const dump of r.manifest.databases) {
      r.dumpKeyFor(dump); // an encrypted dump without its key is refused before anything changes
      ctx.progress(`checking the sha256 of the ${dump.name} dump`);
      await verifyDumpChecksum({
        bucket: r.backupBucket,
        key: dump.key,
        sha256: dump.sha256,
        bytes: dump.bytes,
        signal: ctx.signal,
      });
    }
    const lines = await checkDatabases(ctx, r);
    lines.push(await checkBucket(r));
    if (r.restore.deploy) lines.push(await describeDeploy(ctx, r));
    const { manifest } = r;
    await ctx.saveState({
      restore: {
        manifest: {
          createdAt: manifest.createdAt,
          pachd: manifest.pachd.version,
          chartVersion: manifest.helm?.chartVersion,
          objects: manifest.objects.count,
          objectBytes: manifest.objects.bytes,
        },
      },
    });
    const age = formatDuration(Date.now() - Date.parse(manifest.completedAt));
    const verified = manifest.verification
      ? manifest.verification.ok
        ? 'verified'
        : 'FAILED verification'
      : 'never verified';
    return {
      summary: `backup taken ${age} ago (pachd ${manifest.pachd.version}, ${verified}); dumps match their sha256`,
      details: lines,
    };
  },
};

async function checkTools(ctx: PhaseContext, r: RestoreContext): Promise<void> {
  const { cluster, config } = ctx;
  // the safety backup dumps the target while it is paused: its pg_dump and settings are checked now
  if (r.restore.safetyBackup)
    await checkDumpTools(cluster.postgres, cluster.postgres.databases[0]!, config.tools.pgBin);
  const tool = await pgToolMajor('pg_restore', config.tools.pgBin);
  for (const dump of r.manifest.databases) {
    const dumped = Number(/^(\d+)/.exec(dump.pgDumpVersion.replace(/^\D+/, ''))?.[1] ?? 0);
    if (tool.major < dumped)
      refuse(
        `pg_restore ${tool.version} cannot read a dump made by pg_dump ${dump.pgDumpVersion}; set tools.pgBin to pg_restore ${dumped} or newer`,
      );
  }
}

async function checkDatabases(ctx: PhaseContext, r: RestoreContext): Promise<string[]> {
  const lines: string[] = [];
  let mayCreate: boolean | undefined;
  for (const { source, target, overwrite } of r.restore.databases) {
    const found = await inspectDatabase(ctx.cluster.postgres, target);
    if (!found.exists) {
      mayCreate ??= await mayCreateDatabases(ctx.cluster.postgres);
      if (!mayCreate) {
        refuse(
          `PostgreSQL user ${ctx.cluster.postgres.user} may not create databases, so ${target} cannot be created; grant it CREATEDB, or create ${target} empty and owned by ${ctx.cluster.postgres.user}`,
        );
      }
    }
    if (found.exists && found.tables > 0 && !overwrite) {
      refuse(
        `database ${target} exists and is not empty (${found.tables} table(s), ${formatCount(found.rows)} rows); name it again under "overwrite" to replace it, or choose another name`,
      );
    }
    const size = r.manifest.databases.find((d) => d.name === source)?.bytes ?? 0;
    const what = !found.exists
      ? 'will be created'
      : found.tables > 0
        ? `will be REPLACED (the current one is kept as ${target}_replaced_…)`
        : 'exists, empty: will be filled';
    lines.push(`${source} (${formatBytes(size)} dump) → ${target}: ${what}`);
  }
  return lines;
}

async function checkBucket(r: RestoreContext): Promise<string> {
  const objects = `${formatCount(r.manifest.objects.count)} objects, ${formatBytes(r.manifest.objects.bytes)}`;
  if (r.restore.bucket.reuseBackupBucket)
    return `bucket: the backup bucket ${r.backupBucket.name} itself (${objects}); it stops being a backup`;
  const found = await inspectBucket(r.targetBucket);
  if (found.exists && !found.empty) {
    refuse(
      `bucket ${r.targetBucket.name} is not empty (e.g. ${found.sample?.slice(0, 3).join(', ')}): restore into a new or empty bucket`,
    );
  }
  return `bucket ${r.targetBucket.name}: ${found.exists ? 'exists, empty' : 'will be created'}; ${objects} to copy`;
}

async function describeDeploy(ctx: PhaseContext, r: RestoreContext): Promise<string> {
  const pachd = await ctx.services.kube.getDeployment(PACHD);
  const running = pachd
    ? `running pachd ${versionFromImage(pachd.image)} (${pachd.replicas} replica(s)) will be paused, then`
    : 'no pachd running; it will be';
  return `deploy: ${running} redeployed with chart ${ctx.cluster.helm.chart} ${r.manifest.helm?.chartVersion} (pachd ${r.manifest.pachd.version}) as release ${ctx.cluster.helm.release}`;
}
