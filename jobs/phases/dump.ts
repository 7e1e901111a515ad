import { PutObjectCommand } from '@aws-sdk/client-s3';
import { stringify as toYaml } from 'yaml';
import { readHelmRelease, versionFromImage } from '../../src/cluster/helm-release.ts';
import { PACHD } from '../../src/cluster/scale.ts';
import { formatBytes, formatDuration } from '../../src/format.ts';
import type { DumpRecord, HelmRecord } from '../../src/operations/model.ts';
import { backupDatabases } from '../../src/operations/phase-info.ts';
import { dumpDatabase } from '../../src/postgres/dump.ts';
import { dumpKey, helmValuesKey } from '../../src/storage/layout.ts';
import { s3Error } from '../../src/storage/s3.ts';
import type { Phase, PhaseContext } from './types.ts';

/** Dumps each database into the backup bucket, then saves the Helm values and pachd's version beside them. */
export const dumpPhase: Phase = {
  name: 'dump',
  async run(ctx) {
    const { operation, cluster } = ctx;
    const dumps: Record<string, DumpRecord> = { ...(operation.state.dumps ?? {}) };
    const lines: string[] = [];
    for (const database of backupDatabases(cluster, operation)) {
      if (dumps[database]) {
        lines.push(`${database}: already dumped (${formatBytes(dumps[database].bytes)}), kept`);
        continue;
      }
      const result = await dumpDatabase({
        target: cluster.postgres,
        database,
        pgBin: ctx.config.tools.pgBin,
        bucket: ctx.services.backup,
        key: dumpKey(operation.backupId, database),
        signal: ctx.signal,
        onBytes: (bytes) => ctx.progress(`${database}: ${formatBytes(bytes)} dumped`),
      });
      const { database: _name, ...record } = result;
      dumps[database] = record;
      await ctx.saveState({ dumps });
      lines.push(
        `${database}: ${formatBytes(record.bytes)} in ${formatDuration(record.durationMs)}, sha256 ${record.sha256.slice(0, 12)}…`,
      );
    }
    const helm = await saveHelmValues(ctx);
    const pachd = await ctx.services.kube.getDeployment(PACHD);
    const image = pachd?.image ?? 'unknown';
    await ctx.saveState({ helm, pachd: { version: versionFromImage(image), image } });
    lines.push(
      helm
        ? `Helm values of release ${helm.release} revision ${helm.revision} (chart ${helm.chart} ${helm.chartVersion}) saved`
        : `no deployed Helm release ${cluster.helm.release} found in ${cluster.helm.namespace}: values not saved`,
    );
    const total = Object.values(dumps).reduce((sum, d) => sum + d.bytes, 0);
    return {
      summary: `${Object.keys(dumps).length} database dump(s), ${formatBytes(total)}; pachd ${versionFromImage(image)}`,
      details: lines,
    };
  },
};

async function saveHelmValues(ctx: PhaseContext): Promise<HelmRecord | null> {
  const { cluster, operation, services } = ctx;
  const release = await readHelmRelease(services.helmKube, cluster.helm.release);
  if (!release) return null;
  const key = helmValuesKey(operation.backupId);
  try {
    await services.backup.client.send(
      new PutObjectCommand({
        Bucket: services.backup.name,
        Key: key,
        Body: toYaml(release.values),
        ContentType: 'application/yaml',
      }),
    );
  } catch (error) {
    throw s3Error(error, `write ${key}`);
  }
  return {
    release: release.name,
    namespace: cluster.helm.namespace,
    revision: release.revision,
    chart: release.chart,
    chartVersion: release.chartVersion,
    appVersion: release.appVersion,
    valuesKey: key,
  };
}
