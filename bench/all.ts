/**
 * `npm run bench`: bench:mirror, bench:dump and bench:slack one after another (each starts and stops its
 * own servers), then one table of their headline figures against issue 6's targets. BENCH_* knobs pass
 * through; BENCH_ONLY=mirror,dump limits the set.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { note } from './lib/log.ts';
import { printSummary, type SummaryLine } from './lib/summary.ts';

const BENCHES = ['mirror', 'dump', 'slack'] as const;

function runBench(name: string, summaryFile: string): Promise<number> {
  const script = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, BENCH_SUMMARY_FILE: summaryFile },
      stdio: 'inherit',
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function readSummary(file: string): Promise<SummaryLine[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as SummaryLine);
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(',') ?? [...BENCHES];
  const dir = await mkdtemp(join(tmpdir(), 'pachops-bench-all-'));
  const summaryFile = join(dir, 'summary.jsonl');
  const timing: SummaryLine[] = [];
  try {
    for (const name of BENCHES.filter((bench) => only.includes(bench))) {
      const started = performance.now();
      const code = await runBench(name, summaryFile);
      const seconds = (performance.now() - started) / 1000;
      note(`bench:${name} exited ${code} after ${seconds.toFixed(0)} s`);
      timing.push({
        bench: name,
        metric: 'run time (incl. server start-up and seeding)',
        value: `${seconds.toFixed(0)} s${code ? ` (exit ${code})` : ''}`,
      });
      if (code !== 0) process.exitCode = 1;
    }
    printSummary('all benchmarks (one run each; figures printed, never asserted)', [
      ...(await readSummary(summaryFile)),
      ...timing,
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
