/**
 * test/deploy/helm-render against helm's semantics (pkg/engine): a small chart whose every line depends
 * on one rule — missingkey=zero and "<no value>" dropped, null deleting a default, numbers read through
 * JSON, include, tpl, required, toYaml, fromYaml, lookup with no cluster, .Files, .Capabilities.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRenderer, renderChart } from './helm-render.ts';

const chart = join(import.meta.dirname, 'helm-render/testdata/engine-check');
let binary: string;
beforeAll(() => {
  binary = buildRenderer();
}, 120_000);

test('renders like helm template', () => {
  const run = renderChart(binary, [{ table: { gone: null } }], {
    chart,
    release: 'rel',
    namespace: 'ns',
    apiVersions: ['monitoring.coreos.com/v1'],
  });
  expect(run.stderr).toBe('');
  expect(run.manifests.map((m) => m.source)).toEqual(['engine-check/templates/check.yaml']); // empty document dropped
  expect(run.manifests[0].object).toEqual({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'rel-engine-check' },
    data: {
      missing: '',
      gone: '',
      kept: 'k',
      count: '3',
      countKind: 'float64',
      tpl: 'hello engine-check 9.9',
      toYaml: '- a\n- b',
      fromYaml: '1',
      lookup: '0',
      file: 'from a file',
      hasApps: 'true',
      hasMonitoring: 'true',
      release: 'rel/ns/Helm',
      template: 'engine-check/templates/check.yaml',
    },
  });
  const notes = renderChart(binary, [], { chart, release: 'rel', notes: true });
  expect(notes.stdout.trim()).toBe('notes for rel-engine-check');
});

test("a failing required stops the render with helm's message and location", () => {
  const run = renderChart(binary, [{ fail: true }], { chart });
  expect(run.status).toBe(1);
  expect(run.stdout).toBe('');
  expect(run.stderr).toMatch(
    /^Error: execution error at \(engine-check\/templates\/check\.yaml:\d+:\d+\): absent is required when fail is set\n$/,
  );
});

test("without that API version Capabilities says no; helm lint's Chart.yaml rules apply", () => {
  const run = renderChart(binary, [], { chart });
  expect(run.manifests[0].object.data).toMatchObject({ hasMonitoring: 'false' });
  const dir = mkdtempSync(join(tmpdir(), 'pachops-chart-'));
  try {
    const bad = join(dir, 'engine-check');
    cpSync(chart, bad, { recursive: true });
    const chartYaml = readFileSync(join(bad, 'Chart.yaml'), 'utf8');
    writeFileSync(join(bad, 'Chart.yaml'), chartYaml.replace('version: 1.2.3', 'version: one'));
    const lint = renderChart(binary, [], { chart: bad });
    expect(lint.status).toBe(1);
    expect(lint.stderr).toContain('Chart.yaml: version "one" is not a SemVer 2 version');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
