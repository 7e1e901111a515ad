/**
 * The environment of the programs pachops starts. execa hands a child the whole environment by default;
 * pachops' own holds the Slack tokens, every cluster's database password, S3 keys and the dump key, which
 * none of those programs needs. The one place besides the configuration that reads `process.env`.
 */

/** Slack's credentials: no program pachops starts needs them. */
const SLACK_CREDENTIALS = new Set(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN']);

/** What any program needs to run: where to find programs, libraries and home, the locale, the time zone. */
const BASICS = /^(PATH|LD_LIBRARY_PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|LC_[A-Z]+|TZ|TMPDIR)$/;

/** libpq's own settings an operator may rely on (client certificates, a service file), but not a password. */
const LIBPQ = /^PG(?!PASSWORD$)[A-Z]+$/;

type Env = Record<string, string | undefined>;

/** execa's options for a child that gets exactly `env`: without `extendEnv: false` it would get everything. */
export interface ChildEnv {
  env: Env;
  extendEnv: false;
}

/**
 * pg_dump, pg_restore: the basics, libpq's settings and the connection given (which overrides them),
 * nothing else; an inherited `PGPASSWORD` (the state database's, say) never reaches a cluster's server.
 */
export function postgresToolEnv(connection: Record<string, string> = {}, env: Env = process.env): ChildEnv {
  const out: Env = {};
  for (const [name, value] of Object.entries(env))
    if (BASICS.test(name) || LIBPQ.test(name)) out[name] = value;
  return { env: { ...out, ...connection }, extendEnv: false };
}

/**
 * helm, pachctl: everything but Slack's credentials. A kubeconfig's exec plugin (`aws eks get-token`,
 * `gke-gcloud-auth-plugin`) may need any of the rest, cloud credentials included.
 */
export function clusterToolEnv(extra: Record<string, string> = {}, env: Env = process.env): ChildEnv {
  const out: Env = {};
  for (const [name, value] of Object.entries(env)) if (!SLACK_CREDENTIALS.has(name)) out[name] = value;
  return { env: { ...out, ...extra }, extendEnv: false };
}
