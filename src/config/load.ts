import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type DumpKey, readDumpKey } from '../crypto/dump-key.ts';
import { ConfigError } from '../errors.ts';
import { type ClusterSlack, mergeClusterSlack } from './cluster-slack.ts';
import {
  type BackupLocationConfig,
  ConfigSchema,
  type FileCluster,
  type FileConfig,
  type S3LocationConfig,
} from './schema.ts';

export interface S3Target {
  bucket: string;
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** Requests silent this long fail (and are retried); 0 = never; absent = SOCKET_IDLE_TIMEOUT_MS. */
  idleTimeoutSeconds?: number;
  /** Absent: the SDK's default chain (instance role, IRSA, AWS_* variables). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Server-side encryption of every object written here (the backup location only). */
  sse?: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
}

/** The backup location: its S3 target, and the key of the dumps when they are encrypted client-side. */
export interface BackupTarget extends S3Target {
  dumpKey?: DumpKey;
}

export interface ClusterConfig
  extends Omit<FileCluster, 'slack' | 'objectStore' | 'backup' | 'postgres' | 'helm'> {
  name: string;
  /** Its own `slack.*` keys over the global ones (src/config/cluster-slack.ts). */
  slack: ClusterSlack;
  postgres: Omit<FileCluster['postgres'], 'passwordEnv'> & { password?: string };
  objectStore: S3Target;
  backup: BackupTarget;
  helm: { release: string; namespace: string; chart: string };
}

/** What comes from the environment; no other module reads `process.env`. */
export interface RuntimeEnv {
  slackBotToken?: string;
  slackSigningSecret?: string;
  slackAppToken?: string;
  slackApiUrl?: string;
  port: number;
  kubeconfig?: string;
  /** LOG_LEVEL; each entry has its own default (info for the bot and worker, warn for the CLI). */
  logLevel?: string;
}

export interface Config extends Omit<FileConfig, 'clusters' | 'stateDatabase'> {
  /** The URL, with the password from `passwordEnv` put in when one is named. */
  stateDatabase: { url: string };
  clusters: Record<string, ClusterConfig>;
  runtime: RuntimeEnv;
}

type Env = Record<string, string | undefined>;

/** Reads `PACHOPS_CONFIG` and the environment once; throws a ConfigError naming the bad key. */
export async function loadConfig(env: Env = process.env): Promise<Config> {
  const path = env.PACHOPS_CONFIG;
  if (!path) throw new ConfigError('PACHOPS_CONFIG is not set: point it at the pachops YAML file');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read PACHOPS_CONFIG file ${path}: ${(error as Error).message}`);
  }
  return parseConfig(text, env, path);
}

export function parseConfig(text: string, env: Env, source = 'config'): Config {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError(`${source} is not valid YAML: ${(error as Error).message}`);
  }
  const parsed = ConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(`${source}: ${formatIssues(parsed.error.issues)}`);
  const file = parsed.data;
  const clusters: Record<string, ClusterConfig> = {};
  for (const [name, cluster] of Object.entries(file.clusters)) {
    clusters[name] = resolveCluster(name, cluster, file.slack, env);
  }
  return {
    ...file,
    stateDatabase: resolveStateDatabase(file.stateDatabase, env),
    clusters,
    runtime: readRuntimeEnv(env),
  };
}

function formatIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`)
    .join('; ');
}

function resolveCluster(
  name: string,
  cluster: FileCluster,
  slack: FileConfig['slack'],
  env: Env,
): ClusterConfig {
  const key = `clusters.${name}`;
  const { passwordEnv, ...postgres } = cluster.postgres;
  return {
    ...cluster,
    name,
    slack: mergeClusterSlack(slack, cluster.slack),
    postgres: {
      ...postgres,
      password: passwordEnv ? readSecret(env, passwordEnv, `${key}.postgres.passwordEnv`) : undefined,
    },
    objectStore: resolveS3(cluster.objectStore, env, `${key}.objectStore`),
    backup: resolveBackup(cluster.backup, env, `${key}.backup`),
    helm: {
      release: cluster.helm.release,
      chart: cluster.helm.chart,
      namespace: cluster.helm.namespace ?? cluster.kubernetes.namespace,
    },
  };
}

function resolveStateDatabase(state: FileConfig['stateDatabase'], env: Env): { url: string } {
  if (!state.passwordEnv) return { url: state.url };
  const url = new URL(state.url);
  url.password = encodeURIComponent(readSecret(env, state.passwordEnv, 'stateDatabase.passwordEnv'));
  return { url: url.toString() };
}

function resolveS3(
  location: S3LocationConfig & Pick<S3Target, 'sse' | 'kmsKeyId'>,
  env: Env,
  key: string,
): S3Target {
  const { accessKeyIdEnv, secretAccessKeyEnv, ...rest } = location;
  if (!accessKeyIdEnv !== !secretAccessKeyEnv) {
    throw new ConfigError(`${key}: set both accessKeyIdEnv and secretAccessKeyEnv, or neither`);
  }
  if (!accessKeyIdEnv || !secretAccessKeyEnv) return rest;
  return {
    ...rest,
    credentials: {
      accessKeyId: readSecret(env, accessKeyIdEnv, `${key}.accessKeyIdEnv`),
      secretAccessKey: readSecret(env, secretAccessKeyEnv, `${key}.secretAccessKeyEnv`),
    },
  };
}

function resolveBackup(location: BackupLocationConfig, env: Env, key: string): BackupTarget {
  const { encryption, ...s3 } = location;
  const target: BackupTarget = resolveS3(s3, env, key);
  if (encryption) {
    target.dumpKey = readDumpKey(env[encryption.keyEnv], encryption.keyEnv, `${key}.encryption.keyEnv`);
  }
  return target;
}

function readSecret(env: Env, name: string, key: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`${key}: environment variable ${name} is not set`);
  return value;
}

function readRuntimeEnv(env: Env): RuntimeEnv {
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`PORT: not a port number: ${env.PORT}`);
  return {
    slackBotToken: env.SLACK_BOT_TOKEN || undefined,
    slackSigningSecret: env.SLACK_SIGNING_SECRET || undefined,
    slackAppToken: env.SLACK_APP_TOKEN || undefined,
    slackApiUrl: env.SLACK_API_URL || undefined,
    port,
    kubeconfig: env.KUBECONFIG || undefined,
    logLevel: env.LOG_LEVEL || undefined,
  };
}

/**
 * The bot and the worker talk to Slack; the CLI does not. The bot also receives Slack's requests: over
 * HTTP it checks their signatures with the signing secret; in Socket Mode (SLACK_APP_TOKEN) they come
 * over a socket its app-level token opened, and no secret is needed.
 */
export function requireSlack(
  config: Config,
  needs: { receiver: boolean },
): { botToken: string; signingSecret?: string } {
  const { slackBotToken, slackSigningSecret, slackAppToken } = config.runtime;
  if (!slackBotToken) throw new ConfigError('SLACK_BOT_TOKEN is not set');
  if (needs.receiver && slackAppToken && !slackAppToken.startsWith('xapp-')) {
    throw new ConfigError('SLACK_APP_TOKEN: an app-level token starts with xapp-');
  }
  if (needs.receiver && !slackAppToken && !slackSigningSecret) {
    throw new ConfigError('SLACK_SIGNING_SECRET is not set (or set SLACK_APP_TOKEN for Socket Mode)');
  }
  return { botToken: slackBotToken, signingSecret: slackSigningSecret };
}
