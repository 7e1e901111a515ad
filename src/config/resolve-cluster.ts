import { PachopsError } from '../errors.ts';
import type { ClusterConfig, Config } from './load.ts';

/** The named cluster, or the only one configured; a clear refusal otherwise. */
export function resolveCluster(config: Config, name: string | undefined): ClusterConfig {
  const names = Object.keys(config.clusters);
  if (!name) {
    if (names.length === 1) return config.clusters[names[0]];
    throw new PachopsError('BAD_REQUEST', `name a cluster: ${names.join(', ')}`, { permanent: true });
  }
  const cluster = Object.hasOwn(config.clusters, name) ? config.clusters[name] : undefined;
  if (!cluster)
    throw new PachopsError('BAD_REQUEST', `unknown cluster \`${name}\`; configured: ${names.join(', ')}`, {
      permanent: true,
    });
  return cluster;
}
