/**
 * src/cluster/helm.ts against the helm stand-in (test/harness/bin/helm) acting on the Kubernetes
 * stand-in: revisions, the values file helm is given, failures in helm's words, no secret in argv.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { createHelm, type Helm, type UpgradeInstallOptions } from '../../src/cluster/helm.ts';
import { readHelmRelease } from '../../src/cluster/helm-release.ts';
import { collectSecrets, rewriteHelmValues } from '../../src/cluster/helm-values.ts';
import { createKubeApi, type KubeApi } from '../../src/cluster/kube.ts';
import { PachopsError } from '../../src/errors.ts';
import { type KubeStandin, startKube } from '../harness/kube/kube-standin.ts';

const helmBinary = join(dirname(fileURLToPath(import.meta.url)), '../harness/bin/helm');

interface Recorded {
  argv: string[];
  values: { path: string; mode: number; content: string }[];
}

const saved = {
  deployTarget: 'AMAZON',
  global: {
    postgresql: {
      postgresqlHost: 'pg-prod.db.internal',
      postgresqlPassword: 'Pg-Pr0d-pa55word-7731',
      postgresqlSSL: 'require',
    },
  },
  pachd: {
    rootToken: 'root-token-1234567890abcdef',
    storage: {
      backend: 'AMAZON',
      storageURL: 's3://pach-data?endpoint=http://rgw:7480&region=us-east-1',
      amazon: { id: 'AKIAPRODEXAMPLE00001', secret: 'wJalrXUtnFEMI-prod-secret-key-0001' },
    },
  },
  postgresql: { enabled: false },
};
const restored = rewriteHelmValues(
  saved,
  {
    postgres: { host: 'pg-restore.internal', port: 5432, database: 'pachyderm_r1', dexDatabase: 'dex_r1' },
    bucket: { name: 'pach-restored' },
  },
  { version: '2.11.6' },
).values;
const secrets = collectSecrets(restored);

let kube: KubeStandin;
let api: KubeApi;
let helm: Helm;
let recordDir: string;
let recordFile: string;

const upgrade = (over: Partial<UpgradeInstallOptions> = {}) =>
  helm.upgradeInstall({
    release: 'pachyderm',
    namespace: 'pachyderm',
    chart: 'pachyderm/pachyderm',
    version: '2.11.6',
    values: restored,
    timeoutSeconds: 30,
    ...over,
  });

async function lastRecord(): Promise<Recorded> {
  const lines = (await readFile(recordFile, 'utf8')).trim().split('\n');
  return JSON.parse(lines.at(-1) as string) as Recorded;
}

async function failureOf(run: Promise<unknown>): Promise<PachopsError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PachopsError);
  return error as PachopsError;
}

beforeAll(async () => {
  kube = await startKube({ podStartMs: 50, podStopMs: 50 });
  await kube.seedPachyderm({ helm: { release: 'pachyderm', values: saved, chartVersion: '2.11.6' } });
  api = createKubeApi({ kubeconfig: kube.kubeconfigPath, namespace: kube.namespace });
  helm = createHelm({ binary: helmBinary, kubeconfig: kube.kubeconfigPath });
  recordDir = await mkdtemp(join(tmpdir(), 'helm-test-'));
  recordFile = join(recordDir, 'helm.jsonl');
  // the stand-in reads these; the stand-in's shebang needs this Node (24) first on PATH
  process.env.HELM_STANDIN_RECORD = recordFile;
  process.env.PATH = `${dirname(process.execPath)}:${process.env.PATH}`;
});

afterEach(() => {
  delete process.env.HELM_STANDIN_FAIL;
});

afterAll(async () => {
  delete process.env.HELM_STANDIN_RECORD;
  await kube?.close();
  if (recordDir) await rm(recordDir, { recursive: true, force: true });
});

test('upgradeInstall deploys revision 2 with the values, through a private values file that is then gone', async () => {
  const { output } = await upgrade();
  expect(output).toMatch(/^Release "pachyderm" has been upgraded\. Happy Helming!\n[\s\S]*REVISION: 2\n/);

  const release = await readHelmRelease(api, 'pachyderm');
  expect(release).toMatchObject({
    revision: 2,
    chartVersion: '2.11.6',
    appVersion: '2.11.6',
    values: restored,
  });
  const revisions = await api.listSecrets('owner=helm,name=pachyderm');
  expect(Object.fromEntries(revisions.map((s) => [s.name, s.labels.status]))).toEqual({
    'sh.helm.release.v1.pachyderm.v1': 'superseded',
    'sh.helm.release.v1.pachyderm.v2': 'deployed',
  });

  const record = await lastRecord();
  const file = record.values[0]?.path;
  expect(record.argv).toEqual([
    'upgrade',
    '--install',
    'pachyderm',
    'pachyderm/pachyderm',
    '--version',
    '2.11.6',
    '--namespace',
    'pachyderm',
    '--values',
    file,
    '--wait',
    '--timeout',
    '30s',
  ]);
  expect(record.values[0].mode).toBe(0o600);
  expect(parse(record.values[0].content)).toEqual(restored);
  expect(existsSync(file)).toBe(false);
  expect(existsSync(dirname(file))).toBe(false);
  expect(secrets.length).toBeGreaterThanOrEqual(4);
  for (const secret of secrets) expect(record.argv.join(' ')).not.toContain(secret);

  // --wait returned once pachd ran the chart's image
  expect(kube.getDeployment('pachd')?.spec.template.spec?.containers[0].image).toBe('pachyderm/pachd:2.11.6');
  expect(kube.listPods('app=pachd').every((p) => p.status.conditions?.some((c) => c.type === 'Ready'))).toBe(
    true,
  );
  await kube.waitForSettled();
});

test('a pinned pachd.image.tag becomes the appVersion and the image; --kube-context is passed on', async () => {
  const withContext = createHelm({ binary: helmBinary, kubeconfig: kube.kubeconfigPath, context: 'standin' });
  const values = { ...restored, pachd: { ...(restored.pachd as object), image: { tag: '2.11.5' } } };
  await withContext.upgradeInstall({
    release: 'pachyderm',
    namespace: 'pachyderm',
    chart: 'pachyderm/pachyderm',
    version: '2.11.6',
    values,
    timeoutSeconds: 30,
    wait: false,
  });
  expect((await lastRecord()).argv.slice(-4)).toEqual(['--timeout', '30s', '--kube-context', 'standin']);
  expect((await lastRecord()).argv).not.toContain('--wait');
  expect(await readHelmRelease(api, 'pachyderm')).toMatchObject({ revision: 3, appVersion: '2.11.5' });
  await kube.waitForSettled();
  expect(kube.getDeployment('pachd')?.spec.template.spec?.containers[0].image).toBe('pachyderm/pachd:2.11.5');
});

test('a failed upgrade is HELM_FAILED in helm’s words, secrets masked, and the values file is still removed', async () => {
  process.env.HELM_STANDIN_FAIL = `cannot patch "pachd" with kind Deployment: Internal error (token ${secrets[0]})`;
  const error = await failureOf(upgrade());
  expect(error.code).toBe('HELM_FAILED');
  expect(error.permanent).toBe(false);
  expect(error.message).toMatch(
    /^helm upgrade --install pachyderm failed: Error: UPGRADE FAILED: cannot patch "pachd"/,
  );
  expect(error.message).not.toContain(secrets[0]);
  expect(error.message).toContain('••••');
  const file = (await lastRecord()).values[0].path;
  expect(existsSync(dirname(file))).toBe(false);
  expect((await readHelmRelease(api, 'pachyderm'))?.revision).toBe(3);
});

test.each([
  ['execution error at (pachyderm/templates/pachd/deployment.yaml:58:20): storage URL required', true],
  ['another operation (install/upgrade/rollback) is in progress', true],
  [
    'failed to download "pachyderm/pachyderm": Get "https://helm.example/index.yaml": dial tcp: i/o timeout',
    false,
  ],
  ['Kubernetes cluster unreachable: Get "https://10.0.0.1/version": connection refused', false],
])('helm saying %j is permanent: %s', async (message, permanent) => {
  process.env.HELM_STANDIN_FAIL = message;
  expect(await failureOf(upgrade())).toMatchObject({ code: 'HELM_FAILED', permanent });
});

test('a chart or version helm cannot find is a permanent HELM_FAILED', async () => {
  const badVersion = await failureOf(upgrade({ version: 'latest' }));
  expect(badVersion.code).toBe('HELM_FAILED');
  expect(badVersion.permanent).toBe(true);
  expect(badVersion.message).toMatch(/no chart version found for pachyderm-latest/);
  const badChart = await failureOf(upgrade({ chart: 'pachyderm/pachydrem' }));
  expect(badChart.permanent).toBe(true);
  expect(badChart.message).toMatch(/chart "pachydrem" not found/);
});

test('a release that does not become ready in --timeout fails transiently; an abort stops helm', async () => {
  const slow = await startKube({ podStartMs: 2500, podStopMs: 50 });
  try {
    await slow.seedPachyderm({ helm: { release: 'pachyderm', values: saved } });
    const slowHelm = createHelm({ binary: helmBinary, kubeconfig: slow.kubeconfigPath });
    const base = {
      release: 'pachyderm',
      namespace: 'pachyderm',
      chart: 'pachyderm/pachyderm',
      version: '2.11.6',
      values: restored,
    };
    const timedOut = await failureOf(slowHelm.upgradeInstall({ ...base, timeoutSeconds: 1 }));
    expect(timedOut.message).toMatch(/UPGRADE FAILED: context deadline exceeded/);
    expect(timedOut.permanent).toBe(false);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const aborted = await failureOf(
      slowHelm.upgradeInstall({ ...base, timeoutSeconds: 30, signal: controller.signal }),
    );
    expect(aborted.code).toBe('ABORTED');
  } finally {
    await slow.close();
  }
}, 30_000);

test('version() prints helm’s short version; a missing binary is a permanent HELM_FAILED', async () => {
  expect(await helm.version()).toMatch(/^v3\.16\.0\+g[0-9a-f]{7}$/);
  const missing = await failureOf(createHelm({ binary: '/nonexistent/helm' }).version());
  expect(missing).toMatchObject({ code: 'HELM_FAILED', permanent: true });
});
