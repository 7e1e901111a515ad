/**
 * deploy/helm/pachops rendered without helm and without a cluster (test/deploy/helm-render: text/template,
 * sprig and helm's functions), and its objects checked against the code: the config against the real
 * loader, env against what the code reads, probes against what the bot serves, the image's user.
 */
import type * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { parseConfig, requireSlack } from '../../src/config/load.ts';
import * as o from './chart-objects.ts';
import { type Manifest, minimal } from './helm-render.ts';
import { codeEnv, namedSecrets, read } from './shipped-code.ts';

const helm = o.useChart();
const render = helm.render;

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
      [minimal, o.socketMode, o.withIngress],
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
    const run = helm.run(values);
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
      [o.bot(m), o.worker(m)],
      [o.worker(m), o.bot(m)],
    ]) {
      expect(matches(self.spec!.selector.matchLabels, labelsOf(self))).toBe(true);
      expect(matches(self.spec!.selector.matchLabels, labelsOf(other))).toBe(false);
    }
    const service = o.only<k8s.V1Service>(m, 'Service', 'pachops').spec!;
    expect(matches(service.selector, labelsOf(o.bot(m)))).toBe(true);
    expect(matches(service.selector, labelsOf(o.worker(m)))).toBe(false);
    expect(o.container(o.bot(m)).ports?.map((p) => p.name)).toContain(service.ports![0].targetPort);
  });

  test('one image, the processes picked with args (tini stays PID 1), 1 bot and 2 workers', () => {
    for (const d of [o.bot(m), o.worker(m)]) {
      expect(o.container(d).image).toBe(`pachops:${JSON.parse(read('package.json')).version}`);
      expect(o.container(d).command).toBeUndefined();
    }
    expect(o.container(o.bot(m)).args).toEqual(['node', 'src/bot.ts']);
    expect(o.container(o.worker(m)).args).toEqual(['node', 'jobs/worker.ts']);
    expect([o.bot(m).spec!.replicas, o.worker(m).spec!.replicas]).toEqual([1, 2]);
    expect(read('deploy/Dockerfile')).toMatch(/^CMD \["node", "src\/bot\.ts"\]$/m);
  });

  test("the bot's probes ask the paths the bot serves, on the port it listens on", () => {
    const served = [...read('src/slack/health-routes.ts').matchAll(/path: '([^']+)',\s*method: 'GET'/g)].map(
      (x) => x[1],
    );
    const c = o.container(o.bot(m));
    const port = c.ports?.find((p) => p.name === 'http');
    expect(port?.containerPort).toBe(Number(o.containerEnv(c).PORT));
    const probes = [c.livenessProbe, c.readinessProbe, c.startupProbe].map((p) => p?.httpGet);
    expect(probes.map((p) => p?.path)).toEqual(['/healthz', '/readyz', '/healthz']);
    for (const probe of probes) {
      expect(served).toContain(probe?.path);
      expect(probe?.port).toBe('http');
    }
    // the worker serves nothing: no probe that could only ever fail
    expect(o.container(o.worker(m)).livenessProbe).toBeUndefined();
    expect(o.container(o.worker(m)).readinessProbe).toBeUndefined();
  });

  test('env: only what the code reads or the config names; every secret from existingSecret, by key', () => {
    const config = minimal.config;
    const secrets = new Set([
      ...namedSecrets(config),
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
      'SLACK_APP_TOKEN',
    ]);
    for (const d of [o.bot(m), o.worker(m)]) {
      for (const e of o.container(d).env ?? []) {
        expect(codeEnv.has(e.name) || namedSecrets(config).includes(e.name)).toBe(true);
        if (secrets.has(e.name))
          expect(e).toEqual({
            name: e.name,
            valueFrom: { secretKeyRef: { name: 'pachops-secrets', key: e.name } },
          });
      }
    }
    expect(o.envNames(o.container(o.bot(m)))).toEqual(
      expect.arrayContaining([
        'PACHOPS_CONFIG',
        'PORT',
        'SLACK_BOT_TOKEN',
        'SLACK_SIGNING_SECRET',
        ...namedSecrets(config),
      ]),
    );
    expect(o.envNames(o.container(o.worker(m)))).toEqual(
      expect.arrayContaining(['PACHOPS_CONFIG', 'SLACK_BOT_TOKEN', ...namedSecrets(config)]),
    );
    // least privilege: the worker does not verify Slack requests
    expect(o.envNames(o.container(o.worker(m)))).not.toContain('SLACK_SIGNING_SECRET');
    expect(o.envNames(o.container(o.bot(m)))).not.toContain('SLACK_APP_TOKEN');
  });

  test("the mounted pachops.yaml passes the real loader with each container's environment", () => {
    const configMap = o.only<k8s.V1ConfigMap>(m, 'ConfigMap', 'pachops');
    for (const d of [o.bot(m), o.worker(m)]) {
      const c = o.container(d);
      const path = o.containerEnv(c).PACHOPS_CONFIG;
      const mount = c.volumeMounts!.find((v) => path.startsWith(`${v.mountPath}/`))!;
      const volume = o.pod(d).volumes!.find((v) => v.name === mount.name)!;
      expect(volume.configMap?.name).toBe(configMap.metadata!.name);
      const text = configMap.data![path.slice(mount.mountPath.length + 1)];
      const config = parseConfig(text, o.containerEnv(c), 'the ConfigMap');
      expect(config.clusters.prod.postgres.password).toBe('placeholder');
      expect(() => requireSlack(config, { receiver: d === o.bot(m) })).not.toThrow();
      expect(parseYaml(text)).toMatchObject(minimal.config);
    }
  });

  test("non-root as the image's user, read-only root, no capabilities, a writable /tmp", () => {
    const [, uid, gid] = /^USER (\d+):(\d+)$/m.exec(read('deploy/Dockerfile'))!;
    for (const d of [o.bot(m), o.worker(m)]) {
      expect(o.pod(d).securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: Number(uid),
        runAsGroup: Number(gid),
      });
      expect(o.container(d).securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      const tmp = o.container(d).volumeMounts!.find((v) => v.mountPath === '/tmp')!;
      expect(o.pod(d).volumes!.find((v) => v.name === tmp.name)).toEqual({
        name: tmp.name,
        emptyDir: {},
      });
      expect(o.container(d).resources?.requests).toEqual({
        cpu: expect.any(String),
        memory: expect.any(String),
      });
      expect(o.container(d).resources?.limits?.memory).toEqual(expect.any(String));
    }
    expect(read('src/cluster/helm.ts')).toContain('tmpdir()'); // why /tmp must be writable
  });

  test('only the workers get an API token; the bot never calls Kubernetes', () => {
    expect(o.pod(o.bot(m)).automountServiceAccountToken).toBe(false);
    expect(o.pod(o.worker(m)).automountServiceAccountToken).toBe(true);
    for (const d of [o.bot(m), o.worker(m)]) expect(o.pod(d).serviceAccountName).toBe('pachops');
    expect(read('src/bot.ts')).not.toMatch(/cluster\/kube|createServiceCache/);
  });
});
