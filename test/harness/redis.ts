/** A throwaway redis-server on a free 127.0.0.1 port, no persistence, in its own temp dir. */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { findFreePort } from './free-port.ts';
import { makeHarnessDir, recordPid, removeHarnessDir, sleep, stopProcessesOf } from './harness-dir.ts';

export interface RedisServer {
  url: string;
  host: string;
  port: number;
  dir: string;
  logFile: string;
  /** The current redis-server pid (changes on restart). */
  pid(): number;
  /** Stops the server (SIGTERM, or SIGKILL to simulate a crash); a later restart() brings it back. */
  kill(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Stops (if running) and starts again on the same port; the data is gone (no persistence). */
  restart(opts?: { signal?: 'SIGTERM' | 'SIGKILL' }): Promise<void>;
  /** Stops the server and deletes its directory. */
  stop(): Promise<void>;
}

/** Starts redis-server; resolves once it answers PING (well under a second). */
export async function startRedis(): Promise<RedisServer> {
  const dir = await makeHarnessDir('redis');
  const logFile = join(dir, 'redis.log');
  let port = 0;
  let child: ChildProcess | null = null;
  for (let attempt = 1; child === null; attempt += 1) {
    port = await findFreePort();
    try {
      child = await spawnRedis(dir, port, logFile);
    } catch (error) {
      await stopProcessesOf(dir, 1000);
      // someone may have taken the port between findFreePort() and redis binding it: pick another
      if (attempt < 3 && readFileSync(logFile, 'utf8').includes('Address already in use')) continue;
      throw new Error(`redis-server did not start (log: ${logFile}): ${String(error)}`, { cause: error });
    }
  }
  const kill = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    if (child) await killChild(child, signal);
    child = null;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    dir,
    logFile,
    pid: () => child?.pid ?? 0,
    kill,
    async restart(opts = {}) {
      await kill(opts.signal);
      child = await spawnRedis(dir, port, logFile);
    },
    async stop() {
      await kill();
      await stopProcessesOf(dir, 1000);
      await removeHarnessDir(dir);
    },
  };
}

async function spawnRedis(dir: string, port: number, logFile: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  args.push('--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes');
  const log = openSync(logFile, 'a');
  // detached: its own process group, so a Ctrl-C meant for jest does not kill it mid-run
  const child = spawn('redis-server', args, { cwd: dir, detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const exited = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`redis-server exited (${code ?? signal})`)));
  });
  exited.catch(() => {}); // observed below; later exits are expected (stop, restart)
  if (child.pid) recordPid(dir, 'redis-server', child.pid);
  await Promise.race([waitForPong(port, 10_000), exited]);
  return child;
}

async function killChild(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

/** Resolves when redis on port answers +PONG. */
export async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ping(port)) return;
    await sleep(25);
  }
  throw new Error(`redis on port ${port} did not answer PING within ${timeoutMs} ms`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      reply += data.toString();
      if (reply.includes('\r\n')) socket.end();
    });
    socket.on('close', () => resolve(reply.startsWith('+PONG')));
    socket.on('error', () => resolve(false));
  });
}
