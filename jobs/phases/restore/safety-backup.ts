import { randomBytes } from 'node:crypto';
import { PachopsError } from '../../../src/errors.ts';
import { formatBytes, formatCount } from '../../../src/format.ts';
import { makeBackupId } from '../../../src/storage/layout.ts';
import { writeManifest } from '../../../src/storage/manifest.ts';
import { dumpDatabases, saveHelmValues } from '../backup/dump.ts';
import { buildManifest } from '../backup/manifest.ts';
import { mirrorInto } from '../backup/mirror.ts';
import type { Phase } from '../types.ts';

/**
 * A complete backup of the target cluster as it is now (its configured databases, its bucket, its Helm
 * values), taken while it is paused, so that a wrong restore can itself be restored away. Listed and
 * restorable like any other backup.
 */
export const safetyBackupPhase: Phase = {
  name: 'safety-backup',
  async run(ctx) {
    const { operation, cluster } = ctx;
    if (!operation.state.pause) {
      throw new PachopsError(
        'NOT_PAUSED',
        'a safety backup is taken while the cluster is paused; pause first',
        { permanent: true },
      );
    }
    const backupId =
      operation.state.restore?.safetyBackupId ??
      makeBackupId(cluster.name, new Date(), randomBytes(2).toString('hex'));
    const remember = (patch: object) =>
      ctx.saveState({ restore: { ...ctx.operation.state.restore, safetyBackupId: backupId, ...patch } });
    await remember({});
    const { dumps } = await dumpDatabases(ctx, {
      backupId,
      databases: cluster.postgres.databases,
      done: ctx.operation.state.restore?.safetyDumps ?? {},
      save: (safetyDumps) => remember({ safetyDumps }),
    });
    const saved = await saveHelmValues(ctx, backupId);
    const { mirror } = await mirrorInto(ctx, backupId);
    const safety = {
      ...operation,
      backupId,
      options: { ...operation.options, note: `safety backup before restoring ${operation.backupId}` },
      state: { pause: operation.state.pause, dumps, mirror, helm: saved.helm, pachd: saved.pachd },
    };
    // Asked to stop after the last copy: no manifest, so no half-made safety backup is ever listed.
    ctx.signal.throwIfAborted();
    await writeManifest(ctx.services.backup, buildManifest(safety, cluster));
    const bytes = Object.values(dumps).reduce((sum, d) => sum + d.bytes, 0);
    return {
      summary: `safety backup ${backupId}: ${Object.keys(dumps).length} database(s) (${formatBytes(bytes)}), ${formatCount(mirror.objects)} objects`,
      details: [`restore it with \`/pach restore ${backupId}\` if this restore turns out wrong`],
    };
  },
};
