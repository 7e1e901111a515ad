/**
 * One simulated Pachyderm installation and one pachops deployment wired to it: databases and buckets on
 * the real servers, the Kubernetes and Slack stand-ins, the Pachyderm simulator writing live, a config
 * file, and the bot and worker as real processes. Used by the end-to-end tests and by `npm run demo`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { findFreePort } from './free-port.ts';
import { type KubeStandin, type PipelineSeed, startKube } from './kube/kube-standin.ts';
import {
  kubeRunningProbe,
  type SeedResult,
  seedPachyderm,
  startWorkload,
  type Workload,
} from './pachyderm/simulator.ts';
import { type PgAdmin, runSql } from './pg-admin.ts';
import { type RunningProcess, startProcess } from './process.ts';
import { createBucket, makeS3Client, type S3Target } from './s3-client.ts';
import { type SlackStandin, startSlack } from './slack/slack-standin.ts';
import { stackEnv } from './stack-env.ts';

export const USERS = {
  requester: 'U0REQUESTER',
  approver: 'U0APPROVER',
  groupMember: 'U0GROUPIE',
  outsider: 'U0OUTSIDER',
  /** For a second cluster's own approvers (ScenarioOptions.clusterSlack). */
  stagingApprover: 'U0STAGER',
};
export const CHANNELS = {
  ops: 'C0OPS',
  users: 'C0USERS',
  random: 'C0RANDOM',
  /** For a second cluster's own channels (ScenarioOptions.clusterSlack). */
  stagingOps: 'C0STAGEOPS',
  stagingUsers: 'C0STAGEUSERS',
};
export const APPROVER_GROUP = 'S0SRE';
/** `clusterSlack.staging` for a second cluster with its own ops and users' channels and its own approver. */
export const STAGING_SLACK = {
  opsChannels: [CHANNELS.stagingOps],
  announceChannels: [CHANNELS.stagingUsers],
  approvers: [USERS.stagingApprover],
};
const REPO = new URL('../..', import.meta.url).pathname;

export interface ScenarioOptions {
  redisUrl: string;
  postgres: PgAdmin;
  s3: S3Target;
  /** Live chunk objects to seed. Default 60. */
  objects?: number;
  pauseMode?: 'scale' | 'enterprise';
  approvals?: Record<string, 'required' | 'auto'>;
  allowSelfApproval?: boolean;
  pipelines?: PipelineSeed[];
  /** Pause between the simulator's writes. Default 40 ms. */
  workloadIntervalMs?: number;
  /** The bot in Socket Mode: SLACK_APP_TOKEN set to the stand-in's app-level token. Default false (HTTP). */
  socketMode?: boolean;
  /** Extra environment for the bot and worker (e.g. PACHCTL_STANDIN_FAIL). */
  env?: Record<string, string>;
  /** pause.timeoutSeconds. Default 30. */
  pauseTimeoutSeconds?: number;
  /** jobs.backoffSeconds (the first retry's delay). Default 0.2. */
  backoffSeconds?: number;
  /** The cluster's `retention` (prune's rules). Default: none. */
  retention?: Record<string, number>;
  /** drill.afterBackup. Default false. */
  drillAfterBackup?: boolean;
  /** The cluster's watchdog settings, and jobs.watchdogIntervalSeconds (default 60). */
  watchdog?: {
    reminderMarginMinutes?: number;
    escalateAfterMinutes?: number;
    autoResumeAfterMinutes?: number;
  };
  watchdogIntervalSeconds?: number;
  /** jobs.lockSeconds: how soon a dead worker's job is taken up again. Default 30. */
  lockSeconds?: number;
  /** The cluster's `mirror` section, over the default `{ concurrency: 16 }`. */
  mirror?: Record<string, unknown>;
  /** More keys of the cluster's `backup` location (sse, kmsKeyId, encryption). */
  backup?: Record<string, unknown>;
  /** The `schedules` section. Default: notices 24 h and 15 min ahead, 10 min grace. */
  schedules?: { noticeLeadMinutes?: number[]; missedGraceMinutes?: number };
  /**
   * `clusters.<name>.slack` per cluster. A name other than `prod` adds a cluster of that name on the same
   * installation as prod (its databases, buckets and namespace): enough for a second cluster's own
   * channels and approvers, as long as the two do not run at once.
   */
  clusterSlack?: Record<string, Record<string, unknown>>;
}

export interface Scenario {
  dir: string;
  kube: KubeStandin;
  slack: SlackStandin;
  seed: SeedResult;
  workload: Workload;
  names: { pachyderm: string; dex: string; state: string; role: string; source: string; backup: string };
  /** Superuser URL of a database on the shared server. */
  dbUrl(name: string): string;
  s3: S3Target;
  /** The BullMQ queues' Redis and key prefix, as the config gives them to the bot and workers. */
  redis: { url: string; prefix: string };
  configPath: string;
  env: Record<string, string>;
  bot?: RunningProcess & { url: string };
  worker?: RunningProcess;
  startBot(): Promise<RunningProcess & { url: string }>;
  startWorker(): Promise<RunningProcess>;
  stop(): Promise<void>;
}

/** Each scenario's queues under their own prefix on the run's Redis. */
const redisOf = (url: string, state: string) => ({ url, prefix: `pachops-${state}` });

/** A scenario on the run's Redis, PostgreSQL and RGW (stackEnv; RGW required). */
export function startRgwScenario(
  options: Omit<ScenarioOptions, 'redisUrl' | 'postgres' | 's3'>,
): Promise<Scenario> {
  const stack = stackEnv();
  if (!stack.rgw) throw new Error('this scenario needs the run’s RGW (PACHOPS_TEST_RGW is 0)');
  return startScenario({ redisUrl: stack.redis.url, postgres: stack.postgres, s3: stack.rgw, ...options });
}

export async function startScenario(options: ScenarioOptions): Promise<Scenario> {
  const dir = await mkdtemp(join(tmpdir(), 'pachops-scenario-'));
  const id = randomBytes(3).toString('hex');
  const names = {
    pachyderm: `pachyderm_${id}`,
    dex: `dex_${id}`,
    state: `pachops_${id}`,
    role: `pachyderm_${id}`,
    source: `pach-data-${id}`,
    backup: `pach-backup-${id}`,
  };
  const password = randomBytes(12).toString('hex');
  const { postgres } = options;
  await postgres.createRole(names.role, password);
  // A restore creates its new databases as the cluster's own user, as an SRE would set it up.
  await runSql(postgres.url(), `ALTER ROLE "${names.role}" CREATEDB`);
  await postgres.createDatabase(names.pachyderm, names.role);
  await postgres.createDatabase(names.dex, names.role);
  await postgres.createDatabase(names.state);
  await createBucket(options.s3, names.source);
  await createBucket(options.s3, names.backup);
  const roleUrl = (db: string) =>
    `postgres://${names.role}:${password}@${postgres.host}:${postgres.port}/${db}`;

  const kube = await startKube({ namespace: 'pachyderm', podStartMs: 150, podStopMs: 150, dir });
  await kube.seedPachyderm({
    pachd: 1,
    pachw: 1,
    pipelines: options.pipelines ?? [
      { name: 'edges', replicas: 2 },
      { name: 'montage', replicas: 1 },
    ],
    pachdImage: 'pachyderm/pachd:2.11.6',
    helm: {
      release: 'pachyderm',
      chartVersion: '2.11.6',
      appVersion: '2.11.6',
      values: helmValues(postgres, names, options.s3),
    },
  });
  const slack = await startSlack({
    channels: {
      [CHANNELS.ops]: 'ops',
      [CHANNELS.users]: 'pachyderm-users',
      [CHANNELS.random]: 'random',
      [CHANNELS.stagingOps]: 'staging-ops',
      [CHANNELS.stagingUsers]: 'staging-users',
    },
    users: {
      [USERS.requester]: 'rita',
      [USERS.approver]: 'alice',
      [USERS.groupMember]: 'gus',
      [USERS.outsider]: 'eve',
      [USERS.stagingApprover]: 'steve',
    },
    userGroups: { [APPROVER_GROUP]: [USERS.groupMember] },
  });
  const s3Client = makeS3Client(options.s3);
  const seed = await seedPachyderm({
    pachydermDbUrl: roleUrl(names.pachyderm),
    dexDbUrl: roleUrl(names.dex),
    s3: { client: s3Client, bucket: names.source },
    objects: options.objects ?? 60,
  });
  const workload = startWorkload({
    pachydermDbUrl: roleUrl(names.pachyderm),
    s3: { client: s3Client, bucket: names.source },
    isRunning: kubeRunningProbe({ url: kube.url, namespace: 'pachyderm' }),
    intervalMs: options.workloadIntervalMs ?? 40,
  });

  const configPath = join(dir, 'pachops.yaml');
  await writeFile(configPath, configYaml(options, names, postgres));
  const env: Record<string, string> = {
    PATH: `${REPO}test/harness/bin:${process.env.PATH}`,
    HOME: process.env.HOME ?? '/root',
    PACHOPS_CONFIG: configPath,
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: slack.signingSecret,
    SLACK_API_URL: slack.apiUrl,
    ...(options.socketMode ? { SLACK_APP_TOKEN: slack.appToken } : {}),
    KUBECONFIG: kube.kubeconfigPath,
    PACH_PG_PASSWORD: password,
    HELM_STANDIN_RECORD: join(dir, 'helm-calls.jsonl'),
    S3_KEY: options.s3.accessKeyId,
    S3_SECRET: options.s3.secretAccessKey,
    LOG_LEVEL: 'info',
    NODE_OPTIONS: '--openssl-legacy-provider',
    // as deploy/Dockerfile does: the bots, workers and CLIs a run starts compile the SDK once, not each time
    NODE_COMPILE_CACHE: join(tmpdir(), 'pachops-test-compile-cache'),
    ...options.env,
  };

  const scenario: Scenario = {
    dir,
    kube,
    slack,
    seed,
    workload,
    names,
    dbUrl: (name) => postgres.url(name),
    s3: options.s3,
    redis: redisOf(options.redisUrl, names.state),
    configPath,
    env,
    async startBot() {
      const port = await findFreePort();
      const bot = await startProcess({
        name: 'bot',
        args: [join(REPO, 'src/bot.ts')],
        env: { ...env, PORT: String(port) },
        logFile: join(dir, `bot-${Date.now()}.log`),
        readyUrl: `http://127.0.0.1:${port}/healthz`,
      });
      scenario.bot = Object.assign(bot, { url: `http://127.0.0.1:${port}` });
      return scenario.bot;
    },
    async startWorker() {
      scenario.worker = await startProcess({
        name: 'worker',
        args: [join(REPO, 'jobs/worker.ts')],
        env,
        logFile: join(dir, `worker-${Date.now()}.log`),
        readyLine: /worker started/,
      });
      return scenario.worker;
    },
    async stop() {
      await scenario.bot?.stop();
      await scenario.worker?.stop();
      await workload.stop();
      s3Client.destroy();
      await slack.close();
      await kube.close();
    },
  };
  return scenario;
}

function configYaml(options: ScenarioOptions, names: Scenario['names'], postgres: PgAdmin): string {
  const s3 = (bucket: string) => ({
    bucket,
    endpoint: options.s3.endpoint,
    region: options.s3.region,
    forcePathStyle: true,
    accessKeyIdEnv: 'S3_KEY',
    secretAccessKeyEnv: 'S3_SECRET',
  });
  return stringify({
    slack: {
      opsChannels: [CHANNELS.ops],
      announceChannels: [CHANNELS.users],
      approvers: [USERS.approver, APPROVER_GROUP],
      allowSelfApproval: options.allowSelfApproval ?? false,
      progressIntervalSeconds: 0.3,
    },
    redis: redisOf(options.redisUrl, names.state),
    stateDatabase: { url: postgres.url(names.state) },
    clusters: clusters(options, {
      kubernetes: { context: 'standin', namespace: 'pachyderm' },
      pause: { mode: options.pauseMode ?? 'scale', timeoutSeconds: options.pauseTimeoutSeconds ?? 30 },
      postgres: {
        host: postgres.host,
        port: postgres.port,
        user: names.role,
        passwordEnv: 'PACH_PG_PASSWORD',
        sslmode: 'require',
        databases: [names.pachyderm, names.dex],
      },
      objectStore: s3(names.source),
      backup: { ...s3(names.backup), ...options.backup },
      helm: { release: 'pachyderm', namespace: 'pachyderm' },
      approvals: options.approvals ?? {},
      mirror: { concurrency: 16, ...options.mirror },
      drill: { afterBackup: options.drillAfterBackup ?? false },
      ...(options.retention ? { retention: options.retention } : {}),
      watchdog: options.watchdog ?? {},
    }),
    schedules: options.schedules ?? {},
    jobs: {
      attempts: 3,
      backoffSeconds: options.backoffSeconds ?? 0.2,
      watchdogIntervalSeconds: options.watchdogIntervalSeconds ?? 60,
      lockSeconds: options.lockSeconds ?? 30,
    },
    tools: {
      pachctl: join(REPO, 'test/harness/bin/pachctl'),
      helm: join(REPO, 'test/harness/bin/helm'),
      pgBin: '',
    },
  });
}

/** prod, and the further clusters of `clusterSlack` on the same installation; each with its slack keys. */
function clusters(options: ScenarioOptions, prod: Record<string, unknown>): Record<string, unknown> {
  const names = new Set(['prod', ...Object.keys(options.clusterSlack ?? {})]);
  return Object.fromEntries(
    [...names].map((name) => [name, { ...prod, slack: options.clusterSlack?.[name] ?? {} }]),
  );
}

/** The values a Pachyderm 2.11 installation on an external PostgreSQL and S3 would have been given. */
function helmValues(postgres: PgAdmin, names: Scenario['names'], s3: S3Target): Record<string, unknown> {
  return {
    deployTarget: 'AMAZON',
    global: {
      postgresql: {
        postgresqlHost: postgres.host,
        postgresqlPort: String(postgres.port),
        postgresqlDatabase: names.pachyderm,
        postgresqlUsername: names.role,
        postgresqlExistingSecretName: 'pachyderm-postgres',
        postgresqlExistingSecretKey: 'password',
        identityDatabaseFullNameOverride: names.dex,
        postgresqlSSL: 'require',
      },
    },
    postgresql: { enabled: false },
    pachd: {
      storage: {
        backend: 'AMAZON',
        storageURL: `s3://${names.source}?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&disableSSL=true`,
      },
    },
  };
}
