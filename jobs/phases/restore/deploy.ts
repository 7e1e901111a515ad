import { GetObjectCommand } from '@aws-sdk/client-s3';
import { parse as parseYaml } from 'yaml';
import { formatValuesDiff, rewriteHelmValues } from '../../../src/cluster/helm-values.ts';
import { PachopsError } from '../../../src/errors.ts';
import { s3Error } from '../../../src/storage/s3.ts';
import type { Phase, PhaseContext } from '../types.ts';
import { openRestore, type RestoreContext } from './context.ts';

/**
 * The saved Helm values, pointed at the restored databases and bucket (everything else kept), deployed
 * with `helm upgrade --install` at the chart version the backup recorded. The thread gets the diff, with
 * secrets masked.
 */
export const deployPhase: Phase = {
  name: 'deploy',
  async run(ctx) {
    const r = await openRestore(ctx);
    const helm = r.manifest.helm;
    if (!helm)
      throw new PachopsError('BACKUP_NO_VALUES', `backup ${r.manifest.backupId} holds no Helm values`, {
        permanent: true,
      });
    const saved = await readValues(r, helm.valuesKey);
    const { values, changes } = rewriteHelmValues(saved, targetsOf(ctx, r, saved), {
      version: helm.chartVersion,
    });
    const diff = formatValuesDiff(changes, saved);
    ctx.progress(
      `helm upgrade --install ${ctx.cluster.helm.release} ${ctx.cluster.helm.chart} --version ${helm.chartVersion}`,
    );
    await ctx.services.helm.upgradeInstall({
      release: ctx.cluster.helm.release,
      namespace: ctx.cluster.helm.namespace,
      chart: ctx.cluster.helm.chart,
      version: helm.chartVersion,
      values,
      timeoutSeconds: ctx.cluster.pause.timeoutSeconds,
      signal: ctx.signal,
    });
    await ctx.saveState({
      restore: { ...ctx.operation.state.restore, deploy: { chartVersion: helm.chartVersion, changes: diff } },
    });
    return {
      summary: `release ${ctx.cluster.helm.release} upgraded with chart ${ctx.cluster.helm.chart} ${helm.chartVersion}; ${changes.length} value(s) changed, every other key kept`,
      details: diff.length ? diff : ['the saved values already pointed at these targets'],
    };
  },
};

async function readValues(r: RestoreContext, key: string): Promise<Record<string, unknown>> {
  try {
    const response = await r.backupBucket.client.send(
      new GetObjectCommand({ Bucket: r.backupBucket.name, Key: key }),
    );
    const parsed = parseYaml(await response.Body!.transformToString());
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch (error) {
    throw s3Error(error, `read ${key} from ${r.backupBucket.name}`);
  }
}

/** The metadata and dex databases as the saved values name them, mapped to their restore targets. */
function targetsOf(ctx: PhaseContext, r: RestoreContext, saved: Record<string, unknown>) {
  const pg = ((saved.global as Record<string, unknown> | undefined)?.postgresql ?? {}) as Record<
    string,
    unknown
  >;
  const targetOf = (source: string) => r.restore.databases.find((d) => d.source === source)?.target;
  const dexSource =
    typeof pg.identityDatabaseFullNameOverride === 'string' && pg.identityDatabaseFullNameOverride
      ? pg.identityDatabaseFullNameOverride
      : 'dex';
  const { postgres } = ctx.cluster;
  return {
    postgres: {
      host: postgres.deployHost ?? postgres.host,
      port: postgres.deployPort ?? postgres.port,
      database: r.metadataTarget,
      // A dex database left out of the backup keeps the name the values gave it.
      dexDatabase: targetOf(dexSource) ?? dexSource,
    },
    bucket: { name: r.targetBucket.name },
  };
}
