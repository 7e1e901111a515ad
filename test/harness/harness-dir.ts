/**
 * Temp directories of the test harness, and the processes started in them.
 *
 * Every server the harness starts lives in a directory `<tmp>/pachops-test-<kind>-XXXXXX` holding
 * `owner` (pid and start time of the Node process that made it) and `pids` ("name pid" lines).
 * A process belongs to a directory when its command line names the directory or its working
 * directory is inside it, so a recycled pid is never signalled. `cleanStaleHarnessDirs()` stops the
 * processes of directories whose owner is gone (an interrupted run) and deletes those directories.
 */
import {
  appendFileSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HARNESS_DIR_PREFIX = 'pachops-test-';

/** Creates `<tmp>/pachops-test-<kind>-XXXXXX` owned by this process. */
export async function makeHarnessDir(kind: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `${HARNESS_DIR_PREFIX}${kind}-`));
  writeFileSync(join(dir, 'owner'), `${process.pid} ${readStartTime(process.pid)}\n`);
  return dir;
}

/** Appends "name pid" to dir/pids, for stale-run cleanup. */
export function recordPid(dir: string, name: string, pid: number): void {
  appendFileSync(join(dir, 'pids'), `${name} ${pid}\n`);
}

/** The pids recorded in dir/pids. */
export function readRecordedPids(dir: string): number[] {
  try {
    return readFileSync(join(dir, 'pids'), 'utf8')
      .split('\n')
      .map((line) => Number(line.trim().split(/\s+/)[1]))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    return [];
  }
}

/** True when pid is alive and its command line or working directory refers to dir. */
export function isProcessOf(pid: number, dir: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    if (cmdline.includes(dir)) return true;
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    return cwd === dir || cwd.startsWith(`${dir}/`);
  } catch {
    return false;
  }
}

/** Live processes that belong to dir: the recorded ones plus any found in /proc (children, strays). */
export function findProcessesOf(dir: string): number[] {
  const found = new Set(readRecordedPids(dir).filter((pid) => isProcessOf(pid, dir)));
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (Number.isInteger(pid) && pid !== process.pid && isProcessOf(pid, dir)) found.add(pid);
  }
  return [...found];
}

/** Sends signal to every process of dir, synchronously (usable from an 'exit' handler). */
export function signalProcessesOf(dir: string, signal: NodeJS.Signals): number[] {
  const pids = findProcessesOf(dir);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
  return pids;
}

/** SIGTERM, then SIGKILL after graceMs, every process of dir; resolves when none is left. */
export async function stopProcessesOf(dir: string, graceMs = 5000): Promise<void> {
  if (signalProcessesOf(dir, 'SIGTERM').length === 0) return;
  const deadline = Date.now() + graceMs;
  while (findProcessesOf(dir).length > 0) {
    if (Date.now() > deadline) {
      signalProcessesOf(dir, 'SIGKILL');
      await sleep(200);
      if (findProcessesOf(dir).length === 0) return;
      throw new Error(`processes of ${dir} survive SIGKILL: ${findProcessesOf(dir).join(' ')}`);
    }
    await sleep(50);
  }
}

/** Deletes dir (after its processes are gone). */
export async function removeHarnessDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * Stops the processes of, and deletes, every harness directory whose owner process is gone
 * (left by an interrupted run). Directories of live runs are untouched. Returns what it removed.
 */
export async function cleanStaleHarnessDirs(): Promise<string[]> {
  const removed: string[] = [];
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(HARNESS_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    if (isOwnerAlive(dir)) continue;
    await stopProcessesOf(dir, 3000);
    rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

function isOwnerAlive(dir: string): boolean {
  let owner: string;
  try {
    owner = readFileSync(join(dir, 'owner'), 'utf8').trim();
  } catch {
    // no owner file yet: being created right now, or a crash mid-creation; leave young ones alone
    return isYoung(dir);
  }
  const [pid, startTime] = owner.split(' ');
  return readStartTime(Number(pid)) === startTime;
}

function isYoung(dir: string): boolean {
  try {
    return Date.now() - statSync(dir).mtimeMs < 60_000;
  } catch {
    return false;
  }
}

/** The start time (clock ticks since boot) of pid, '' if it does not exist. */
function readStartTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // field 22; the command name (field 2) may hold spaces, so count from the closing paren
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
