/**
 * The deploy files are for users and no Docker engine runs here, so they are checked against the code:
 * the configs with the real parser, env vars against what the code reads, compose wiring against the
 * config, scopes against the Slack calls made, the Dockerfile against what the phases execute.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { parseConfig } from '../../src/config/load.ts';
import { ConfigSchema } from '../../src/config/schema.ts';
import { USAGE } from '../../src/slack/commands/parse.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
type Tree = Record<string, unknown>;
const yamlFile = (path: string) => parseYaml(read(path), { merge: true }) as Tree;
const tree = (value: unknown) => (value ?? {}) as Tree;

/** Every `…Env` value in a config: the secret variables it names. */
function namedSecrets(value: unknown): string[] {
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) =>
    key.endsWith('Env') && typeof v === 'string' ? [v] : namedSecrets(v),
  );
}
/** A stand-in value for each: 32 bytes in base64 fits every kind, the dump key (`encryption.keyEnv`) too. */
const SECRET = Buffer.alloc(32, 1).toString('base64');
const withSecrets = (config: unknown) => Object.fromEntries(namedSecrets(config).map((n) => [n, SECRET]));

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}
const shipped = [...sourceFiles('src'), ...sourceFiles('jobs')];

/** Variables the shipped code reads (`env.X`, `env['X']`; assignments excluded). */
const codeEnv = new Set(
  shipped.flatMap((file) =>
    [...read(file).matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])(?!\s*=[^=])/g)].map(
      (m) => m[1] ?? m[2],
    ),
  ),
);
/** Read by a library rather than by pachops' code. */
const libraryEnv: Record<string, string> = {};

describe('deploy/pachops.example.yaml', () => {
  const text = read('deploy/pachops.example.yaml');
  const example = parseYaml(text) as Tree;

  test('is valid for the real loader, given the secrets it names', () => {
    const config = parseConfig(text, withSecrets(example), 'deploy/pachops.example.yaml');
    expect(Object.keys(config.clusters).length).toBeGreaterThan(0);
  });

  test('shows every key of the schema', () => {
    const has = (value: unknown, path: string[]): boolean => {
      if (!path.length) return true;
      if (!value || typeof value !== 'object') return false;
      const [head, ...rest] = path;
      const children = head === '*' ? Object.values(value) : head in value ? [tree(value)[head]] : [];
      return children.some((child) => has(child, rest));
    };
    expect(schemaKeys(ConfigSchema).filter((key) => !has(example, key.split('.')))).toEqual([]);
  });
});

/** Dotted key paths of a zod schema; `*` stands for any key of a record. */
function schemaKeys(schema: z.core.$ZodType, prefix = ''): string[] {
  const def = schema._zod.def as unknown as { type: string } & Record<string, unknown>;
  const inner = (key: string) => def[key] as z.core.$ZodType;
  switch (def.type) {
    case 'default':
    case 'optional':
    case 'nullable':
      return schemaKeys(inner('innerType'), prefix);
    case 'object':
      return Object.entries(def.shape as Record<string, z.core.$ZodType>).flatMap(([k, v]) => [
        prefix + k,
        ...schemaKeys(v, `${prefix}${k}.`),
      ]);
    case 'record': {
      const keyDef = inner('keyType')._zod.def as unknown as {
        type: string;
        entries?: Record<string, string>;
      };
      const keys = keyDef.type === 'enum' ? Object.values(keyDef.entries ?? {}) : ['*'];
      return keys.flatMap((k) => [
        ...(k === '*' ? [] : [prefix + k]),
        ...schemaKeys(inner('valueType'), `${prefix}${k}.`),
      ]);
    }
    default:
      return [];
  }
}

describe('docker-compose.yml', () => {
  const compose = yamlFile('docker-compose.yml');
  const services = tree(compose.services) as Record<string, Tree>;
  const envOf = (name: string) => tree(services[name].environment) as Record<string, string>;
  const configPath = envOf('bot').PACHOPS_CONFIG;
  const mount = (services.bot.configs as { source: string; target: string }[]).find(
    (c) => c.target === configPath,
  );
  const configFile = tree(tree(compose.configs)[mount?.source ?? '']).file as string;
  /** Throws (naming the variable) unless compose passes every secret the config names. */
  const loadMounted = () =>
    parseConfig(read(configFile), Object.fromEntries(Object.keys(envOf('bot')).map((k) => [k, 'x'])));

  test('bot and worker are the image from deploy/Dockerfile, the worker running jobs/worker.ts', () => {
    for (const name of ['bot', 'worker']) {
      expect(services[name].build).toMatchObject({ context: '.', dockerfile: 'deploy/Dockerfile' });
      expect(envOf(name)).toEqual(envOf('bot'));
    }
    expect(services.bot.command).toBeUndefined(); // the image's CMD: the bot
    expect(services.worker.command).toEqual(['node', 'jobs/worker.ts']);
    expect(services.worker.healthcheck).toEqual({ disable: true });
  });

  test('passes only variables the code reads or the config names, and all it needs', () => {
    const known = new Set([...codeEnv, ...namedSecrets(yamlFile(configFile)), ...Object.keys(libraryEnv)]);
    expect(Object.keys(envOf('bot')).filter((name) => !known.has(name))).toEqual([]);
    const needed = ['PACHOPS_CONFIG', 'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN'];
    expect(Object.keys(envOf('bot'))).toEqual(
      expect.arrayContaining([...needed, 'PACHOPS_STATE_PG_PASSWORD']),
    );
  });

  test('mounts a config the real loader accepts, whose URLs point at its services and ports', () => {
    const config = loadMounted();
    const defaults: Record<string, string> = { 'redis:': '6379', 'postgres:': '5432', 'http:': '80' };
    const targets = [config.redis.url, config.stateDatabase.url].map((u) => new URL(u));
    for (const cluster of Object.values(config.clusters)) {
      targets.push(new URL(`postgres://${cluster.postgres.host}:${cluster.postgres.port}`));
      for (const s3 of [cluster.objectStore, cluster.backup]) targets.push(new URL(s3.endpoint ?? ''));
    }
    for (const url of targets) {
      const service = services[url.hostname];
      expect({ url: url.href, service: Boolean(service) }).toEqual({ url: url.href, service: true });
      const ports = [
        ...((service.expose ?? []) as unknown[]).map(String),
        ...((service.ports ?? []) as unknown[]).map((p) => String(p).split(':').at(-1)!.split('/')[0]),
      ];
      expect(ports).toContain(url.port || defaults[url.protocol]);
    }
  });

  test('the servers hold the databases, roles, credentials and buckets the config names', () => {
    const config = loadMounted();
    const init = String(tree(tree(compose.configs)['postgres-init']).content);
    const stateDb = new URL(config.stateDatabase.url);
    const owners: [string, string][] = [[stateDb.pathname.slice(1), stateDb.username]];
    const passwords = [envOf('bot').PACHOPS_STATE_PG_PASSWORD];
    const bucketArg = (services.s3.command as string[]).find((a) => a.startsWith('-bucket='));
    const buckets = (bucketArg ?? '').slice('-bucket='.length).split(',');
    for (const cluster of Object.values(yamlFile(configFile).clusters as Record<string, Tree>)) {
      const pg = tree(cluster.postgres);
      for (const db of pg.databases as string[]) owners.push([db, String(pg.user)]);
      passwords.push(envOf('bot')[String(pg.passwordEnv)]);
      for (const s3 of [tree(cluster.objectStore), tree(cluster.backup)]) {
        expect(buckets).toContain(s3.bucket);
        expect(envOf('bot')[String(s3.accessKeyIdEnv)]).toBe(envOf('s3').AWS_ACCESS_KEY_ID);
        expect(envOf('bot')[String(s3.secretAccessKeyEnv)]).toBe(envOf('s3').AWS_SECRET_ACCESS_KEY);
      }
    }
    for (const [db, owner] of owners) {
      expect(init).toMatch(new RegExp(`CREATE ROLE ${owner} LOGIN PASSWORD`));
      expect(init).toMatch(new RegExp(`CREATE DATABASE ${db} OWNER ${owner};`));
    }
    // each password the bot is given is one the postgres service sets up (the same .env variable)
    for (const password of passwords) expect(Object.values(envOf('postgres'))).toContain(password);
  });

  test('documents every variable it interpolates in deploy/compose/trial.env.example', () => {
    const used = new Set(
      [...read('docker-compose.yml').matchAll(/(?<!\$)\$\{([A-Z_][A-Z0-9_]*)/g)].map((m) => m[1]),
    );
    const documented = read('deploy/compose/trial.env.example');
    expect([...used].filter((v) => !new RegExp(`^#? ?${v}=`, 'm').test(documented))).toEqual([]);
  });

  test('builds pg_dump of the PostgreSQL major version it runs', () => {
    const arg = String(tree(tree(services.bot.build).args).PG_MAJOR);
    expect(String(services.postgres.image)).toBe(`postgres:${arg}-bookworm`);
    expect(arg).toBe(`\${PG_MAJOR:-${dockerArgs().PG_MAJOR}}`);
  });
});

describe('deploy/slack-app-manifest.yaml', () => {
  const manifest = yamlFile('deploy/slack-app-manifest.yaml');
  const info = tree(manifest.display_information);
  const features = tree(manifest.features);
  const settings = tree(manifest.settings);

  test('declares /pach with a usage hint naming every subcommand, within Slack limits', () => {
    const commands = features.slash_commands as Tree[];
    const pach = commands.find((c) => c.command === '/pach')!;
    expect(pach).toBeDefined();
    const hint = String(pach.usage_hint);
    for (const [, sub] of USAGE.matchAll(/`\/pach (\w+)/g)) expect(hint).toMatch(new RegExp(`\\b${sub}\\b`));
    expect(hint.length).toBeLessThanOrEqual(1000);
    expect(String(pach.description).length).toBeLessThanOrEqual(2000);
    expect(String(info.name).length).toBeLessThanOrEqual(35);
    expect(String(info.description).length).toBeLessThanOrEqual(140);
    expect(String(info.long_description).length).toBeGreaterThanOrEqual(175);
    expect(String(tree(features.bot_user).display_name)).toMatch(/^[a-z0-9._-]{1,80}$/);
  });

  test('enables interactivity (the approval buttons) and Socket Mode', () => {
    expect(tree(settings.interactivity).is_enabled).toBe(true);
    expect(settings.socket_mode_enabled).toBe(true);
  });

  test('requests exactly the bot scopes the code uses and no user scopes', () => {
    /** Web API method family → the bot scope it needs (null: none). */
    const scopeOf: Record<string, string | null> = {
      chat: 'chat:write',
      usergroups: 'usergroups:read',
      views: null,
      auth: null,
    };
    const code = shipped.map(read).join('\n');
    const families = [...code.matchAll(/client\.(\w+)\.\w+(?:\.\w+)?\(/g)].map((m) => m[1]);
    // a new family: put its scope here and in the manifest
    expect(families.filter((f) => !(f in scopeOf))).toEqual([]);
    const needed = new Set(families.map((f) => scopeOf[f]).filter((s) => s !== null));
    if (code.includes('app.command(')) needed.add('commands');
    const scopes = tree(tree(manifest.oauth_config).scopes);
    expect([...(scopes.bot as string[])].sort()).toEqual([...needed].sort());
    expect(scopes.user).toBeUndefined();
  });
});

interface Instruction {
  op: string;
  args: string;
}
/** Instructions, comments dropped and continuation lines joined, as Docker reads them. */
function dockerfile(): Instruction[] {
  const lines = read('deploy/Dockerfile')
    .split('\n')
    .filter((line) => !/^\s*#/.test(line));
  return lines
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [, op, args] = /^(\w+)\s+(.*)$/.exec(line)!;
      return { op: op.toUpperCase(), args };
    });
}
function dockerArgs(): Record<string, string> {
  return Object.fromEntries(
    dockerfile()
      .filter((i) => i.op === 'ARG' && i.args.includes('='))
      .map((i) => i.args.split('=', 2)),
  );
}

describe('deploy/Dockerfile', () => {
  const all = dockerfile();
  const args = dockerArgs();
  const stages: Instruction[][] = [];
  for (const i of all)
    if (i.op === 'FROM') stages.push([i]);
    else stages.at(-1)?.push(i);
  const final = stages.at(-1)!;
  const ops = (stage: Instruction[], op: string) => stage.filter((i) => i.op === op).map((i) => i.args);
  const runs = (stage: Instruction[]) => ops(stage, 'RUN').join('\n');
  /** `${name}` as written in the Dockerfile. */
  const v = (name: string) => `\${${name}}`;

  test('every stage is node:24 on Debian bookworm-slim', () => {
    const images = ops(all, 'FROM').map((a) => a.split(/\s+/)[0].replace(/\$\{(\w+)\}/g, (_, n) => args[n]));
    expect(new Set(images)).toEqual(new Set(['node:24-bookworm-slim']));
  });

  test('runs as a non-root numeric user', () => {
    const user = ops(final, 'USER').at(-1) ?? 'root';
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
  });

  test('carries pg_dump/pg_restore, helm and pachctl, pinned and verified', () => {
    expect(runs(final)).toContain(`postgresql-client-${v('PG_MAJOR')}`);
    expect(runs(final)).toMatch(/pg_dump --version && pg_restore --version/);
    expect(ops(final, 'ENV').join(' ')).toContain(`/usr/lib/postgresql/${v('PG_MAJOR')}/bin`);
    expect(ops(final, 'COPY')).toContainEqual(expect.stringMatching(/--from=tools .*helm .*pachctl/));
    const tools = stages.find((s) => s[0].args.endsWith(' AS tools'))!;
    expect(runs(tools)).toContain(`https://get.helm.sh/helm-v${v('HELM_VERSION')}-linux-${v('arch')}.tar.gz`);
    expect(runs(tools)).toContain(
      `github.com/pachyderm/pachyderm/releases/download/v${v('PACHCTL_VERSION')}/`,
    );
    expect(runs(tools)).toContain('sha256sum -c');
    for (const tool of ['HELM', 'PACHCTL'])
      for (const arch of ['AMD64', 'ARM64']) expect(args[`${tool}_SHA256_${arch}`]).toMatch(/^[0-9a-f]{64}$/);
  });

  test('installs production dependencies only, ships src/ and jobs/, starts the bot, probes /healthz', () => {
    expect(runs(all)).toContain('npm ci --omit=dev --ignore-scripts');
    expect(ops(final, 'COPY')).toEqual(expect.arrayContaining(['src ./src', 'jobs ./jobs']));
    expect(JSON.parse(ops(final, 'CMD').at(-1)!)).toEqual(['node', 'src/bot.ts']);
    expect(ops(final, 'HEALTHCHECK').at(-1)).toMatch(/process\.env\.PORT \|\| 3000\) \+ '\/healthz'/);
  });

  test('every RUN is valid sh', () => {
    for (const run of ops(all, 'RUN')) expect(spawnSync('sh', ['-n', '-c', run]).stderr.toString()).toBe('');
  });

  test('.dockerignore is an allowlist of exactly what the COPYs take from the context', () => {
    const ignore = read('.dockerignore')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    expect(ignore[0]).toBe('*');
    const sources = ops(all, 'COPY')
      .filter((a) => !a.startsWith('--from'))
      .flatMap((a) => a.split(/\s+/).slice(0, -1));
    const allowed = sources.map((s) => `!${s}${statSync(join(root, s)).isDirectory() ? '/' : ''}`);
    expect(ignore.filter((l) => l.startsWith('!')).sort()).toEqual([...new Set(allowed)].sort());
  });

  test('what it ships imports only production dependencies and files inside src/ and jobs/', () => {
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    const bad: string[] = [];
    for (const file of shipped) {
      const text = read(file);
      const specs = [
        ...text.matchAll(/^\s*(?:import|export)(?!\s+type\s)[^'"]*?from\s+['"]([^'"]+)['"]/gm),
        ...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm),
        ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
      ].map((m) => m[1]);
      for (const spec of specs) {
        if (spec.startsWith('node:')) continue;
        if (spec.startsWith('.')) {
          const target = relative(root, resolve(root, dirname(file), spec));
          if (!/^(src|jobs)\//.test(target)) bad.push(`${file}: ${spec}`);
          continue;
        }
        const name = spec
          .split('/')
          .slice(0, spec.startsWith('@') ? 2 : 1)
          .join('/');
        if (!(name in pkg.dependencies)) bad.push(`${file}: ${spec} (not in dependencies)`);
      }
    }
    expect(bad).toEqual([]);
  });
});
