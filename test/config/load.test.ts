import { parseConfig, requireSlack } from '../../src/config/load.ts';

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

test('postgres.dumpCompression: a gzip level or METHOD[:LEVEL]; anything else is named', () => {
  const withCompression = (value: string) =>
    base.replace('host: 127.0.0.1', `host: 127.0.0.1, dumpCompression: ${value}`);
  expect(parseConfig(withCompression('0'), { PG_PW: 's' }).clusters.prod.postgres.dumpCompression).toBe(0);
  expect(parseConfig(withCompression('zstd:3'), { PG_PW: 's' }).clusters.prod.postgres.dumpCompression).toBe(
    'zstd:3',
  );
  expect(parseConfig(base, { PG_PW: 's' }).clusters.prod.postgres.dumpCompression).toBeUndefined();
  expect(parseConfig(withCompression('"6"'), { PG_PW: 's' }).clusters.prod.postgres.dumpCompression).toBe(
    '6',
  );
  for (const good of ['zstd', 'lz4:3', 'zstd:level=19', 'none'])
    expect(parseConfig(withCompression(good), { PG_PW: 's' }).clusters.prod.postgres.dumpCompression).toBe(
      good,
    );
  for (const bad of ['10', '-1', 'brotli', 'none:5', 'gzip:level=x', '"6; rm -rf /"']) {
    expect(() => parseConfig(withCompression(bad), { PG_PW: 's' })).toThrow(
      /clusters\.prod\.postgres\.dumpCompression/,
    );
  }
});

test('the bot needs the signing secret over HTTP, the app-level token instead in Socket Mode', () => {
  const env = (slack: Record<string, string>) => ({ PG_PW: 's', SLACK_BOT_TOKEN: 'xoxb-1', ...slack });
  const bot = (slack: Record<string, string>) =>
    requireSlack(parseConfig(base, env(slack)), { receiver: true });
  expect(bot({ SLACK_SIGNING_SECRET: 'sig' }).signingSecret).toBe('sig');
  expect(() => bot({})).toThrow('SLACK_SIGNING_SECRET is not set (or set SLACK_APP_TOKEN for Socket Mode)');
  expect(bot({ SLACK_APP_TOKEN: 'xapp-1-A' }).signingSecret).toBeUndefined();
  expect(() => bot({ SLACK_APP_TOKEN: 'xoxb-2' })).toThrow(
    'SLACK_APP_TOKEN: an app-level token starts with xapp-',
  );
  // the worker only posts
  expect(requireSlack(parseConfig(base, env({})), { receiver: false }).botToken).toBe('xoxb-1');
  expect(() => requireSlack(parseConfig(base, { PG_PW: 's' }), { receiver: false })).toThrow(
    'SLACK_BOT_TOKEN is not set',
  );
});

describe('backup encryption', () => {
  const withBackup = (backup: string) => base.replace('backup: { bucket: pach-backup }', `backup: ${backup}`);
  const key = Buffer.alloc(32, 7).toString('base64');

  test('sse and kmsKeyId reach the backup target; the objectStore takes neither', () => {
    const config = parseConfig(withBackup('{ bucket: pach-backup, sse: aws:kms, kmsKeyId: key-1 }'), {
      PG_PW: 's',
    });
    expect(config.clusters.prod.backup).toMatchObject({ sse: 'aws:kms', kmsKeyId: 'key-1' });
    expect(() =>
      parseConfig(
        base.replace('objectStore: { bucket: pach-data }', 'objectStore: { bucket: pach-data, sse: AES256 }'),
        {
          PG_PW: 's',
        },
      ),
    ).toThrow(/clusters\.prod\.objectStore: Unrecognized key: "sse"/);
  });

  test('kmsKeyId without sse: aws:kms is refused; aws:kms without a key id is allowed', () => {
    expect(() =>
      parseConfig(withBackup('{ bucket: pach-backup, sse: AES256, kmsKeyId: key-1 }'), { PG_PW: 's' }),
    ).toThrow(/clusters\.prod\.backup\.kmsKeyId: kmsKeyId needs sse: aws:kms/);
    const config = parseConfig(withBackup('{ bucket: pach-backup, sse: aws:kms }'), { PG_PW: 's' });
    expect(config.clusters.prod.backup.kmsKeyId).toBeUndefined();
  });

  test('the dump key comes from keyEnv; a bad one names the variable, never the value', () => {
    const text = withBackup('{ bucket: pach-backup, encryption: { keyEnv: DUMP_KEY } }');
    const config = parseConfig(text, { PG_PW: 's', DUMP_KEY: key });
    expect(config.clusters.prod.backup.dumpKey?.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(config)).not.toContain(key);
    const short = Buffer.alloc(31, 7).toString('base64');
    expect(() => parseConfig(text, { PG_PW: 's', DUMP_KEY: short })).toThrow(
      /^clusters\.prod\.backup\.encryption\.keyEnv: DUMP_KEY holds 31 bytes, not 32/,
    );
    expect(() => parseConfig(text, { PG_PW: 's' })).toThrow(/DUMP_KEY is not set/);
  });
});
