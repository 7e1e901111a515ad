/**
 * src/log.ts: what a log line may never hold. Fields named like secrets at any depth, errors whose
 * message or fields carry a connection string or credentials, the configuration's secret values
 * anywhere in a line (message included), Slack tokens and libpq keyword passwords in free text.
 */
import { Writable } from 'node:stream';
import { parseConfig } from '../src/config/load.ts';
import { configSecrets } from '../src/config/secrets.ts';
import { PachopsError } from '../src/errors.ts';
import { createLogger, withLogContext } from '../src/log.ts';

/** A line as read back: free-form fields, with `err` serialised to strings and fields. */
type LogLine = Record<string, unknown> & { msg: string; err: Record<string, string> };

function capture(secrets: string[] = []) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const log = createLogger({ name: 'test', level: 'debug', destination, secrets });
  return { log, lines, parsed: () => lines.map((l) => JSON.parse(l) as LogLine) };
}

describe('secret-named fields', () => {
  test('are censored at any depth, in arrays and in child bindings; their names are not', () => {
    const { log, lines, parsed } = capture();
    log.child({ operationId: 'op-1', phase: 'dump', token: 'child-token-1' }).info(
      {
        password: 'pw-top-1',
        db: { host: 'db', password: 'pw-nested-2', passwordEnv: 'PACH_PG_PASSWORD' },
        s3: { credentials: { accessKeyId: 'AKIA1', secretAccessKey: 'sk-3' } },
        deep: { a: { b: { c: { d: { secret: 'deep-secret-4', kept: 'visible' } } } } },
        headers: { Authorization: 'Bearer bearer-5' },
        list: [{ apiKey: 'api-key-6' }, { signing_secret: 'signing-7' }],
        env: { PGPASSWORD: 'pgpw-8', PGHOST: 'db' },
      },
      'connecting',
    );
    const [line] = parsed();
    expect(line).toMatchObject({
      operationId: 'op-1',
      phase: 'dump',
      token: '[redacted]',
      password: '[redacted]',
      db: { host: 'db', password: '[redacted]', passwordEnv: 'PACH_PG_PASSWORD' },
      s3: { credentials: '[redacted]' },
      deep: { a: { b: { c: { d: { secret: '[redacted]', kept: 'visible' } } } } },
      headers: { Authorization: '[redacted]' },
      list: [{ apiKey: '[redacted]' }, { signing_secret: '[redacted]' }],
      env: { PGPASSWORD: '[redacted]', PGHOST: 'db' },
      msg: 'connecting',
    });
    for (const secret of [
      'child-token-1',
      'pw-',
      'sk-3',
      'deep-secret',
      'bearer-5',
      'api-key',
      'signing-7',
      'pgpw',
    ])
      expect(lines[0]).not.toContain(secret);
  });
});

describe('errors', () => {
  test('a connection string with a password in the message, the stack and a cause is masked', () => {
    const { log, lines, parsed } = capture();
    const pgError = new Error(
      'connect ECONNREFUSED for postgres://pachops:hunter2-pw@db.internal:5432/pachops',
    );
    const wrapped = new PachopsError('POSTGRES_FAILED', 'PostgreSQL: connect to pachops: failed', {
      cause: pgError,
    });
    log.child({ operationId: 'op-2', phase: 'dump' }).error({ err: wrapped }, 'phase failed');
    log.warn(pgError);
    expect(lines.join('\n')).not.toContain('hunter2-pw');
    const [first, second] = parsed();
    expect(first.err.type).toBe('PachopsError');
    expect(first.err.code).toBe('POSTGRES_FAILED');
    expect(first.err.message).toContain('postgres://pachops:[redacted]@db.internal:5432/pachops');
    expect(first.err.stack).toContain('[redacted]@db.internal');
    // An error logged on its own: its message becomes the line's message, masked too.
    expect(second.msg).toContain('postgres://pachops:[redacted]@db.internal');
    expect(second.err.type).toBe('Error');
  });

  test("Node's own URL error keeps the whole URL in a field of its own: the password is masked there", () => {
    const { log, lines, parsed } = capture();
    let thrown: unknown;
    try {
      new URL('postgres://pachops:url-pw-42@db.internal:notaport/pachops');
    } catch (error) {
      thrown = error;
    }
    log.error({ err: thrown }, 'bad state database URL');
    expect(lines[0]).not.toContain('url-pw-42');
    expect(parsed()[0].err).toMatchObject({
      code: 'ERR_INVALID_URL',
      input: 'postgres://pachops:[redacted]@db.internal:notaport/pachops',
    });
  });

  test("an SDK-style error's own fields (request config, credentials) are censored", () => {
    const { log, lines, parsed } = capture();
    const error = Object.assign(new Error('The request signature we calculated does not match'), {
      Code: 'SignatureDoesNotMatch',
      config: { credentials: { accessKeyId: 'AKIAXYZ', secretAccessKey: 'wJalr-secret' }, region: 'x' },
      request: { headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIAXYZ/…, Signature=abc' } },
    });
    log.error({ err: error }, 'S3 failed');
    expect(lines[0]).not.toContain('wJalr-secret');
    expect(lines[0]).not.toContain('Signature=abc');
    expect(parsed()[0].err).toMatchObject({ Code: 'SignatureDoesNotMatch', config: { region: 'x' } });
  });
});

describe("the configuration's secret values", () => {
  const env = {
    SLACK_BOT_TOKEN: 'xoxb-1-2-bot-token-abcdef',
    SLACK_SIGNING_SECRET: 'sign-secret-0a1b2c',
    PG_PW: 'cluster pw/with:chars',
    STATE_PW: 'state-db-pw-77',
    S3_KEY: 'AKIA-key-id',
    S3_SECRET: 's3-secret-key-99',
  };
  const yaml = `
slack: { approvers: [U0ALICE] }
redis: { url: "redis://:redis-pw-55@127.0.0.1:6379" }
stateDatabase: { url: "postgres://pachops@127.0.0.1/pachops", passwordEnv: STATE_PW }
clusters:
  prod:
    kubernetes: { namespace: pachyderm }
    postgres: { host: db, user: pachyderm, passwordEnv: PG_PW }
    objectStore: { bucket: pach-data, accessKeyIdEnv: S3_KEY, secretAccessKeyEnv: S3_SECRET }
    backup: { bucket: pach-backup, accessKeyIdEnv: S3_KEY, secretAccessKeyEnv: S3_SECRET }
    helm: { release: pachyderm }
`;

  test('are masked wherever they turn up: message, free-text fields, encoded in a URL', () => {
    const config = parseConfig(yaml, env);
    const secrets = configSecrets(config);
    expect(secrets).toEqual(
      expect.arrayContaining([...Object.values(env).filter((v) => v !== env.S3_KEY), 'redis-pw-55']),
    );
    const { log, lines } = capture(secrets);
    log.info(`state database at ${config.stateDatabase.url}`);
    log.warn({ note: `pg said: password "${env.PG_PW}" rejected`, stderr: `S3 ${env.S3_SECRET}` }, 'odd');
    log.error(new Error(`slack refused ${env.SLACK_BOT_TOKEN} signed with ${env.SLACK_SIGNING_SECRET}`));
    log.info({ url: `https://x/?k=${encodeURIComponent(env.PG_PW)}` }, 'encoded');
    const text = lines.join('\n');
    for (const secret of [...Object.values(env), 'redis-pw-55', encodeURIComponent(env.PG_PW)])
      expect({ secret, found: text.includes(secret) }).toEqual({ secret, found: false });
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  test('Slack tokens and libpq keyword passwords are masked even when not configured', () => {
    const { log, lines } = capture();
    log.info('token xoxb-123456789-987654321-AbCdEfGhIjKl and app token xapp-1-A0-123-abcdef0123');
    log.info({ conninfo: 'host=db port=5432 user=pachyderm password=libpq-pw-1 sslmode=require' }, 'dsn');
    expect(lines.join('\n')).not.toMatch(/AbCdEfGhIjKl|abcdef0123|libpq-pw-1/);
    expect(lines[1]).toContain('host=db port=5432 user=pachyderm password=[redacted] sslmode=require');
  });
});

describe('withLogContext', () => {
  test("puts the job's fields on every line written within it, by any logger of the root, never twice", async () => {
    const { log, lines, parsed } = capture();
    const shared = log; // a reporter or announcer holds the root logger
    await withLogContext(log, { operationId: 'op-9', phase: 'mirror' }, async () => {
      shared.info('posted progress');
      log.child({ operationId: 'op-9', phase: 'mirror', attempt: 1 }).info('phase started');
      await new Promise((resolve) => setTimeout(resolve, 5));
      shared.warn({ phase: 'explicit' }, 'a field given wins');
    });
    log.info('worker stopped');
    expect(parsed().map((l) => [l.msg, l.operationId, l.phase])).toEqual([
      ['posted progress', 'op-9', 'mirror'],
      ['phase started', 'op-9', 'mirror'],
      ['a field given wins', 'op-9', 'explicit'],
      ['worker stopped', undefined, undefined],
    ]);
    expect(lines[1]!.match(/"operationId"/g)).toHaveLength(1);
  });
});
