/**
 * A throwaway PostgreSQL cluster from Debian's initdb/pg_ctl, on a free 127.0.0.1 port.
 * TCP needs the superuser's (random) password, scram-sha-256; the unix socket (in the cluster's
 * directory) trusts. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 */
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { findFreePort } from './free-port.ts';
import { makeHarnessDir, recordPid, removeHarnessDir, stopProcessesOf } from './harness-dir.ts';
import { makePgAdmin, type PgAdmin } from './pg-admin.ts';

export interface PgServer extends PgAdmin {
  /** The harness directory: data/, postgres.log, the socket. */
  dir: string;
  logFile: string;
  /** Stops the server and deletes its directory. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** ssl=on with a self-signed certificate for 127.0.0.1/localhost. */
  ssl?: boolean;
}

/** Starts a fresh cluster; about 1–2 s. */
export async function startPostgres(opts: StartPostgresOptions = {}): Promise<PgServer> {
  const bin = findPgBin();
  const dir = await makeHarnessDir('pg');
  const asUser = osUser();
  const data = join(dir, 'data');
  const logFile = join(dir, 'postgres.log');
  const password = randomBytes(18).toString('base64url');
  try {
    if (asUser.uid !== process.getuid?.()) chownSync(dir, asUser.uid, asUser.gid);
    writeOwned(join(dir, 'pwfile'), `${password}\n`, asUser);
    await runAs(asUser, join(bin, 'initdb'), [
      ...['-D', data, '-U', 'postgres', `--pwfile=${join(dir, 'pwfile')}`],
      ...['--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C'],
      ...['--no-sync', '--no-instructions'],
    ]);
    rmSync(join(dir, 'pwfile'));
    const sslRootCert = opts.ssl ? await makeCertificate(data, asUser) : null;
    await appendFile(join(data, 'postgresql.conf'), renderConfig(dir, opts.ssl === true));
    const port = await startOnFreePort(bin, data, logFile, asUser);
    recordPid(dir, 'postgres', readPostmasterPid(data));
    const admin = makePgAdmin({
      host: '127.0.0.1',
      port,
      user: 'postgres',
      password,
      ssl: !!opts.ssl,
      sslRootCert,
    });
    return { ...admin, dir, logFile, stop: () => stopPostgres(bin, dir, asUser) };
  } catch (error) {
    await stopProcessesOf(dir, 2000);
    throw new Error(`PostgreSQL did not start (directory kept: ${dir}, log: ${logFile}): ${String(error)}`, {
      cause: error,
    });
  }
}

/** The bin folder of the newest PostgreSQL major in /usr/lib/postgresql (or $PACHOPS_TEST_PG_BIN). */
export function findPgBin(): string {
  const fromEnv = process.env.PACHOPS_TEST_PG_BIN;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root)
    ? readdirSync(root)
        .filter((name) => /^\d+$/.test(name) && existsSync(join(root, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) {
    throw new Error(`no PostgreSQL server binaries in ${root}: run scripts/ensure-system.sh`);
  }
  return join(root, majors[0]!, 'bin');
}

interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

/** Root runs the server as `postgres`; anyone else as themselves. */
function osUser(): OsUser {
  if (process.getuid?.() !== 0) {
    const me = userInfo();
    return { name: me.username, uid: me.uid, gid: me.gid };
  }
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (!line)
    throw new Error('no `postgres` OS user (install the postgresql package: scripts/ensure-system.sh)');
  const [, , uid, gid] = line.split(':');
  return { name: 'postgres', uid: Number(uid), gid: Number(gid) };
}

async function runAs(user: OsUser, file: string, args: string[]): Promise<void> {
  const argv =
    user.uid === process.getuid?.() ? [file, ...args] : ['runuser', '-u', user.name, '--', file, ...args];
  // cwd: runuser keeps ours, which the postgres user may not be allowed to enter
  await execa(argv[0]!, argv.slice(1), { cwd: '/', stdin: 'ignore' });
}

function writeOwned(path: string, content: string, user: OsUser): void {
  writeFileSync(path, content, { mode: 0o600 });
  if (user.uid !== process.getuid?.()) chownSync(path, user.uid, user.gid);
}

/** A self-signed EC certificate for 127.0.0.1 and localhost in the data dir; returns the cert path. */
async function makeCertificate(data: string, user: OsUser): Promise<string> {
  const cert = join(data, 'server.crt');
  const key = join(data, 'server.key');
  await execa('openssl', [
    ...['req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
    ...['-keyout', key, '-out', cert, '-days', '30', '-subj', '/CN=127.0.0.1'],
    ...['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
  ]);
  writeOwned(key, readFileSync(key, 'utf8'), user);
  writeOwned(cert, readFileSync(cert, 'utf8'), user);
  return cert;
}

/** pg_ctl start on a free port; another pick if someone took the port meanwhile. Returns the port. */
async function startOnFreePort(bin: string, data: string, logFile: string, user: OsUser): Promise<number> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await findFreePort();
    // a later line wins in postgresql.conf
    await appendFile(join(data, 'postgresql.conf'), `port = ${port}\n`);
    try {
      await runAs(user, join(bin, 'pg_ctl'), ['start', '-D', data, '-l', logFile, '-w', '-t', '30', '-s']);
      return port;
    } catch (error) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      if (attempt >= 3 || !log.includes('Address already in use')) throw error;
    }
  }
}

function renderConfig(dir: string, ssl: boolean): string {
  return `
# pachops test harness
listen_addresses = '127.0.0.1'
unix_socket_directories = '${dir}'
max_connections = 200
shared_buffers = 16MB
fsync = off
synchronous_commit = off
full_page_writes = off
max_wal_size = 256MB
log_min_messages = warning
${ssl ? "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n" : ''}`;
}

function readPostmasterPid(data: string): number {
  return Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

async function stopPostgres(bin: string, dir: string, user: OsUser): Promise<void> {
  try {
    await runAs(user, join(bin, 'pg_ctl'), [
      'stop',
      '-D',
      join(dir, 'data'),
      '-m',
      'fast',
      '-w',
      '-t',
      '10',
      '-s',
    ]);
  } catch {
    // not running, or stuck: the signals below settle it
  }
  await stopProcessesOf(dir, 3000);
  await removeHarnessDir(dir);
}
