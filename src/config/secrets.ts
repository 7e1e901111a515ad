import type { Config } from './load.ts';

function urlPassword(url: string): string | undefined {
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every secret value the configuration holds (Slack tokens and signing secret, database passwords, S3
 * keys, the dump key, passwords inside the Redis and state database URLs): the logger masks them
 * wherever they appear.
 */
export function configSecrets(config: Config): string[] {
  const { runtime } = config;
  const found = [
    runtime.slackBotToken,
    runtime.slackSigningSecret,
    runtime.slackAppToken,
    urlPassword(config.stateDatabase.url),
    urlPassword(config.redis.url),
  ];
  for (const cluster of Object.values(config.clusters)) {
    found.push(cluster.postgres.password);
    for (const bucket of [cluster.objectStore, cluster.backup])
      found.push(bucket.credentials?.secretAccessKey, bucket.credentials?.accessKeyId);
    found.push(cluster.backup.dumpKey?.bytes().toString('base64'));
  }
  return found.filter((value): value is string => Boolean(value));
}
