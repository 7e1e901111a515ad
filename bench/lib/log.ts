/** Progress lines of the benchmarks, on stderr so that stdout holds only the tables. */
const started = performance.now();

/** Prints `[bench 12.3s] message` to stderr. */
export function note(message: string): void {
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(`[bench ${seconds}s] ${message}\n`);
}

/** Times `work` and notes how long it took. */
export async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await work();
  note(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return result;
}
