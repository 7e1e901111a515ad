/**
 * Runs a contender as a child process under GNU time, so that wall time, peak RSS and client CPU
 * (user + sys) are measured the same way for every tool: pachops' engine, rclone, aws and the bare loop.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ChildRun {
  command: string;
  args: string[];
  /** The child's whole environment (secrets go here or in files, never in `args`). */
  env: Record<string, string | undefined>;
  /** Written to the child's stdin, then closed. */
  stdin?: string;
}

export interface Measured {
  wallS: number;
  peakRssMiB: number;
  userS: number;
  sysS: number;
  /** user + sys. */
  cpuS: number;
  exitCode: number;
  stdout: string;
  stderr: string;
}

const TIME = '/usr/bin/time';

/** Runs the child under `/usr/bin/time -f '%e %M %U %S'` and returns its figures and output. */
export async function measureChild(run: ChildRun): Promise<Measured> {
  const dir = await mkdtemp(join(tmpdir(), 'pachops-bench-time-'));
  const timeFile = join(dir, 'time');
  try {
    const args = ['-f', '%e %M %U %S', '-o', timeFile, run.command, ...run.args];
    const { exitCode, stdout, stderr } = await spawnCollect(TIME, args, run.env, run.stdin);
    const fields = (await readFile(timeFile, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number);
    const [wallS, rssKiB, userS, sysS] = fields as [number, number, number, number];
    return { wallS, peakRssMiB: rssKiB / 1024, userS, sysS, cpuS: userS + sysS, exitCode, stdout, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Like measureChild, but throws (with the child's last words) when it exits non-zero. */
export async function measureOrThrow(name: string, run: ChildRun): Promise<Measured> {
  const measured = await measureChild(run);
  if (measured.exitCode !== 0) {
    const tail = `${measured.stderr}\n${measured.stdout}`.trim().split('\n').slice(-12).join('\n');
    throw new Error(`${name} exited with ${measured.exitCode}:\n${tail}`);
  }
  return measured;
}

function spawnCollect(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  stdin: string | undefined,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolve({
        exitCode: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.on('error', () => undefined); // a child that exits early closes its stdin
    child.stdin.end(stdin ?? '');
  });
}

/** The last line of stdout that parses as a JSON object (the children print one result line). */
export function lastJsonLine<T>(stdout: string): T {
  const line = stdout
    .trim()
    .split('\n')
    .reverse()
    .find((candidate) => candidate.startsWith('{'));
  if (!line) throw new Error(`no JSON result line in:\n${stdout.slice(-2000)}`);
  return JSON.parse(line) as T;
}
