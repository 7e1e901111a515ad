/** The bot and the worker as real child processes (Node 24, this repository), with their logs in files. */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RunningProcess {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
  /** The log so far (JSON lines from pino, plus anything on stderr). */
  log(): string;
  /** SIGTERM (graceful) and wait for the exit; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
}

export interface StartProcessOptions {
  name: string;
  args: string[];
  env: Record<string, string>;
  logFile: string;
  /** Ready when this URL answers 200. */
  readyUrl?: string;
  /** Ready when the log has a line matching this. */
  readyLine?: RegExp;
  timeoutMs?: number;
}

export async function startProcess(options: StartProcessOptions): Promise<RunningProcess> {
  const out = openSync(options.logFile, 'a');
  const child = spawn(process.execPath, options.args, { env: options.env, stdio: ['ignore', out, out] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const log = () => readFileSync(options.logFile, 'utf8');
  const running: RunningProcess = {
    name: options.name,
    pid: child.pid!,
    logFile: options.logFile,
    child,
    log,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (!(await isReady(options, log))) {
    if (child.exitCode !== null)
      throw new Error(`${options.name} exited with ${child.exitCode}:\n${log().slice(-3000)}`);
    if (Date.now() > deadline) {
      await running.kill();
      throw new Error(`${options.name} did not become ready:\n${log().slice(-3000)}`);
    }
    await sleep(100);
  }
  return running;
}

async function isReady(options: StartProcessOptions, log: () => string): Promise<boolean> {
  if (options.readyLine) return options.readyLine.test(log());
  if (!options.readyUrl) return true;
  try {
    return (await fetch(options.readyUrl)).ok;
  } catch {
    return false;
  }
}
