import { parseConfig } from '../../src/config/load.ts';
import { resolveCluster } from '../../src/config/resolve-cluster.ts';
import { PachopsError } from '../../src/errors.ts';

const cluster = (bucket: string) => `
    kubernetes: { namespace: pachyderm }
    postgres: { host: 127.0.0.1, user: pachyderm }
    objectStore: { bucket: ${bucket}-data }
    backup: { bucket: ${bucket}-backup }
    helm: { release: pachyderm }`;

const config = (clusters: string[]) =>
  parseConfig(
    `
slack: { approvers: [U0ALICE] }
redis: { url: redis://127.0.0.1:6379 }
stateDatabase: { url: postgres://pachops@127.0.0.1:5432/pachops }
clusters:
${clusters.map((name) => `  ${name}:${cluster(name)}`).join('\n')}
`,
    {},
  );

test('the named cluster, or the only one; an unknown name lists the configured ones', () => {
  const two = config(['prod', 'staging']);
  expect(resolveCluster(two, 'staging').name).toBe('staging');
  expect(resolveCluster(config(['prod']), undefined).name).toBe('prod');
  expect(() => resolveCluster(two, undefined)).toThrow('name a cluster: prod, staging');
  for (const unknown of ['qa', 'constructor', 'toString']) {
    let error: unknown;
    try {
      resolveCluster(two, unknown);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PachopsError);
    expect((error as PachopsError).message).toBe(`unknown cluster \`${unknown}\`; configured: prod, staging`);
  }
});
