/**
 * deploy/helm/pachops's modes and options (Ingress, Socket Mode, replicas, ServiceMonitor, the config
 * checksum, helm repositories), the README's example, and what helm lint would check.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { parseConfig, requireSlack } from '../../src/config/load.ts';
import * as o from './chart-objects.ts';
import { chartDir, type Manifest, minimal } from './helm-render.ts';
import { read } from './shipped-code.ts';

const helm = o.useChart();
const render = helm.render;

describe('modes and options', () => {
  test('HTTP mode with an Ingress: /slack/events (exactly) to the Service, nothing else exposed', () => {
    const m = render(minimal, o.withIngress);
    const ingress = o.only<k8s.V1Ingress>(m, 'Ingress', 'pachops').spec!;
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
    const notes = helm.run([minimal, o.withIngress], { notes: true });
    expect(notes.stdout).toContain('https://pachops.example.com/slack/events');
  });

  test('Socket Mode: no Service, no Ingress; the bot gets SLACK_APP_TOKEN, the workers do not', () => {
    const m = render(minimal, o.socketMode);
    expect(o.objects(m, 'Service')).toEqual([]);
    expect(o.objects(m, 'Ingress')).toEqual([]);
    expect(o.envNames(o.container(o.bot(m)))).toContain('SLACK_APP_TOKEN');
    // nothing arrives over HTTP to check: no signing secret (a missing key would stop the pod)
    expect(o.envNames(o.container(o.bot(m)))).not.toContain('SLACK_SIGNING_SECRET');
    expect(o.envNames(o.container(o.worker(m)))).not.toContain('SLACK_APP_TOKEN');
    // the probes still work: src/slack/socket-receiver.ts serves them on PORT in Socket Mode too (its e2e:
    // test/e2e/socket-mode.test.ts), and the loader takes the bot's environment without a signing secret
    expect(o.container(o.bot(m)).livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(o.container(o.bot(m)).readinessProbe?.httpGet?.path).toBe('/readyz');
    const env = { ...o.containerEnv(o.container(o.bot(m))), SLACK_SIGNING_SECRET: undefined };
    const config = parseConfig(toYaml(minimal.config), env, 'values');
    expect(() => requireSlack(config, { receiver: true })).not.toThrow();
  });

  test('worker.replicas: 3 scales the workers only', () => {
    const m = render(minimal, { worker: { replicas: 3 } });
    expect([o.bot(m).spec!.replicas, o.worker(m).spec!.replicas]).toEqual([1, 3]);
  });

  test('a ServiceMonitor scrapes /metrics on the bot port, through a Service even in Socket Mode', () => {
    const m = render(minimal, o.socketMode, { metrics: { serviceMonitor: { enabled: true } } });
    type Monitor = { spec: { endpoints: unknown[]; selector: { matchLabels: object } } };
    const monitor = o.only<Monitor>(m, 'ServiceMonitor', 'pachops');
    expect(monitor.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '30s' }]);
    // a ServiceMonitor selects Services by their own labels
    expect(o.only<k8s.V1Service>(m, 'Service', 'pachops').metadata?.labels).toMatchObject(
      monitor.spec.selector.matchLabels,
    );
  });

  test("a config change rolls the pods (checksum annotation); other values don't", () => {
    const checksum = (m: Manifest[]) => o.bot(m).spec!.template.metadata!.annotations!['checksum/config'];
    const base = checksum(render(minimal));
    expect(checksum(render(minimal, { config: { slack: { approvers: ['U0BOB0001'] } } }))).not.toBe(base);
    expect(checksum(render(minimal, { worker: { replicas: 5 } }))).toBe(base);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });

  test('helm repositories for restores: an init container per repository, without secrets', () => {
    const repos = [{ name: 'pachyderm', url: 'https://helm.pachyderm.com' }];
    const init =
      o.pod(o.worker(render(minimal, { worker: { helmRepositories: repos } }))).initContainers ?? [];
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
  for (const d of [o.bot(m), o.worker(m)]) {
    const keys = (o.container(d).env ?? []).flatMap((e) => e.valueFrom?.secretKeyRef?.key ?? []);
    expect(keys.filter((k) => !envFile.includes(`${k}=`))).toEqual([]);
    const config = o.only<k8s.V1ConfigMap>(m, 'ConfigMap', 'pachops').data!['pachops.yaml'];
    expect(() => parseConfig(config, o.containerEnv(o.container(d)), 'README')).not.toThrow();
  }
});

describe('helm lint, as far as it goes without helm', () => {
  const scenarios = [
    [minimal],
    [minimal, o.withIngress, { rbac: { helmDeploy: true, extraNamespaces: ['lab'] } }],
    [minimal, o.socketMode, { metrics: { serviceMonitor: { enabled: true } } }],
  ];

  test('Chart.yaml: apiVersion v2, the appVersion of package.json (and the tool applied lint rules)', () => {
    const chart = parseYaml(read('deploy/helm/pachops/Chart.yaml'));
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'pachops', type: 'application' });
    expect(chart.appVersion).toBe(JSON.parse(read('package.json')).version);
    expect(parseYaml(read('deploy/helm/pachops/values.yaml'))).toMatchObject({ existingSecret: '' });
    expect(helm.run([minimal], { kubeVersion: '1.19.0' }).status).toBe(0);
    expect(helm.run([minimal], { kubeVersion: '1.18.20' }).stderr).toBe(
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
      expect(helm.run(values, { notes: true }).stdout).toContain('pachops-bot');
    }
    const templates = readdirSync(join(chartDir, 'templates')).filter(
      (f) => !f.startsWith('_') && f !== 'NOTES.txt',
    );
    expect([...sources].sort()).toEqual(templates.map((f) => `pachops/templates/${f}`).sort());
  });
});
