/** src/cluster/helm-values.ts: pointing saved Helm values at the restore targets, refusals, masked diffs. */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  collectSecrets,
  formatValuesDiff,
  MASK,
  maskSecrets,
  type RestoreTargets,
  replaceStorageUrlBucket,
  rewriteHelmValues,
  type ValueChange,
} from '../../src/cluster/helm-values.ts';
import { PachopsError } from '../../src/errors.ts';

type Tree = Record<string, unknown>;

const fixture = new URL('./fixtures/helm-values-2.11.yaml', import.meta.url);
const prodValues = () => parse(readFileSync(fixture, 'utf8')) as Tree;

const targets: RestoreTargets = {
  postgres: {
    host: 'pg-restore.db.internal',
    port: 6432,
    database: 'pachyderm_restored_20261124',
    dexDatabase: 'dex_restored_20261124',
  },
  bucket: { name: 'pach-restored-20261124' },
};

/** A minimal valid tree for older charts: external database, a backend, optional storage keys. */
function values(storage: Tree, extra: Tree = {}): Tree {
  return {
    postgresql: { enabled: false },
    global: { postgresql: { postgresqlHost: 'pg.internal', postgresqlPassword: 'hunter2-hunter2' } },
    pachd: { storage, replicas: 1 },
    ...extra,
  };
}

/** Puts each change's `before` back: what is left must be the input, key for key. */
function undo(result: Tree, changes: ValueChange[]): Tree {
  const copy = structuredClone(result);
  for (const c of changes) {
    const path = c.path.split('.');
    let node = copy;
    for (const key of path.slice(0, -1)) node = node[key] as Tree;
    if (c.before === undefined) delete node[path.at(-1) as string];
    else node[path.at(-1) as string] = c.before;
  }
  return copy;
}

function refusal(run: () => unknown): PachopsError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PachopsError);
    expect((error as PachopsError).permanent).toBe(true);
    return error as PachopsError;
  }
  throw new Error('expected a refusal');
}

test('chart 2.11: database, port (as a string), dex and the storageURL bucket change; nothing else', () => {
  const original = prodValues();
  const snapshot = structuredClone(original);
  const { values: out, changes } = rewriteHelmValues(original, targets, { version: '2.11.6' });
  expect(changes).toEqual([
    {
      path: 'global.postgresql.postgresqlHost',
      before: 'pg-prod.db.internal',
      after: 'pg-restore.db.internal',
    },
    { path: 'global.postgresql.postgresqlPort', before: '5432', after: '6432' },
    {
      path: 'global.postgresql.postgresqlDatabase',
      before: 'pachyderm',
      after: 'pachyderm_restored_20261124',
    },
    {
      path: 'global.postgresql.identityDatabaseFullNameOverride',
      before: '',
      after: 'dex_restored_20261124',
    },
    {
      path: 'pachd.storage.storageURL',
      before: 's3://pach-data?endpoint=http://rgw.storage.internal:7480&region=us-east-1&disableSSL=true',
      after:
        's3://pach-restored-20261124?endpoint=http://rgw.storage.internal:7480&region=us-east-1&disableSSL=true',
    },
  ]);
  expect(original).toEqual(snapshot); // the input is not touched
  expect(undo(out, changes)).toEqual(snapshot); // and every other key survives as it was
  expect(JSON.stringify(Object.keys(out))).toBe(JSON.stringify(Object.keys(snapshot)));
});

test('values already pointing at a target are not changes; a numeric port compares as a string', () => {
  const v = values({ backend: 'AMAZON', storageURL: 's3://pach-restored-20261124' }, {});
  const pg = (v.global as Tree).postgresql as Tree;
  Object.assign(pg, {
    postgresqlHost: targets.postgres.host,
    postgresqlPort: 6432,
    postgresqlDatabase: 'pachyderm_restored_20261124',
  });
  const same = { ...targets, postgres: { ...targets.postgres, dexDatabase: 'dex' } };
  expect(rewriteHelmValues(v, same, { version: '2.11.0' }).changes).toEqual([]);
  // the port absent means the chart's "5432"
  delete pg.postgresqlPort;
  const { changes } = rewriteHelmValues(
    v,
    { ...same, postgres: { ...same.postgres, port: 5432 } },
    { version: '2.11.0' },
  );
  expect(changes).toEqual([]);
});

test.each([
  [
    's3://old?endpoint=http://rgw:7480&region=us-east-1',
    's3://new-b?endpoint=http://rgw:7480&region=us-east-1',
  ],
  ['gs://old', 'gs://new-b'],
  ['gcs://old/some/path', 'gcs://new-b/some/path'],
  ['azblob://old?protocol=https', 'azblob://new-b?protocol=https'],
  ['wasb://old@account.blob.core.windows.net/dir', 'wasb://new-b@account.blob.core.windows.net/dir'],
])('storageURL %s → %s', (before, after) => {
  expect(replaceStorageUrlBucket(before, 'new-b')).toBe(after);
});

test('older charts: the provider key of the backend in use, created when absent', () => {
  const cases: [Tree, string, string][] = [
    [
      values({ amazon: { bucket: 'old', region: 'us-east-1' } }, { deployTarget: 'AMAZON' }),
      '2.8.10',
      'pachd.storage.amazon.bucket',
    ],
    [values({}, { deployTarget: 'GOOGLE' }), '2.8.10', 'pachd.storage.google.bucket'],
    [
      values({ microsoft: { container: 'old', id: 'acct' } }, { deployTarget: 'MICROSOFT' }),
      '2.5.0',
      'pachd.storage.microsoft.container',
    ],
    [
      values(
        { backend: 'MINIO', minio: { bucket: 'old', endpoint: 'minio:9000' } },
        { deployTarget: 'CUSTOM' },
      ),
      '2.8.0',
      'pachd.storage.minio.bucket',
    ],
    // 2.9 and 2.10 without a storageURL still read the provider key
    [
      values({ amazon: { bucket: 'old' } }, { deployTarget: 'AMAZON' }),
      '2.10.7',
      'pachd.storage.amazon.bucket',
    ],
  ];
  for (const [input, version, path] of cases) {
    const { values: out, changes } = rewriteHelmValues(input, targets, { version });
    const bucketChanges = changes.filter((c) => c.path.startsWith('pachd.'));
    expect(bucketChanges).toEqual([
      { path, before: path.endsWith('google.bucket') ? undefined : 'old', after: targets.bucket.name },
    ]);
    if (path.endsWith('google.bucket'))
      expect(((out.pachd as Tree).storage as Tree).google).toEqual({ bucket: targets.bucket.name });
    else expect(undo(out, changes)).toEqual(input);
  }
});

test('2.9/2.10 with a storageURL rewrite it, and the provider key only when it is set', () => {
  const withUrl = values(
    { gocdkEnabled: true, storageURL: 'gs://old', google: { cred: '{"private_key":"x"}' } },
    { deployTarget: 'GOOGLE' },
  );
  const paths = (v: Tree, version: string) =>
    rewriteHelmValues(v, targets, { version }).changes.map((c) => c.path);
  expect(paths(withUrl, '2.9.7').filter((p) => p.startsWith('pachd'))).toEqual(['pachd.storage.storageURL']);
  ((withUrl.pachd as Tree).storage as Tree).google = { bucket: 'old' };
  expect(paths(withUrl, '2.10.0').filter((p) => p.startsWith('pachd'))).toEqual([
    'pachd.storage.storageURL',
    'pachd.storage.google.bucket',
  ]);
});

test('2.11 keeps a set provider key in step; other providers’ keys are left alone', () => {
  const v = values(
    { backend: 'AMAZON', storageURL: 's3://old', amazon: { bucket: 'old' }, minio: { bucket: 'stale' } },
    { deployTarget: 'AMAZON' },
  );
  const { values: out, changes } = rewriteHelmValues(v, targets, { version: 'v2.11.0-rc.1' });
  expect(changes.map((c) => c.path).filter((p) => p.startsWith('pachd'))).toEqual([
    'pachd.storage.storageURL',
    'pachd.storage.amazon.bucket',
  ]);
  expect(((out.pachd as Tree).storage as Tree).minio).toEqual({ bucket: 'stale' });
});

test('refusals: bundled PostgreSQL, no host, Cloud SQL proxy, LOCAL storage, no bucket, odd URLs and versions', () => {
  const good = () => values({ storageURL: 's3://old' }, { deployTarget: 'AMAZON' });
  const bundled = refusal(() =>
    rewriteHelmValues({ ...good(), postgresql: undefined }, targets, { version: '2.11.6' }),
  );
  expect(bundled.code).toBe('HELM_VALUES_BUNDLED_POSTGRES');
  expect(bundled.message).toMatch(/bundled PostgreSQL \(postgresql\.enabled is not false\)/);
  expect(bundled.hint).toMatch(/external PostgreSQL/);
  expect(
    refusal(() =>
      rewriteHelmValues({ ...good(), postgresql: { enabled: true } }, targets, { version: '2.11.6' }),
    ).code,
  ).toBe('HELM_VALUES_BUNDLED_POSTGRES');
  expect(
    refusal(() => rewriteHelmValues({ ...good(), global: {} }, targets, { version: '2.11.6' })).code,
  ).toBe('HELM_VALUES_NO_DATABASE_HOST');
  expect(
    refusal(() =>
      rewriteHelmValues({ ...good(), cloudsqlAuthProxy: { enabled: true } }, targets, { version: '2.11.6' }),
    ).code,
  ).toBe('HELM_VALUES_CLOUDSQL_PROXY');
  expect(
    refusal(() => rewriteHelmValues({ ...good(), deployTarget: 'LOCAL' }, targets, { version: '2.8.1' }))
      .code,
  ).toBe('HELM_VALUES_LOCAL_STORAGE');
  const noUrl = values({ amazon: { bucket: 'old' } }, { deployTarget: 'AMAZON' });
  expect(refusal(() => rewriteHelmValues(noUrl, targets, { version: '2.11.6' })).message).toMatch(
    /requires pachd\.storage\.storageURL/,
  );
  expect(
    refusal(() => rewriteHelmValues(values({}, { deployTarget: 'CUSTOM' }), targets, { version: '2.8.0' }))
      .code,
  ).toBe('HELM_VALUES_NO_BUCKET');
  const fileUrl = values({ storageURL: 'file:///data' }, { deployTarget: 'AMAZON' });
  expect(refusal(() => rewriteHelmValues(fileUrl, targets, { version: '2.11.6' })).code).toBe(
    'HELM_VALUES_STORAGE_URL',
  );
  for (const version of ['1.13.4', 'latest', ''])
    expect(refusal(() => rewriteHelmValues(good(), targets, { version })).code).toBe(
      'HELM_VALUES_CHART_VERSION',
    );
  const badBucket = { ...targets, bucket: { name: 'a/b?c' } };
  expect(refusal(() => rewriteHelmValues(good(), badBucket, { version: '2.11.6' })).message).toMatch(
    /^restore target bucket\.name/,
  );
  const badPort = { ...targets, postgres: { ...targets.postgres, port: 0 } };
  expect(refusal(() => rewriteHelmValues(good(), badPort, { version: '2.11.6' })).code).toBe(
    'HELM_VALUES_BAD_TARGET',
  );
});

test('maskSecrets: secret paths, provider ids, nested objects, env entries, PEM blocks and URL passwords', () => {
  expect(maskSecrets('Pg-Pr0d', 'global.postgresql.postgresqlPassword')).toBe(MASK);
  expect(maskSecrets('AKIA1', 'pachd.storage.amazon.id')).toBe(MASK);
  expect(maskSecrets('acct', ['pachd', 'storage', 'microsoft', 'id'])).toBe(MASK);
  expect(maskSecrets('okta', 'oidc.upstreamIDPs.0.id')).toBe('okta');
  expect(maskSecrets('us-east-1', 'pachd.storage.amazon.region')).toBe('us-east-1');
  expect(maskSecrets('pachd-tls', 'pachd.tls.secretName')).toBe('pachd-tls');
  expect(maskSecrets('', 'pachd.rootToken')).toBe('');
  expect(maskSecrets(false, 'global.customCaCerts')).toBe(false);
  expect(maskSecrets('dedicated', 'pachd.tolerations.0.key')).toBe('dedicated');
  expect(maskSecrets('-----BEGIN', 'enterpriseServer.tls.newSecret.key')).toBe(MASK);
  expect(maskSecrets({ crt: 'C', key: 'K', create: true }, 'proxy.tls.newSecret')).toEqual({
    crt: MASK,
    key: MASK,
    create: true,
  });
  expect(
    maskSecrets({ amazon: { id: 'AK', secret: 'S', token: 'T', region: 'r', bucket: 'b' } }, 'pachd.storage'),
  ).toEqual({
    amazon: { id: MASK, secret: MASK, token: MASK, region: 'r', bucket: 'b' },
  });
  expect(
    maskSecrets(
      [
        { name: 'AWS_SECRET_ACCESS_KEY', value: 'x1' },
        { name: 'REGION', value: 'r' },
      ],
      'pachd.extraEnv',
    ),
  ).toEqual([
    { name: 'AWS_SECRET_ACCESS_KEY', value: MASK },
    { name: 'REGION', value: 'r' },
  ]);
  expect(maskSecrets('a\n-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\nb', 'some.note')).toBe(
    `a\n${MASK}\nb`,
  );
  expect(maskSecrets('postgres://u:pw123@h:5432/db', 'some.url')).toBe(`postgres://u:${MASK}@h:5432/db`);
  expect(maskSecrets('{"clientID":"c","clientSecret":"okta-1"}', 'oidc.upstreamIDPs.0.jsonConfig')).toBe(
    `{"clientID":"c","clientSecret":${MASK}}`,
  );
});

test('formatValuesDiff prints one line per change and never a secret of the values', () => {
  const original = prodValues();
  const { values: out, changes } = rewriteHelmValues(original, targets, { version: '2.11.6' });
  const lines = formatValuesDiff(changes, out);
  expect(lines).toEqual([
    'global.postgresql.postgresqlHost: pg-prod.db.internal → pg-restore.db.internal',
    'global.postgresql.postgresqlPort: 5432 → 6432',
    'global.postgresql.postgresqlDatabase: pachyderm → pachyderm_restored_20261124',
    'global.postgresql.identityDatabaseFullNameOverride: "" → dex_restored_20261124',
    'pachd.storage.storageURL: s3://pach-data?endpoint=http://rgw.storage.internal:7480&region=us-east-1&disableSSL=true → ' +
      's3://pach-restored-20261124?endpoint=http://rgw.storage.internal:7480&region=us-east-1&disableSSL=true',
  ]);
  const secrets = collectSecrets(original);
  expect(secrets).toEqual(
    expect.arrayContaining([
      'Pg-Pr0d-pa55word-7731',
      'AKIAPRODEXAMPLE00001',
      'wJalrXUtnFEMI-prod-secret-key-0001',
      'root-token-1234567890abcdef',
    ]),
  );
  expect(secrets).not.toContain('dedicated'); // a toleration's key is no secret
  // changes at paths that are not secret but carry secrets: whole subtrees, or a secret pasted elsewhere
  const awkward: ValueChange[] = [
    { path: 'pachd.storage', before: (original.pachd as Tree).storage, after: undefined },
    {
      path: 'global.postgresql.postgresqlPassword',
      before: 'Pg-Pr0d-pa55word-7731',
      after: 'new-pa55word-0000',
    },
    {
      path: 'console.config.note',
      before: undefined,
      after: 'rotated wJalrXUtnFEMI-prod-secret-key-0001 today',
    },
    { path: 'oidc.upstreamIDPs', before: (original.oidc as Tree).upstreamIDPs, after: [] },
  ];
  const text = [...lines, ...formatValuesDiff(awkward, original)].join('\n');
  for (const secret of [...secrets, 'new-pa55word-0000', 'okta-client-53cr3t-998'])
    expect(text).not.toContain(secret);
  expect(formatValuesDiff(awkward, original)[1]).toBe(
    `global.postgresql.postgresqlPassword: ${MASK} → ${MASK}`,
  );
  expect(formatValuesDiff(awkward, original)[2]).toBe(`console.config.note: (unset) → rotated ${MASK} today`);
});
