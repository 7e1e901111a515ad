/**
 * `npm run bench:mirror`: pachops' mirror engine against rclone, aws s3 sync and a bare CopyObject loop,
 * on Ceph RGW and then s3rver, each started here on free ports and stopped at the end. Prints every run,
 * the memory-flatness figure and the ratios issue 6's targets name. Figures are printed, never asserted.
 */
import { cleanStaleHarnessDirs } from '../test/harness/harness-dir.ts';
import { measureDowntime } from './lib/downtime.ts';
import { engineTuning } from './lib/engine-options.ts';
import { measureFlatness } from './lib/flatness.ts';
import { note, timed } from './lib/log.ts';
import { type MirrorKnobs, readMirrorKnobs } from './lib/mirror-knobs.ts';
import { mirrorRatios, printMirrorTable } from './lib/mirror-report.ts';
import { type MirrorRow, runMirrorScenarios } from './lib/mirror-scenarios.ts';
import { writeAwsProfile } from './lib/peers.ts';
import { type BenchServer, withServer } from './lib/servers.ts';
import { printSummary, recordSummary, type SummaryLine } from './lib/summary.ts';

async function benchOnServer(
  server: BenchServer,
  knobs: MirrorKnobs,
  rows: MirrorRow[],
): Promise<SummaryLine[]> {
  // aws copies objects above its threshold with UploadPartCopy, which s3rver lacks (501)
  const multipartThreshold = server.name === 'rgw' ? '8MB' : '5GB';
  const aws = await writeAwsProfile(server.target, { multipartThreshold, maxConcurrent: 16 });
  try {
    await runMirrorScenarios(server, knobs, aws, rows);
    const flat = server.name === 'rgw' ? await measureFlatness(server, aws, knobs) : [];
    return [...mirrorRatios(rows, server.name), ...flat];
  } finally {
    await aws.remove();
  }
}

/** Runs one part; a failure is noted and kept for the end, so the other parts still run and print. */
async function attempt(
  name: string,
  failures: string[],
  work: () => Promise<SummaryLine[]>,
): Promise<SummaryLine[]> {
  try {
    return await timed(`${name} done`, work);
  } catch (error) {
    failures.push(`${name}: ${(error as Error).stack ?? String(error)}`);
    note(`${name} FAILED: ${String(error)}`);
    return [];
  }
}

async function main(): Promise<void> {
  const knobs = readMirrorKnobs();
  const tuning = JSON.stringify(engineTuning(knobs.tuning));
  note(`mirror benchmark: ${JSON.stringify(knobs)}; engine tuning ${tuning}`);
  await cleanStaleHarnessDirs();
  const rows: MirrorRow[] = [];
  const summary: SummaryLine[] = [];
  const failures: string[] = [];
  for (const name of knobs.servers) {
    summary.push(
      ...(await attempt(name, failures, () =>
        withServer(name, (server) => benchOnServer(server, knobs, rows)),
      )),
    );
  }
  if (knobs.downtimeN > 0) {
    const downtime = { objects: knobs.downtimeN, writeEveryMs: knobs.downtimeWriteMs };
    summary.push(...(await attempt('downtime', failures, () => measureDowntime(downtime))));
  }
  printMirrorTable(rows);
  printSummary('mirror: ratios (one run; no change and +1% new: medians; targets from issue 6)', summary);
  recordSummary(summary);
  if (failures.length > 0) {
    process.stderr.write(`\nmirror benchmark failures:\n${failures.join('\n')}\n`);
    process.exitCode = 1;
  }
}

await main();
