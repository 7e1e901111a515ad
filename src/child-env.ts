/**
 * The environment of the programs pachops starts. execa hands a child the whole environment by default;
 * pachops' own holds the Slack tokens, every cluster's database password, S3 keys and the dump key, which
 * none of those programs needs. The one place besides the configuration that reads `process.env`.
 */

/** Slack's credentials: no program pachops starts needs them. */
const SLACK_CREDENTIALS = new Set(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN']);

/** What any program needs to run: where to find programs and home, the locale, the time zone. */
const BASICS = /^(PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR)$/;

type Env = Record<string, string | undefined>;

/**
 * pg_dump, pg_restore: the basics and the connection given (libpq's variables), nothing else; an
 * inherited `PG…` variable (the state database's password, say) never reaches a cluster's server.
 */
export function postgresToolEnv(connection: Record<string, string> = {}, env: Env = process.env): Env {
  const out: Env = {};
  for (const [name, value] of Object.entries(env)) if (BASICS.test(name)) out[name] = value;
  return { ...out, ...connection };
}

/**
 * helm, pachctl: everything but Slack's credentials. A kubeconfig's exec plugin (`aws eks get-token`,
 * `gke-gcloud-auth-plugin`) may need any of the rest, cloud credentials included.
 */
export function clusterToolEnv(extra: Record<string, string> = {}, env: Env = process.env): Env {
  const out: Env = {};
  for (const [name, value] of Object.entries(env)) if (!SLACK_CREDENTIALS.has(name)) out[name] = value;
  return { ...out, ...extra };
}
