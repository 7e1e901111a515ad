/**
 * How a process used the CPU over a stretch of time, from Linux's scheduler statistics
 * (/proc/<pid>/task/<tid>/schedstat: ns on a CPU, ns runnable but waiting for one): CPU time summed over
 * its threads, the wait of its main thread (where Node runs JavaScript: a wait there delays every reply).
 * Tells a process that needed much CPU from one that was kept waiting while others ran.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface SchedTimes {
  /** ms the process's threads ran. */
  onCpuMs: number;
  /** ms its main thread was ready to run but waited for a CPU. */
  waitedMs: number;
}

/** The process's totals since it started, or undefined where the kernel does not keep them (not Linux). */
export function readSchedTimes(pid: number): SchedTimes | undefined {
  try {
    const times = (task: string) =>
      readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ').map(Number);
    let onCpu = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) onCpu += times(task)[0] ?? 0;
    return { onCpuMs: onCpu / 1e6, waitedMs: (times(String(pid))[1] ?? 0) / 1e6 };
  } catch {
    return undefined;
  }
}

/** Runs `work` and returns its result with what `pid` used meanwhile (undefined where not measurable). */
export async function withSchedTimes<T>(
  pid: number,
  work: () => Promise<T>,
): Promise<[T, SchedTimes | undefined]> {
  const before = readSchedTimes(pid);
  const result = await work();
  const after = readSchedTimes(pid);
  if (!before || !after) return [result, undefined];
  return [result, { onCpuMs: after.onCpuMs - before.onCpuMs, waitedMs: after.waitedMs - before.waitedMs }];
}
