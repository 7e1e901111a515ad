/**
 * deploy/prometheus-rules.yaml against the registry /metrics serves: a well-formed PrometheusRule whose
 * expressions use only metrics (and labels) that pachops exposes, and whose backup-age alert reads the
 * last complete backup's timestamp.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { EMPTY_AGGREGATES } from '../../src/metrics/aggregates.ts';
import { createMetricsRegistry } from '../../src/metrics/registry.ts';
import { parseExposition } from '../harness/prom-text.ts';

const RuleFile = z.object({
  apiVersion: z.literal('monitoring.coreos.com/v1'),
  kind: z.literal('PrometheusRule'),
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    groups: z
      .array(
        z.object({
          name: z.string(),
          rules: z
            .array(
              z.strictObject({
                alert: z.string().regex(/^[A-Z][A-Za-z]+$/),
                expr: z.string().min(1),
                for: z.string().regex(/^\d+[smh]$/),
                labels: z.object({ severity: z.enum(['critical', 'warning']) }),
                annotations: z.object({ summary: z.string(), description: z.string() }),
              }),
            )
            .min(1),
        }),
      )
      .min(1),
  }),
});

const file = RuleFile.parse(
  parseYaml(readFileSync(new URL('../../deploy/prometheus-rules.yaml', import.meta.url), 'utf8')),
);
const rules = file.spec.groups.flatMap((g) => g.rules);

async function exposed() {
  const registry = createMetricsRegistry({ read: async () => EMPTY_AGGREGATES, clusters: ['prod'] });
  return parseExposition(await registry.metrics());
}

test('every metric a rule reads is one /metrics exposes, with the labels it uses', async () => {
  const metrics = await exposed();
  const families = [...metrics.types.keys()];
  const suffixes = (name: string) => [name, `${name}_bucket`, `${name}_sum`, `${name}_count`];
  for (const rule of rules) {
    const used = rule.expr.match(/\bpachops_[a-z0-9_]+/g) ?? [];
    expect({ alert: rule.alert, reads: used.length > 0 }).toEqual({ alert: rule.alert, reads: true });
    for (const name of used)
      expect({ alert: rule.alert, name, exposed: families.some((f) => suffixes(f).includes(name)) }).toEqual({
        alert: rule.alert,
        name,
        exposed: true,
      });
    // `by (…)` and `{label="…"}` name labels that the series carry (cluster, kind, status).
    const labels = [...rule.expr.matchAll(/by \(([^)]*)\)|\{(\w+)=/g)].flatMap((m) =>
      (m[1] ?? m[2]!).split(',').map((l) => l.trim()),
    );
    for (const label of labels)
      expect({ label, known: ['cluster', 'kind', 'status'].includes(label) }).toEqual({ label, known: true });
  }
});

test("the backup-age alert fires on the last complete backup's age, and for clusters never backed up", async () => {
  const age = rules.find((r) => r.alert === 'PachydermBackupTooOld')!;
  expect(age.expr).toMatch(
    /^time\(\) - max by \(cluster\) \(pachops_last_complete_backup_timestamp_seconds\) > 26 \* 3600$/,
  );
  const metrics = await exposed();
  // A configured cluster without a backup reads 0: its age is always over the threshold.
  expect(metrics.value('pachops_last_complete_backup_timestamp_seconds', { cluster: 'prod' })).toBe(0);
  expect(metrics.types.get('pachops_last_complete_backup_timestamp_seconds')).toBe('gauge');
});
