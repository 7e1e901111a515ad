import { PutObjectCommand } from '@aws-sdk/client-s3';
import { stringify as toYaml } from 'yaml';
import { readHelmRelease, versionFromImage } from '../../../src/cluster/helm-release.ts';
import { PACHD } from '../../../src/cluster/scale.ts';
import { formatBytes, formatDuration } from '../../../src/format.ts';
import type { DumpRecord, HelmRecord } from '../../../src/operations/model.ts';
import { backupDatabases } from '../../../src/operations/phase-info.ts';
import { dumpDatabase } from '../../../src/postgres/dump.ts';
import { dumpKey, helmValuesKey } from '../../../src/storage/layout.ts';
import { s3Error } from '../../../src/storage/s3.ts';
import type { Phase, PhaseContext } from '../types.ts';
import { refreshAnnouncement } from './announce.ts';

/** Dumps each database into the backup bucket, then saves the Helm values and pachd's version beside them. */
export const dumpPhase: Phase = {
  name: 'dump',
  async run(ctx) {
    const { operation } = ctx;
    const { dumps, lines } = await dumpDatabases(ctx, {
      backupId: operation.backupId,
      databases: backupDatabases(ctx.cluster, operation),
      done: operation.state.dumps ?? {},
      save: (dumps) => ctx.saveState({ dumps }),
    });
    const saved = await saveHelmValues(ctx, operation.backupId);
    await ctx.saveState({ helm: saved.helm, pachd: saved.pachd });
    lines.push(saved.line);
    await refreshAnnouncement(ctx, 'dump');
    const total = Object.values(dumps).reduce((sum, d) => sum + d.bytes, 0);
    return {
      summary: `${Object.keys(dumps).length} database dump(s), ${formatBytes(total)}; pachd ${saved.pachd.version}`,
      details: lines,
    };
  },
};

/** `pg_dump` of each database into `<backupId>/db/`; those in `done` are kept (a retry continues). */
export async function dumpDatabases(
  ctx: PhaseContext,
  input: {
    backupId: string;
    databases: string[];
    done: Record<string, DumpRecord>;
    save(dumps: Record<string, DumpRecord>): Promise<void>;
  },
): Promise<{ dumps: Record<string, DumpRecord>; lines: string[] }> {
  const dumps = { ...input.done };
  const lines: string[] = [];
  for (const database of input.databases) {
    if (dumps[database]) {
      lines.push(`${database}: already dumped (${formatBytes(dumps[database].bytes)}), kept`);
      continue;
    }
    const { database: _name, ...record } = await dumpDatabase({
      target: ctx.cluster.postgres,
      database,
      pgBin: ctx.config.tools.pgBin,
      bucket: ctx.services.backup,
      key: dumpKey(input.backupId, database),
      encryptWith: ctx.cluster.backup.dumpKey,
      signal: ctx.signal,
      onBytes: (bytes) => ctx.progress(`${database}: ${formatBytes(bytes)} dumped`),
    });
    dumps[database] = record;
    await input.save(dumps);
    const sealed = record.encryption ? `, encrypted (key ${record.encryption.keyFingerprint})` : '';
    lines.push(
      `${database}: ${formatBytes(record.bytes)} in ${formatDuration(record.durationMs)}, sha256 ${record.sha256.slice(0, 12)}…${sealed}`,
    );
  }
  return { dumps, lines };
}

/** The deployed release's values saved as `<backupId>/helm-values.yaml`, and pachd's version. */
export async function saveHelmValues(
  ctx: PhaseContext,
  backupId: string,
): Promise<{ helm: HelmRecord | null; pachd: { version: string; image: string }; line: string }> {
  const { cluster, services } = ctx;
  const deployment = await services.kube.getDeployment(PACHD);
  const image = deployment?.image ?? 'unknown';
  const pachd = { version: versionFromImage(image), image };
  const release = await readHelmRelease(services.helmKube, cluster.helm.release);
  if (!release) {
    const line = `no deployed Helm release ${cluster.helm.release} found in ${cluster.helm.namespace}: values not saved`;
    return { helm: null, pachd, line };
  }
  const key = helmValuesKey(backupId);
  const put = new PutObjectCommand({
    ...services.backup.writeParams,
    Bucket: services.backup.name,
    Key: key,
    Body: toYaml(release.values),
    ContentType: 'application/yaml',
  });
  await services.backup.client.send(put).catch((error) => {
    throw s3Error(error, `write ${key}`);
  });
  const helm = {
    release: release.name,
    namespace: cluster.helm.namespace,
    revision: release.revision,
    chart: release.chart,
    chartVersion: release.chartVersion,
    appVersion: release.appVersion,
    valuesKey: key,
  };
  const line = `Helm values of release ${helm.release} revision ${helm.revision} (chart ${helm.chart} ${helm.chartVersion}) saved`;
  return { helm, pachd, line };
}
