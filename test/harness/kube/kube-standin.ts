/**
 * A Kubernetes API stand-in: a node:http server speaking enough of the REST API (discovery,
 * deployments, replicationcontrollers and their scale subresource, pods with watch, configmaps,
 * secrets) that @kubernetes/client-node and Debian's kubectl 1.20 work against it, with a small
 * controller that runs pods for Deployments and RCs and models Pachyderm's pause.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { ClusterState } from './cluster-state.ts';
import { Controller } from './controller.ts';
import { PachydermModel } from './pachyderm-model.ts';
import { createPachydermObjects, type PachydermSeed, type SeededPachyderm } from './seed.ts';
import { parseLabelSelector } from './selectors.ts';
import { createKubeServer, type FailureRule, type RequestRecord } from './server.ts';
import {
  type ConfigMap,
  isPodReady,
  isTerminating,
  type KubeObject,
  type Pod,
  type Workload,
} from './types.ts';
import type { WatchRegistry } from './watch.ts';

export { decodeHelmReleaseSecret, type HelmSeed } from './helm-release.ts';
export type { PachydermSeed, PipelineSeed, SeededPachyderm } from './seed.ts';
export type { FailureRule, RequestRecord } from './server.ts';
export type { ConfigMap, KubeObject, Pod, Workload } from './types.ts';

export interface KubeStandinOptions {
  /** The kubeconfig context's namespace and the default for the helpers below. Default 'pachyderm'. */
  namespace?: string;
  /** Pending → Running + Ready after this long. Default 200. */
  podStartMs?: number;
  /** Terminating → gone after this long. Default 200. */
  podStopMs?: number;
  /** Folder for the kubeconfig file; default a fresh temporary folder (removed by close()). */
  dir?: string;
}

export interface KubeStandin {
  /** http://127.0.0.1:<port> */
  url: string;
  /** A kubeconfig whose current context `standin` points at the server, with `namespace` as its namespace. */
  kubeconfigPath: string;
  namespace: string;
  /** Creates pachd, pachw, pg-bouncer, console, worker RCs, Services and Helm release secrets; resolves once all pods are Ready. */
  seedPachyderm(seed?: PachydermSeed): Promise<SeededPachyderm>;
  getDeployment(name: string, namespace?: string): Workload | undefined;
  getReplicationController(name: string, namespace?: string): Workload | undefined;
  /** Pods in the namespace (terminating ones included), optionally filtered by a label selector. */
  listPods(selector?: string, namespace?: string): Pod[];
  getConfigMap(name: string, namespace?: string): ConfigMap | undefined;
  /** Every request seen so far, oldest first (a live array; clear it with `requests.length = 0`). */
  readonly requests: RequestRecord[];
  /** Pods matching the selector never finish terminating, until the returned function is called. */
  stuckPods(selector: string): () => void;
  /** The next `times` (default 1) requests matching the rule get a Status error with that code. */
  failRequests(rule: FailureRule): void;
  /** Polls `check` every 20 ms until it is true (rejects after timeoutMs, default 10 s). */
  waitFor(check: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Resolves once every Deployment and RC in the namespace has its replicas Ready and no pod is terminating. */
  waitForSettled(namespace?: string, timeoutMs?: number): Promise<void>;
  /** The mode a pachd pod started in (the pause model's view). */
  pachdModeOf(pod: Pod): 'full' | 'paused' | undefined;
  close(): Promise<void>;
}

function kubeconfigYaml(url: string, namespace: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'standin', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    contexts: [{ name: 'standin', context: { cluster: 'standin', namespace, user: 'standin' } }],
    'current-context': 'standin',
    preferences: {},
    users: [{ name: 'standin', user: { token: 'standin-token' } }],
  });
}

function isSettled(state: ClusterState, namespace: string): boolean {
  const pods = state.list('Pod', namespace) as Pod[];
  if (pods.some((p) => isTerminating(p) || !isPodReady(p))) return false;
  const workloads = [
    ...state.list('Deployment', namespace),
    ...state.list('ReplicationController', namespace),
  ] as Workload[];
  return workloads.every((w) => {
    const status = (w.status ?? {}) as {
      readyReplicas?: number;
      replicas?: number;
      observedGeneration?: number;
    };
    const desired = w.spec.replicas ?? 1;
    return (
      (status.readyReplicas ?? 0) === desired &&
      (status.replicas ?? 0) === desired &&
      status.observedGeneration === w.metadata.generation
    );
  });
}

export async function startKube(options: KubeStandinOptions = {}): Promise<KubeStandin> {
  const namespace = options.namespace ?? 'pachyderm';
  const state = new ClusterState();
  for (const ns of ['default', 'kube-system', namespace]) state.ensureNamespace(ns);
  const model = new PachydermModel(state);
  const controller = new Controller(
    state,
    { podStartMs: options.podStartMs ?? 200, podStopMs: options.podStopMs ?? 200 },
    model,
  );
  const requests: RequestRecord[] = [];
  const failures: FailureRule[] = [];
  const watches: WatchRegistry = new Set();
  const server = createKubeServer({ state, requests, failures, watches });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'kube-standin-')));
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(kubeconfigPath, kubeconfigYaml(url, namespace), { mode: 0o600 });

  const find = <T extends KubeObject>(kind: string, name: string, ns?: string) =>
    state.find(kind, ns ?? namespace, name) as T | undefined;
  const waitFor = async (check: () => boolean, what: string, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline)
        throw new Error(`kube stand-in: timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(20);
    }
  };

  return {
    url,
    kubeconfigPath,
    namespace,
    async seedPachyderm(seed = {}) {
      const ns = seed.namespace ?? namespace;
      const seeded = createPachydermObjects(state, { ...seed, namespace: ns });
      await waitFor(() => isSettled(state, ns), `Pachyderm in ${ns} to be ready`);
      return seeded;
    },
    getDeployment: (name, ns) => find<Workload>('Deployment', name, ns),
    getReplicationController: (name, ns) => find<Workload>('ReplicationController', name, ns),
    listPods: (selector, ns) =>
      (state.list('Pod', ns ?? namespace) as Pod[]).filter((p) =>
        parseLabelSelector(selector)(p.metadata.labels),
      ),
    getConfigMap: (name, ns) => find<ConfigMap>('ConfigMap', name, ns),
    requests,
    stuckPods: (selector) => controller.holdPods(selector),
    failRequests: (rule) => void failures.push({ ...rule }),
    waitFor,
    waitForSettled: (ns, timeoutMs) =>
      waitFor(() => isSettled(state, ns ?? namespace), `${ns ?? namespace} to settle`, timeoutMs),
    pachdModeOf: (pod) => model.modeOf(pod),
    async close() {
      controller.close();
      for (const res of watches) res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
