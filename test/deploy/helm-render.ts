/**
 * Renders deploy/helm/pachops with test/deploy/helm-render (Go's text/template + sprig + helm's own
 * functions: the engine helm uses), since helm itself is not installable here. The tool is built once per
 * source hash into node_modules/.cache, with Debian's Go packages in GOPATH mode.
 */

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { root } from './shipped-code.ts';

export const chartDir = join(root, 'deploy/helm/pachops');
const toolDir = join(root, 'test/deploy/helm-render');
const cacheDir = join(root, 'node_modules/.cache/pachops-helm-render');
const DEBIAN_GO = 'golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev';

/** Builds the renderer unless this version of its sources is built already; returns the binary's path. */
export function buildRenderer(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(toolDir)
    .filter((f) => f.endsWith('.go'))
    .sort()) {
    hash.update(file).update(readFileSync(join(toolDir, file)));
  }
  const binary = join(cacheDir, `helm-render-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(binary)) return binary;
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${binary}.${process.pid}`;
  const go = spawnSync('go', ['build', '-o', partial, '.'], {
    cwd: toolDir,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GO111MODULE: 'off',
      GOPATH: '/usr/share/gocode',
      GOCACHE: join(cacheDir, 'go-build'),
    },
  });
  if ((go.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    throw new Error(`go not found: run scripts/ensure-system.sh --tests (Debian: ${DEBIAN_GO})`);
  if (go.status !== 0)
    throw new Error(`building test/deploy/helm-render failed (Debian: ${DEBIAN_GO}):\n${go.stderr}`);
  renameSync(partial, binary); // atomic: a parallel test run sees the whole binary or none
  for (const old of readdirSync(cacheDir).filter((f) => /^helm-render-[0-9a-f]{16}$/.test(f))) {
    if (join(cacheDir, old) !== binary) rmSync(join(cacheDir, old), { force: true }); // earlier sources
  }
  return binary;
}

/** The least a user sets: the Secret's name and a config with the four keys that have no default. */
export const minimal = {
  existingSecret: 'pachops-secrets',
  config: {
    slack: { approvers: ['U0ALICE01'], opsChannels: ['C0OPS0001'] },
    redis: { url: 'redis://redis.pachops.svc:6379' },
    stateDatabase: { url: 'postgres://pachops@db:5432/pachops', passwordEnv: 'PACHOPS_STATE_PG_PASSWORD' },
    clusters: {
      prod: {
        kubernetes: { namespace: 'pachyderm' },
        postgres: { host: 'postgres.pachyderm.svc', user: 'pachyderm', passwordEnv: 'PROD_PG_PASSWORD' },
        objectStore: { bucket: 'pach-data', accessKeyIdEnv: 'S3_KEY', secretAccessKeyEnv: 'S3_SECRET' },
        backup: { bucket: 'pach-backup', accessKeyIdEnv: 'S3_KEY', secretAccessKeyEnv: 'S3_SECRET' },
        helm: { release: 'pachyderm' },
      },
    },
  },
};
export interface Manifest {
  /** `pachops/templates/<file>`, from the `# Source:` line. */
  source: string;
  text: string;
  object: Record<string, unknown> & {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  };
}

export interface Rendered {
  status: number | null;
  stdout: string;
  stderr: string;
  manifests: Manifest[];
}

export interface RenderOptions {
  /** Default deploy/helm/pachops. */
  chart?: string;
  release?: string;
  namespace?: string;
  notes?: boolean;
  apiVersions?: string[];
  /** The cluster's version (default the tool's, 1.30.0). */
  kubeVersion?: string;
}

/** `helm template --lint`-ish: values laid over values.yaml in order (like -f), then the tool's stream parsed. */
export function renderChart(binary: string, values: object[], options: RenderOptions = {}): Rendered {
  const dir = mkdtempSync(join(tmpdir(), 'pachops-helm-values-'));
  try {
    const args = [
      '--lint',
      '--name',
      options.release ?? 'pachops',
      '--namespace',
      options.namespace ?? 'pachyderm',
    ];
    values.forEach((v, i) => {
      const file = join(dir, `values-${i}.yaml`);
      writeFileSync(file, JSON.stringify(v)); // JSON is YAML
      args.push('-f', file);
    });
    for (const version of options.apiVersions ?? []) args.push('--api-versions', version);
    if (options.notes) args.push('--notes');
    if (options.kubeVersion) args.push('--kube-version', options.kubeVersion);
    const run = spawnSync(binary, [...args, options.chart ?? chartDir], { encoding: 'utf8' });
    const manifests = run.status === 0 && !options.notes ? parseStream(run.stdout) : [];
    return { status: run.status, stdout: run.stdout, stderr: run.stderr, manifests };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The `---\n# Source: …\n<document>` stream `helm template` prints. */
function parseStream(stream: string): Manifest[] {
  const parts = stream.split(/^---\n# Source: (.+)\n/m);
  if (parts[0].trim() !== '') throw new Error(`output before the first document: ${parts[0].slice(0, 200)}`);
  const manifests: Manifest[] = [];
  for (let i = 1; i < parts.length; i += 2) {
    const text = parts[i + 1];
    manifests.push({ source: parts[i], text, object: parseYaml(text, { strict: true, uniqueKeys: true }) });
  }
  return manifests;
}
