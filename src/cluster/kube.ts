import type * as k8s from '@kubernetes/client-node';
import { PachopsError } from '../errors.ts';

export type WorkloadKind = 'Deployment' | 'ReplicationController';

export interface Workload {
  kind: WorkloadKind;
  name: string;
  replicas: number;
  readyReplicas: number;
  /** First container's image (Deployments). */
  image?: string;
}

export interface SecretData {
  name: string;
  labels: Record<string, string>;
  data: Record<string, string>;
}

/** The Kubernetes calls pachops makes, bound to one cluster's namespace. Each maps to one RBAC rule. */
export interface KubeApi {
  readonly namespace: string;
  getDeployment(name: string): Promise<Workload | undefined>;
  listReplicationControllers(labelSelector: string): Promise<Workload[]>;
  scale(kind: WorkloadKind, name: string, replicas: number): Promise<void>;
  /** Pods matching the selector, terminating ones included. */
  countPods(labelSelector: string): Promise<number>;
  readConfigMap(name: string): Promise<Record<string, string> | undefined>;
  listSecrets(labelSelector: string): Promise<SecretData[]>;
}

export interface KubeTarget {
  /** Path of a kubeconfig file; absent = in-cluster service account. */
  kubeconfig?: string;
  context?: string;
  namespace: string;
}

interface KubeClients {
  apps: k8s.AppsV1Api;
  core: k8s.CoreV1Api;
  mergePatch: ReturnType<typeof k8s.setHeaderOptions>;
}

/** Loads client-node and the kubeconfig (the file, or the pod's service account). */
async function connect(target: KubeTarget): Promise<KubeClients> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  if (target.kubeconfig) kc.loadFromFile(target.kubeconfig);
  else kc.loadFromCluster();
  if (target.context) kc.setCurrentContext(target.context);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  return { apps, core, mergePatch: k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch) };
}

/**
 * The calls, bound to `target`. client-node takes most of a second to load, so it is loaded at the first
 * call: a CLI command or a bot that never reaches the cluster does not wait for it.
 */
export function createKubeApi(target: KubeTarget): KubeApi {
  const namespace = target.namespace;
  let connecting: Promise<KubeClients> | undefined;
  const clients = () => {
    connecting ??= connect(target).catch((error: unknown) => {
      connecting = undefined;
      throw error;
    });
    return connecting;
  };
  const call = <T>(what: string, fn: (clients: KubeClients) => Promise<T>) =>
    wrapKubeError(what, namespace, async () => fn(await clients()));

  return {
    namespace,
    getDeployment: (name) =>
      call(`get deployments ${name}`, async ({ apps }) =>
        toWorkload('Deployment', await apps.readNamespacedDeployment({ name, namespace })),
      ).catch(notFoundAsUndefined),
    listReplicationControllers: (labelSelector) =>
      call('list replicationcontrollers', async ({ core }) => {
        const list = await core.listNamespacedReplicationController({ namespace, labelSelector });
        return list.items.map((rc) => toWorkload('ReplicationController', rc));
      }),
    scale: (kind, name, replicas) =>
      call(
        `patch ${kind === 'Deployment' ? 'deployments' : 'replicationcontrollers'}/scale ${name}`,
        async ({ apps, core, mergePatch }) => {
          const body = { spec: { replicas } };
          if (kind === 'Deployment')
            await apps.patchNamespacedDeploymentScale({ name, namespace, body }, mergePatch);
          else await core.patchNamespacedReplicationControllerScale({ name, namespace, body }, mergePatch);
        },
      ),
    countPods: (labelSelector) =>
      call(
        'list pods',
        async ({ core }) => (await core.listNamespacedPod({ namespace, labelSelector })).items.length,
      ),
    readConfigMap: (name) =>
      call(
        `get configmaps ${name}`,
        async ({ core }) => (await core.readNamespacedConfigMap({ name, namespace })).data ?? {},
      ).catch(notFoundAsUndefined),
    listSecrets: (labelSelector) =>
      call('list secrets', async ({ core }) =>
        (await core.listNamespacedSecret({ namespace, labelSelector })).items.map((s) => ({
          name: s.metadata?.name ?? '',
          labels: s.metadata?.labels ?? {},
          data: s.data ?? {},
        })),
      ),
  };
}

function toWorkload(kind: WorkloadKind, object: k8s.V1Deployment | k8s.V1ReplicationController): Workload {
  return {
    kind,
    name: object.metadata?.name ?? '',
    replicas: object.spec?.replicas ?? 0,
    readyReplicas: object.status?.readyReplicas ?? 0,
    image: object.spec?.template?.spec?.containers?.[0]?.image,
  };
}

function notFoundAsUndefined(error: unknown): undefined {
  if (error instanceof PachopsError && error.code === 'KUBE_NOT_FOUND') return undefined;
  throw error;
}

async function wrapKubeError<T>(what: string, namespace: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const status = (error as { code?: number }).code;
    if (status === 404) {
      throw new PachopsError('KUBE_NOT_FOUND', `Kubernetes: ${what} in namespace ${namespace}: not found`, {
        permanent: true,
      });
    }
    if (status === 401 || status === 403) {
      throw new PachopsError(
        'KUBE_FORBIDDEN',
        `Kubernetes refused to ${what} in namespace ${namespace} (HTTP ${status})`,
        {
          permanent: true,
          hint: "check the bot's ServiceAccount Role: it needs this verb on this resource",
          cause: error,
        },
      );
    }
    const detail = status
      ? `HTTP ${status}${apiMessage(error) ? `: ${apiMessage(error)}` : ''}`
      : (error as Error).message;
    throw new PachopsError(
      'KUBE_UNAVAILABLE',
      `Kubernetes: could not ${what} in namespace ${namespace}: ${detail}`,
      {
        cause: error,
      },
    );
  }
}

/** The API server's own words (a Status object's message), which on a real cluster name user, verb and resource. */
function apiMessage(error: unknown): string | undefined {
  const body = (error as { body?: unknown }).body;
  try {
    const status = typeof body === 'string' ? JSON.parse(body) : body;
    const message = (status as { message?: unknown } | undefined)?.message;
    return typeof message === 'string' ? message.slice(0, 300) : undefined;
  } catch {
    return undefined;
  }
}
