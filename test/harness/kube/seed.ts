/** A Pachyderm deployment as the Helm chart and pachd's PPS master leave it in a namespace. */
import { randomBytes } from 'node:crypto';
import type { ClusterState } from './cluster-state.ts';
import { type HelmSeed, helmReleaseSecrets } from './helm-release.ts';
import { findByKind } from './resources.ts';
import type { Container, KubeObject, StringMap, Workload } from './types.ts';

export interface PipelineSeed {
  project?: string;
  name: string;
  replicas: number;
  version?: number;
  /** Spouts carry app=spout instead of app=pipeline. */
  spout?: boolean;
}

export interface PachydermSeed {
  namespace?: string;
  pachd?: number;
  pachw?: number;
  pipelines?: PipelineSeed[];
  pachdImage?: string;
  helm?: HelmSeed;
}

export interface SeededPachyderm {
  namespace: string;
  deployments: string[];
  workerRcs: string[];
  helmSecrets: string[];
}

const helmMeta = (release: string, namespace: string) => ({
  labels: { 'app.kubernetes.io/managed-by': 'Helm' },
  annotations: { 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': namespace },
});

function deployment(
  name: string,
  labels: StringMap,
  replicas: number,
  containers: Container[],
  helm: ReturnType<typeof helmMeta>,
): Workload {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { ...labels, ...helm.labels }, annotations: { ...helm.annotations } },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      strategy: {},
      template: {
        metadata: { labels, annotations: { 'checksum/helm-values': randomBytes(32).toString('hex') } },
        spec: { containers },
      },
    },
  };
}

function pachdContainer(image: string, mode: string): Container {
  const env =
    mode === 'pachd'
      ? [
          {
            name: 'MODE',
            valueFrom: { configMapKeyRef: { name: 'pachd-config', key: 'MODE', optional: true } },
          },
          { name: 'UNPAUSED_MODE', value: 'full' },
        ]
      : [];
  return {
    name: mode === 'pachd' ? 'pachd' : 'pachw',
    image,
    command: ['/pachd'],
    args: ['--mode', mode === 'pachd' ? '$(MODE)' : 'pachw'],
    env,
    ports: [{ containerPort: 1650, name: 'api-grpc-port', protocol: 'TCP' }],
  };
}

function workerRc(pipeline: PipelineSeed, pachdImage: string): Workload {
  const project = pipeline.project ?? 'default';
  const version = String(pipeline.version ?? 1);
  const labels = {
    app: pipeline.spout ? 'spout' : 'pipeline',
    component: 'worker',
    pipelineName: pipeline.name,
    pipelineProject: project,
    pipelineVersion: version,
    suite: 'pachyderm',
  };
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: `${project}-${pipeline.name}-v${version}`, labels },
    spec: {
      replicas: pipeline.replicas,
      selector: labels,
      template: {
        metadata: {
          labels,
          annotations: { pipelineName: pipeline.name, pachVersion: pachdImage.split(':')[1] ?? '' },
        },
        spec: {
          containers: [
            { name: 'user', image: 'ubuntu:20.04', command: ['/pach-bin/worker'] },
            { name: 'storage', image: pachdImage, command: ['/pachd', '--mode', 'sidecar'] },
          ],
        },
      },
    },
  };
}

function service(name: string, selector: StringMap, port: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels: { app: name, suite: 'pachyderm' } },
    spec: { selector, ports: [{ name: 'api-grpc-port', port, targetPort: 1650, protocol: 'TCP' }] },
  };
}

/** Creates the objects; `startKube`'s wrapper waits for the pods. */
export function createPachydermObjects(
  state: ClusterState,
  seed: PachydermSeed & { namespace: string },
): SeededPachyderm {
  const { namespace } = seed;
  const image = seed.pachdImage ?? 'pachyderm/pachd:2.11.6';
  const tag = image.split(':')[1] ?? '2.11.6';
  const helm = helmMeta(seed.helm?.release ?? 'pachyderm', namespace);
  state.ensureNamespace(namespace);
  const deployments = [
    deployment(
      'pachd',
      { app: 'pachd', suite: 'pachyderm' },
      seed.pachd ?? 1,
      [pachdContainer(image, 'pachd')],
      helm,
    ),
    deployment(
      'pachw',
      { app: 'pachw', suite: 'pachyderm' },
      seed.pachw ?? 1,
      [pachdContainer(image, 'pachw')],
      helm,
    ),
    deployment(
      'pg-bouncer',
      { app: 'pg-bouncer', suite: 'pachyderm' },
      1,
      [{ name: 'pg-bouncer', image: 'pachyderm/pgbouncer:1.16.2' }],
      helm,
    ),
    deployment(
      'console',
      { app: 'console', suite: 'pachyderm' },
      1,
      [{ name: 'console', image: `pachyderm/haberdashery:${tag}` }],
      helm,
    ),
  ];
  const create = (obj: KubeObject) => state.create(findByKind(obj.kind), namespace, obj);
  deployments.forEach(create);
  const rcs = (seed.pipelines ?? []).map((p) => workerRc(p, image));
  rcs.forEach(create);
  create(service('pachd', { app: 'pachd', suite: 'pachyderm' }, 30650));
  create(service('pachd-peer', { app: 'pachd', suite: 'pachyderm' }, 30653));
  create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'pachyderm-deployment-id-secret',
      labels: { app: 'pachd', suite: 'pachyderm', ...helm.labels },
    },
    type: 'Opaque',
    data: { CLUSTER_DEPLOYMENT_ID: Buffer.from(randomBytes(16).toString('hex')).toString('base64') },
  });
  const secrets = seed.helm ? helmReleaseSecrets(seed.helm, namespace) : [];
  secrets.forEach(create);
  return {
    namespace,
    deployments: deployments.map((d) => d.metadata.name),
    workerRcs: rcs.map((rc) => rc.metadata.name),
    helmSecrets: secrets.map((s) => s.metadata.name),
  };
}
