import { randomBytes } from 'node:crypto';
import type { ClusterConfig } from '../../../src/config/load.ts';
import { keyForDump } from '../../../src/crypto/dump-cipher.ts';
import { PachopsError } from '../../../src/errors.ts';
import { formatCount, formatDuration } from '../../../src/format.ts';
import { chunkObjectKeys } from '../../../src/postgres/inspect.ts';
import { countRows, createDatabase, dropDatabase, restoreDatabase } from '../../../src/postgres/restore.ts';
import { type ConsistencyResult, findMissingKeys } from '../../../src/storage/consistency.ts';
import { RESERVED_PREFIX } from '../../../src/storage/layout.ts';
import { listObjects } from '../../../src/storage/listing.ts';
import type { Manifest } from '../../../src/storage/manifest.ts';
import { backupEntry, readManifest } from '../../../src/storage/manifest.ts';
import type { Bucket } from '../../../src/storage/s3.ts';
import type { Phase } from '../types.ts';

/** Scratch databases are named with this prefix, and only such databases are ever dropped by a drill. */
export const DRILL_PREFIX = 'pachops_drill_';

export interface DrillResult {
  databases: { name: string; scratch: string; rows: number; durationMs: number }[];
  consistency: ConsistencyResult;
}

/**
 * A restore rehearsal that changes nothing that matters: each dump restored into a scratch database on the
 * cluster's PostgreSQL, the restored metadata's chunk keys checked against the backup bucket, the scratch
 * databases dropped (also when something fails).
 */
export async function drillBackup(input: {
  cluster: ClusterConfig;
  bucket: Bucket;
  manifest: Manifest;
  pgBin: string;
  signal?: AbortSignal;
  progress: (text: string) => void;
}): Promise<DrillResult> {
  const { cluster, manifest } = input;
  const run = randomBytes(3).toString('hex');
  const scratchOf = (name: string) => `${DRILL_PREFIX}${run}_${name}`.slice(0, 63);
  const metadataSource = cluster.postgres.metadataDatabase ?? cluster.postgres.databases[0];
  const result: DrillResult = { databases: [], consistency: { referenced: 0, missing: 0, sample: [] } };
  const created: string[] = [];
  try {
    for (const dump of manifest.databases) {
      const scratch = scratchOf(dump.name);
      input.progress(`restoring ${dump.name} into scratch database ${scratch}`);
      await createDatabase(cluster.postgres, scratch);
      created.push(scratch);
      const restored = await restoreDatabase({
        target: cluster.postgres,
        database: scratch,
        bucket: input.bucket,
        key: dump.key,
        pgBin: input.pgBin,
        expected: { sha256: dump.sha256, bytes: dump.bytes },
        decryptWith: keyForDump(dump, cluster.backup.dumpKey, backupEntry(manifest)),
        signal: input.signal,
      });
      const rows = (await countRows(cluster.postgres, scratch)).reduce((sum, t) => sum + t.rows, 0);
      result.databases.push({ name: dump.name, scratch, rows, durationMs: restored.durationMs });
    }
    const metadata = result.databases.find((d) => d.name === metadataSource) ?? result.databases[0];
    input.progress('checking every chunk key of the restored metadata against the backup bucket');
    result.consistency = await findMissingKeys(
      chunkObjectKeys(cluster.postgres, metadata.scratch),
      listObjects(input.bucket, { skipPrefix: RESERVED_PREFIX }),
    );
    return result;
  } finally {
    for (const scratch of created)
      await dropDatabase(cluster.postgres, scratch, { prefix: DRILL_PREFIX }).catch(() => undefined);
  }
}

export function describeDrill(result: DrillResult): string[] {
  const lines = result.databases.map(
    (d) =>
      `${d.name}: restored into a scratch database in ${formatDuration(d.durationMs)}, ${formatCount(d.rows)} rows; dropped`,
  );
  const c = result.consistency;
  lines.push(
    c.missing === 0
      ? `consistency: all ${formatCount(c.referenced)} chunk objects the restored metadata references are in the backup bucket`
      : `consistency: ${formatCount(c.missing)} of ${formatCount(c.referenced)} referenced chunk objects are MISSING from the backup bucket: ${c.sample.join(', ')}`,
  );
  return lines;
}

/** The drill as the last phase of a backup (`drill.afterBackup`). */
export const drillPhase: Phase = {
  name: 'drill',
  async run(ctx) {
    const bucket = ctx.services.backup;
    const manifest = await readManifest(bucket, ctx.operation.backupId);
    if (!manifest)
      throw new PachopsError('BACKUP_INCOMPLETE', `no manifest for ${ctx.operation.backupId}`, {
        permanent: true,
      });
    const result = await drillBackup({
      cluster: ctx.cluster,
      bucket,
      manifest,
      pgBin: ctx.config.tools.pgBin,
      signal: ctx.signal,
      progress: ctx.progress,
    });
    const details = describeDrill(result);
    if (result.consistency.missing > 0) {
      throw new PachopsError('DRILL_FAILED', `restore drill of ${manifest.backupId}: ${details.at(-1)}`, {
        permanent: true,
      });
    }
    return {
      summary: `restore drill passed: ${result.databases.length} dump(s) restored and dropped, ${formatCount(result.consistency.referenced)} chunk objects present`,
      details,
    };
  },
};
