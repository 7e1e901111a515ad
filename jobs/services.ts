import { createHelm } from '../src/cluster/helm.ts';
import { createKubeApi } from '../src/cluster/kube.ts';
import { createPachctl } from '../src/cluster/pachctl.ts';
import type { ClusterConfig, Config } from '../src/config/load.ts';
import { openBucket } from '../src/storage/s3.ts';
import type { ClusterServices } from './phases/types.ts';

/** Opens (once per process and cluster) the clients a phase uses. */
export function createServiceCache(config: Config): (cluster: ClusterConfig) => ClusterServices {
  const cache = new Map<string, ClusterServices>();
  return (cluster) => {
    let services = cache.get(cluster.name);
    if (!services) {
      const target = { kubeconfig: config.runtime.kubeconfig, context: cluster.kubernetes.context };
      const kube = createKubeApi({ ...target, namespace: cluster.kubernetes.namespace });
      services = {
        kube,
        helmKube:
          cluster.helm.namespace === kube.namespace
            ? kube
            : createKubeApi({ ...target, namespace: cluster.helm.namespace }),
        pachctl: createPachctl({ binary: config.tools.pachctl }),
        helm: createHelm({ binary: config.tools.helm, ...target }),
        source: openBucket(cluster.objectStore, { maxSockets: cluster.mirror.concurrency * 2 }),
        backup: openBucket(cluster.backup, { maxSockets: cluster.mirror.concurrency * 2 }),
      };
      cache.set(cluster.name, services);
    }
    return services;
  };
}
