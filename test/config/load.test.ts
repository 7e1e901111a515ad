import { parseConfig } from '../../src/config/load.ts';

const base = `
slack: { approvers: [U0ALICE] }
redis: { url: redis://127.0.0.1:6379 }
stateDatabase: { url: postgres://pachops@127.0.0.1:5432/pachops }
clusters:
  prod:
    kubernetes: { namespace: pachyderm }
    postgres: { host: 127.0.0.1, user: pachyderm, passwordEnv: PG_PW }
    objectStore: { bucket: pach-data }
    backup: { bucket: pach-backup }
    helm: { release: pachyderm }
`;

test('a minimal file parses with defaults', () => {
  const config = parseConfig(base, { PG_PW: 'secret' });
  expect(config.clusters.prod.postgres.databases).toEqual(['pachyderm', 'dex']);
  expect(config.clusters.prod.postgres.password).toBe('secret');
});

test('a bad key is named', () => {
  expect(() =>
    parseConfig(base.replace('host: 127.0.0.1', 'host: 127.0.0.1, port: "x"'), { PG_PW: 's' }),
  ).toThrow(/clusters\.prod\.postgres\.port/);
});
