/** Helm 3's release storage: Secret `sh.helm.release.v1.<release>.v<N>`, data.release = base64(gzip(JSON)). */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Secret } from './types.ts';

export interface HelmSeed {
  release: string;
  /** The newest revision; revisions 1…N-1 are stored as superseded. Default 1. */
  revision?: number;
  /** The user-supplied values (`helm get values`), stored as the release's `config`. */
  values: Record<string, unknown>;
  chartVersion?: string;
  appVersion?: string;
}

/** A small part of the pachyderm chart's values.yaml (2.11): the keys a backup tool reads. */
export function chartDefaultValues(): Record<string, unknown> {
  return {
    deployTarget: '',
    global: {
      postgresql: {
        postgresqlUsername: 'pachyderm',
        postgresqlPassword: 'insecure-user-password',
        postgresqlPostgresPassword: 'insecure-root-password',
        postgresqlAuthType: 'md5',
        postgresqlExistingSecretName: '',
        postgresqlExistingSecretKey: '',
        postgresqlDatabase: 'pachyderm',
        postgresqlHost: 'postgres',
        postgresqlPort: '5432',
        postgresqlSSL: 'prefer',
        postgresqlSSLCACert: '',
        postgresqlSSLSecret: '',
        identityDatabaseFullNameOverride: '',
      },
      imagePullSecrets: [],
    },
    console: {
      enabled: true,
      image: { repository: 'pachyderm/haberdashery', pullPolicy: 'IfNotPresent', tag: '' },
    },
    pachd: {
      enabled: true,
      clusterDeploymentID: '',
      image: { repository: 'pachyderm/pachd', pullPolicy: 'IfNotPresent', tag: '' },
      replicas: 1,
      activateAuth: true,
      storage: {
        backend: '',
        storageURL: '',
        amazon: {
          bucket: '',
          customEndpoint: '',
          disableSSL: false,
          id: '',
          region: '',
          secret: '',
          token: '',
        },
        google: { bucket: '', cred: '' },
        microsoft: { container: '', id: '', secret: '' },
        minio: { bucket: '', endpoint: '', id: '', secret: '', secure: '', signature: '' },
      },
    },
    pachw: { inheritFromPachd: true, minReplicas: 1, maxReplicas: 1 },
    postgresql: { enabled: true },
    proxy: { enabled: true },
    pgbouncer: { maxConnections: 1000 },
  };
}

function helmTime(date: Date): string {
  // Helm marshals time.Time with nanoseconds and the zone offset.
  return date.toISOString().replace('Z', '000000Z');
}

function manifest(release: string, namespace: string): string {
  return [
    '---',
    '# Source: pachyderm/templates/pachd/deployment.yaml',
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  labels:',
    '    app: pachd',
    '    suite: pachyderm',
    '  name: pachd',
    `  namespace: ${namespace}`,
    '---',
    '# Source: pachyderm/templates/pachw/deployment.yaml',
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  labels:',
    '    app: pachw',
    '    suite: pachyderm',
    '  name: pachw',
    `  namespace: ${namespace}`,
    `# release ${release}`,
    '',
  ].join('\n');
}

/** The release object Helm stores (helm.sh/helm/v3/pkg/release.Release as JSON). */
export function helmReleaseObject(
  seed: HelmSeed,
  namespace: string,
  revision: number,
  status: string,
  deployedAt: Date[],
): Record<string, unknown> {
  const chartVersion = seed.chartVersion ?? '2.11.6';
  const appVersion = seed.appVersion ?? chartVersion;
  return {
    name: seed.release,
    info: {
      first_deployed: helmTime(deployedAt[0]),
      last_deployed: helmTime(deployedAt[revision - 1]),
      deleted: '',
      description: revision === 1 ? 'Install complete' : 'Upgrade complete',
      status,
      notes: 'Pachyderm is now running.\n',
    },
    chart: {
      metadata: {
        name: 'pachyderm',
        home: 'https://www.pachyderm.com/',
        sources: ['https://github.com/pachyderm/pachyderm', 'https://github.com/pachyderm/helmchart'],
        version: chartVersion,
        description: 'Explainable, repeatable, scalable data science',
        keywords: ['data science'],
        apiVersion: 'v2',
        appVersion,
        kubeVersion: '>= 1.16.0-0',
        type: 'application',
      },
      lock: null,
      templates: [],
      values: chartDefaultValues(),
      schema: null,
      files: [],
    },
    config: seed.values,
    manifest: manifest(seed.release, namespace),
    version: revision,
    namespace,
  };
}

/** Secrets for revisions 1…N, exactly as Helm 3 labels and encodes them. */
export function helmReleaseSecrets(seed: HelmSeed, namespace: string): Secret[] {
  const newest = seed.revision ?? 1;
  const now = Date.now();
  const deployedAt = Array.from({ length: newest }, (_, i) => new Date(now - (newest - i) * 3_600_000));
  const secrets: Secret[] = [];
  for (let revision = 1; revision <= newest; revision++) {
    const status = revision === newest ? 'deployed' : 'superseded';
    const release = helmReleaseObject(seed, namespace, revision, status, deployedAt);
    const payload = gzipSync(Buffer.from(JSON.stringify(release)), { level: 9 }).toString('base64');
    const createdAt = String(Math.floor(deployedAt[revision - 1].getTime() / 1000));
    secrets.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: `sh.helm.release.v1.${seed.release}.v${revision}`,
        namespace,
        labels: {
          createdAt,
          ...(status === 'superseded' ? { modifiedAt: String(Math.floor(now / 1000)) } : {}),
          name: seed.release,
          owner: 'helm',
          status,
          version: String(revision),
        },
      },
      type: 'helm.sh/release.v1',
      // The Secret's own base64 wraps Helm's base64 of the gzip.
      data: { release: Buffer.from(payload).toString('base64') },
    });
  }
  return secrets;
}

/** Reads a release back from its Secret (what `helm get values` does), for tests. */
export function decodeHelmReleaseSecret(secret: Secret): Record<string, unknown> {
  const helmBase64 = Buffer.from(secret.data?.release ?? '', 'base64').toString('utf8');
  return JSON.parse(gunzipSync(Buffer.from(helmBase64, 'base64')).toString('utf8')) as Record<
    string,
    unknown
  >;
}
