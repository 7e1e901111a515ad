/**
 * deploy/helm/pachops rendered without helm and without a cluster (test/deploy/helm-render: text/template,
 * sprig and helm's functions), and its objects checked against the code: the config against the real
 * loader, env against what the code reads, probes against what the bot serves, the image's user.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { parseConfig, requireSlack } from '../../src/config/load.ts';
import { buildRenderer, chartDir, type Manifest, minimal, renderChart } from './helm-render.ts';
import { codeEnv, namedSecrets, read } from './shipped-code.ts';

let binary: string;
beforeAll(() => {
  binary = buildRenderer();
}, 120_000);

const socketMode = { slack: { socketMode: true } };
const withIngress = { ingress: { enabled: true, host: 'pachops.example.com', className: 'nginx' } };

function render(...values: object[]): Manifest[] {
  const run = renderChart(binary, values);
  expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  return run.manifests;
}
const objects = <T = Manifest['object']>(manifests: Manifest[], kind: string) =>
  manifests.filter((m) => m.object.kind === kind).map((m) => m.object as T);
function only<T = Manifest['object']>(manifests: Manifest[], kind: string, name: string): T {
  const found = manifests.filter((m) => m.object.kind === kind && m.object.metadata.name === name);
  expect(found).toHaveLength(1);
  return found[0].object as T;
}
const bot = (m: Manifest[]) => only<k8s.V1Deployment>(m, 'Deployment', 'pachops-bot');
const worker = (m: Manifest[]) => only<k8s.V1Deployment>(m, 'Deployment', 'pachops-worker');
const pod = (d: k8s.V1Deployment) => d.spec!.template.spec!;
const container = (d: k8s.V1Deployment) => pod(d).containers[0];
const envNames = (c: k8s.V1Container) => (c.env ?? []).map((e) => e.name);

/** The environment the container gets: literal values, and a placeholder for each secretKeyRef. */
function containerEnv(c: k8s.V1Container): Record<string, string> {
  return Object.fromEntries(
    (c.env ?? []).map((e) => [
      e.name,
      e.valueFrom ? (e.name === 'SLACK_APP_TOKEN' ? 'xapp-placeholder' : 'placeholder') : (e.value ?? ''),
    ]),
  );
}

describe('rendering stops with what to set', () => {
  test.each([
    ['defaults alone', [{}], 'existingSecret is required'],
    ['defaults and a Secret', [{ existingSecret: 's' }], 'config.slack.approvers is required'],
    ['no cluster', [minimal, { config: { clusters: null } }], 'config.clusters is empty'],
    [
      'a password in a URL',
      [minimal, { config: { stateDatabase: { url: 'postgres://pachops:hunter2@db/pachops' } } }],
      'config.stateDatabase.url holds a password, and config is a ConfigMap',
    ],
    [
      'a Redis password',
      [minimal, { config: { redis: { url: 'redis://:hunter2@redis:6379' } } }],
      'config.redis.url holds a password',
    ],
    [
      'Socket Mode with an Ingress',
      [minimal, socketMode, withIngress],
      'ingress.enabled needs slack.socketMode: false',
    ],
    [
      'a cluster outside the Role',
      [
        minimal,
        {
          config: {
            clusters: { lab: { ...minimal.config.clusters.prod, kubernetes: { namespace: 'lab' } } },
          },
        },
      ],
      'config.clusters.lab uses namespace "lab" through the chart\'s ServiceAccount, but the Role is only in pachyderm',
    ],
  ])('%s', (_label, values, message) => {
    const run = renderChart(binary, values);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(message);
    expect(run.stderr).not.toContain('hunter2'); // the message names the key, never the secret
    expect(run.stdout).toBe('');
  });
});

describe('with an existingSecret and a config (HTTP mode)', () => {
  let m: Manifest[];
  beforeAll(() => {
    m = render(minimal);
  });

  test('objects: the bot and worker Deployments, ConfigMap, Service, ServiceAccount, Role, RoleBinding', () => {
    expect(m.map((x) => `${x.object.kind}/${x.object.metadata.name}`).sort()).toEqual([
      'ConfigMap/pachops',
      'Deployment/pachops-bot',
      'Deployment/pachops-worker',
      'Role/pachops',
      'RoleBinding/pachops',
      'Service/pachops',
      'ServiceAccount/pachops',
    ]);
  });

  test("each Deployment's selector picks its own pods and no other's; the Service selects the bot", () => {
    const labelsOf = (d: k8s.V1Deployment) => d.spec!.template.metadata!.labels!;
    const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
      Object.entries(selector ?? { none: 'selector' }).every(([k, v]) => labels[k] === v);
    for (const [self, other] of [
      [bot(m), worker(m)],
      [worker(m), bot(m)],
    ]) {
      expect(matches(self.spec!.selector.matchLabels, labelsOf(self))).toBe(true);
      expect(matches(self.spec!.selector.matchLabels, labelsOf(other))).toBe(false);
    }
    const service = only<k8s.V1Service>(m, 'Service', 'pachops').spec!;
    expect(matches(service.selector, labelsOf(bot(m)))).toBe(true);
    expect(matches(service.selector, labelsOf(worker(m)))).toBe(false);
    expect(container(bot(m)).ports?.map((p) => p.name)).toContain(service.ports![0].targetPort);
  });

  test('one image, the processes picked with args (tini stays PID 1), 1 bot and 2 workers', () => {
    for (const d of [bot(m), worker(m)]) {
      expect(container(d).image).toBe(`pachops:${JSON.parse(read('package.json')).version}`);
      expect(container(d).command).toBeUndefined();
    }
    expect(container(bot(m)).args).toEqual(['node', 'src/bot.ts']);
    expect(container(worker(m)).args).toEqual(['node', 'jobs/worker.ts']);
    expect([bot(m).spec!.replicas, worker(m).spec!.replicas]).toEqual([1, 2]);
    expect(read('deploy/Dockerfile')).toMatch(/^CMD \["node", "src\/bot\.ts"\]$/m);
  });

  test("the bot's probes ask the paths the bot serves, on the port it listens on", () => {
    const served = [...read('src/slack/app.ts').matchAll(/path: '([^']+)',\s*method: 'GET'/g)].map(
      (x) => x[1],
    );
    const c = container(bot(m));
    const port = c.ports?.find((p) => p.name === 'http');
    expect(port?.containerPort).toBe(Number(containerEnv(c).PORT));
    const probes = [c.livenessProbe, c.readinessProbe, c.startupProbe].map((p) => p?.httpGet);
    expect(probes.map((p) => p?.path)).toEqual(['/healthz', '/readyz', '/healthz']);
    for (const probe of probes) {
      expect(served).toContain(probe?.path);
      expect(probe?.port).toBe('http');
    }
    // the worker serves nothing: no probe that could only ever fail
    expect(container(worker(m)).livenessProbe).toBeUndefined();
    expect(container(worker(m)).readinessProbe).toBeUndefined();
  });

  test('env: only what the code reads or the config names; every secret from existingSecret, by key', () => {
    const config = minimal.config;
    const secrets = new Set([
      ...namedSecrets(config),
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
      'SLACK_APP_TOKEN',
    ]);
    for (const d of [bot(m), worker(m)]) {
      for (const e of container(d).env ?? []) {
        expect(codeEnv.has(e.name) || namedSecrets(config).includes(e.name)).toBe(true);
        if (secrets.has(e.name))
          expect(e).toEqual({
            name: e.name,
            valueFrom: { secretKeyRef: { name: 'pachops-secrets', key: e.name } },
          });
      }
    }
    expect(envNames(container(bot(m)))).toEqual(
      expect.arrayContaining([
        'PACHOPS_CONFIG',
        'PORT',
        'SLACK_BOT_TOKEN',
        'SLACK_SIGNING_SECRET',
        ...namedSecrets(config),
      ]),
    );
    expect(envNames(container(worker(m)))).toEqual(
      expect.arrayContaining(['PACHOPS_CONFIG', 'SLACK_BOT_TOKEN', ...namedSecrets(config)]),
    );
    // least privilege: the worker does not verify Slack requests
    expect(envNames(container(worker(m)))).not.toContain('SLACK_SIGNING_SECRET');
    expect(envNames(container(bot(m)))).not.toContain('SLACK_APP_TOKEN');
  });

  test("the mounted pachops.yaml passes the real loader with each container's environment", () => {
    const configMap = only<k8s.V1ConfigMap>(m, 'ConfigMap', 'pachops');
    for (const d of [bot(m), worker(m)]) {
      const c = container(d);
      const path = containerEnv(c).PACHOPS_CONFIG;
      const mount = c.volumeMounts!.find((v) => path.startsWith(`${v.mountPath}/`))!;
      const volume = pod(d).volumes!.find((v) => v.name === mount.name)!;
      expect(volume.configMap?.name).toBe(configMap.metadata!.name);
      const text = configMap.data![path.slice(mount.mountPath.length + 1)];
      const config = parseConfig(text, containerEnv(c), 'the ConfigMap');
      expect(config.clusters.prod.postgres.password).toBe('placeholder');
      expect(() => requireSlack(config, { signingSecret: d === bot(m) })).not.toThrow();
      expect(parseYaml(text)).toMatchObject(minimal.config);
    }
  });

  test("non-root as the image's user, read-only root, no capabilities, a writable /tmp", () => {
    const [, uid, gid] = /^USER (\d+):(\d+)$/m.exec(read('deploy/Dockerfile'))!;
    for (const d of [bot(m), worker(m)]) {
      expect(pod(d).securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: Number(uid),
        runAsGroup: Number(gid),
      });
      expect(container(d).securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      const tmp = container(d).volumeMounts!.find((v) => v.mountPath === '/tmp')!;
      expect(pod(d).volumes!.find((v) => v.name === tmp.name)).toEqual({
        name: tmp.name,
        emptyDir: {},
      });
      expect(container(d).resources?.requests).toEqual({
        cpu: expect.any(String),
        memory: expect.any(String),
      });
      expect(container(d).resources?.limits?.memory).toEqual(expect.any(String));
    }
    expect(read('src/cluster/helm.ts')).toContain('tmpdir()'); // why /tmp must be writable
  });

  test('only the workers get an API token; the bot never calls Kubernetes', () => {
    expect(pod(bot(m)).automountServiceAccountToken).toBe(false);
    expect(pod(worker(m)).automountServiceAccountToken).toBe(true);
    for (const d of [bot(m), worker(m)]) expect(pod(d).serviceAccountName).toBe('pachops');
    expect(read('src/bot.ts')).not.toMatch(/cluster\/kube|createServiceCache/);
  });
});

describe('modes and options', () => {
  test('HTTP mode with an Ingress: /slack/events (exactly) to the Service, nothing else exposed', () => {
    const m = render(minimal, withIngress);
    const ingress = only<k8s.V1Ingress>(m, 'Ingress', 'pachops').spec!;
    expect(ingress.ingressClassName).toBe('nginx');
    expect(ingress.rules).toEqual([
      {
        host: 'pachops.example.com',
        http: {
          paths: [
            {
              path: '/slack/events',
              pathType: 'Exact',
              backend: { service: { name: 'pachops', port: { name: 'http' } } },
            },
          ],
        },
      },
    ]);
    expect(read('node_modules/@slack/bolt/dist/receivers/HTTPReceiver.js')).toContain("'/slack/events'");
    const notes = renderChart(binary, [minimal, withIngress], { notes: true });
    expect(notes.stdout).toContain('https://pachops.example.com/slack/events');
  });

  test('Socket Mode: no Service, no Ingress; the bot gets SLACK_APP_TOKEN, the workers do not', () => {
    const m = render(minimal, socketMode);
    expect(objects(m, 'Service')).toEqual([]);
    expect(objects(m, 'Ingress')).toEqual([]);
    expect(envNames(container(bot(m)))).toContain('SLACK_APP_TOKEN');
    expect(envNames(container(worker(m)))).not.toContain('SLACK_APP_TOKEN');
    // the probes still work: Bolt serves customRoutes on PORT in Socket Mode too
    expect(container(bot(m)).livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(read('node_modules/@slack/bolt/dist/receivers/SocketModeReceiver.js')).toMatch(
      /customRoutes\.length/,
    );
  });

  test('worker.replicas: 3 scales the workers only', () => {
    const m = render(minimal, { worker: { replicas: 3 } });
    expect([bot(m).spec!.replicas, worker(m).spec!.replicas]).toEqual([1, 3]);
  });

  test('a ServiceMonitor scrapes /metrics on the bot port, through a Service even in Socket Mode', () => {
    const m = render(minimal, socketMode, { metrics: { serviceMonitor: { enabled: true } } });
    type Monitor = { spec: { endpoints: unknown[]; selector: { matchLabels: object } } };
    const monitor = only<Monitor>(m, 'ServiceMonitor', 'pachops');
    expect(monitor.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '30s' }]);
    // a ServiceMonitor selects Services by their own labels
    expect(only<k8s.V1Service>(m, 'Service', 'pachops').metadata?.labels).toMatchObject(
      monitor.spec.selector.matchLabels,
    );
  });

  test("a config change rolls the pods (checksum annotation); other values don't", () => {
    const checksum = (m: Manifest[]) => bot(m).spec!.template.metadata!.annotations!['checksum/config'];
    const base = checksum(render(minimal));
    expect(checksum(render(minimal, { config: { slack: { approvers: ['U0BOB0001'] } } }))).not.toBe(base);
    expect(checksum(render(minimal, { worker: { replicas: 5 } }))).toBe(base);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });

  test('helm repositories for restores: an init container per repository, without secrets', () => {
    const repos = [{ name: 'pachyderm', url: 'https://helm.pachyderm.com' }];
    const init = pod(worker(render(minimal, { worker: { helmRepositories: repos } }))).initContainers ?? [];
    expect(init.map((c) => c.args)).toEqual([
      ['helm', 'repo', 'add', 'pachyderm', 'https://helm.pachyderm.com'],
    ]);
    expect(init[0].env).toBeUndefined();
    expect(init[0].volumeMounts?.map((v) => v.mountPath)).toContain('/home/pachops');
  });
});

test("the README's example renders, its config loads, and its env file lists every key the pods use", () => {
  const readme = read('README.md');
  const example = /```yaml\n# pachops-values\.yaml\n([\s\S]*?)```/.exec(readme)![1];
  const m = render({ existingSecret: 'pachops-secrets' }, parseYaml(example));
  const envFile = /^# pachops\.env[\s\S]*?\nkubectl/m.exec(readme)![0];
  for (const d of [bot(m), worker(m)]) {
    const keys = (container(d).env ?? []).flatMap((e) => e.valueFrom?.secretKeyRef?.key ?? []);
    expect(keys.filter((k) => !envFile.includes(`${k}=`))).toEqual([]);
    const config = only<k8s.V1ConfigMap>(m, 'ConfigMap', 'pachops').data!['pachops.yaml'];
    expect(() => parseConfig(config, containerEnv(container(d)), 'README')).not.toThrow();
  }
});

describe('helm lint, as far as it goes without helm', () => {
  const scenarios = [
    [minimal],
    [minimal, withIngress, { rbac: { helmDeploy: true, extraNamespaces: ['lab'] } }],
    [minimal, socketMode, { metrics: { serviceMonitor: { enabled: true } } }],
  ];

  test('Chart.yaml: apiVersion v2, the appVersion of package.json (and the tool applied lint rules)', () => {
    const chart = parseYaml(read('deploy/helm/pachops/Chart.yaml'));
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'pachops', type: 'application' });
    expect(chart.appVersion).toBe(JSON.parse(read('package.json')).version);
    expect(parseYaml(read('deploy/helm/pachops/values.yaml'))).toMatchObject({ existingSecret: '' });
    expect(renderChart(binary, [minimal], { kubeVersion: '1.19.0' }).status).toBe(0);
    expect(renderChart(binary, [minimal], { kubeVersion: '1.18.20' }).stderr).toBe(
      'Error: chart requires kubeVersion: >=1.19.0-0 which is incompatible with Kubernetes v1.18.20\n',
    );
  });

  test('every template renders somewhere, to named, labelled objects; no duplicates', () => {
    const sources = new Set<string>();
    for (const values of scenarios) {
      const m = render(...values);
      const ids = m.map(
        (x) => `${x.object.kind}/${x.object.metadata.namespace ?? ''}/${x.object.metadata.name}`,
      );
      expect(new Set(ids).size).toBe(ids.length);
      for (const { source, object, text } of m) {
        sources.add(source);
        expect(text.trim()).not.toBe('');
        // what yamllint (helm lint --strict users run it) would flag: blank first lines, trailing spaces
        expect({ source, text }).toEqual({
          source,
          text: text.replace(/^\s*\n/, '').replace(/[ \t]+$/gm, ''),
        });
        expect(object.apiVersion).toMatch(/^([a-z0-9.-]+\/)?v\d+$/);
        expect(object.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
        expect(object.metadata.name.length).toBeLessThanOrEqual(object.kind === 'Service' ? 63 : 253);
        // every field is one the Kubernetes API knows (client-node's models drop the others): catches typos
        if (!object.apiVersion.startsWith('monitoring.coreos.com/'))
          expect(parseYaml(k8s.dumpYaml(k8s.loadYaml(text)))).toEqual(object);
        expect(object.metadata.labels).toMatchObject({
          'app.kubernetes.io/name': 'pachops',
          'app.kubernetes.io/instance': 'pachops',
          'app.kubernetes.io/managed-by': 'Helm',
        });
      }
      expect(renderChart(binary, values, { notes: true }).stdout).toContain('pachops-bot');
    }
    const templates = readdirSync(join(chartDir, 'templates')).filter(
      (f) => !f.startsWith('_') && f !== 'NOTES.txt',
    );
    expect([...sources].sort()).toEqual(templates.map((f) => `pachops/templates/${f}`).sort());
  });
});
