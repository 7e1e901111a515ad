/**
 * Ctrl-C safety for the benchmarks: the servers they start live in harness directories; when the run
 * is interrupted, their processes are killed and the directories deleted before the process dies.
 */
import { rmSync } from 'node:fs';
import { signalProcessesOf } from '../../test/harness/harness-dir.ts';

const guarded = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function killAll(): void {
  for (const dir of guarded) signalProcessesOf(dir, 'SIGKILL');
  for (const dir of guarded) rmSync(dir, { recursive: true, force: true });
  guarded.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  for (const name of SIGNALS) process.removeListener(name, onSignal);
  process.kill(process.pid, signal);
}

/** Kills the processes of `dir` and deletes it if this process is interrupted; returns the release function. */
export function guardDir(dir: string): () => void {
  if (guarded.size === 0) for (const name of SIGNALS) process.once(name, onSignal);
  guarded.add(dir);
  return () => {
    guarded.delete(dir);
  };
}
