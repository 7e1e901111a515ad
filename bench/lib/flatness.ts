/**
 * Memory flatness of the engine's diff: its peak RSS for a no-change run over `base` objects and over
 * `n` objects. The bucket is diffed against itself: the same two listings and merge-join as a real
 * no-change run, without first copying `n` objects into a second bucket (which would take minutes).
 */
import { engineTuning } from './engine-options.ts';
import { note, timed } from './log.ts';
import { ourEngine, type RunFigures } from './mirror-contenders.ts';
import type { MirrorKnobs } from './mirror-knobs.ts';
import type { AwsProfile } from './peers.ts';
import { seedTiny } from './seed.ts';
import type { BenchServer } from './servers.ts';
import { ratioLine, type SummaryLine } from './summary.ts';
import { fixed, printTable } from './table.ts';

async function diffRun(
  server: BenchServer,
  aws: AwsProfile,
  knobs: MirrorKnobs,
  count: number,
): Promise<RunFigures> {
  const bucket = `flat-${count}`;
  await server.createBucket(bucket);
  await timed(`${server.name}: seeding ${count} one-byte objects`, () =>
    seedTiny(server.client, bucket, count, { onProgress: (done) => note(`  ${done} seeded`) }),
  );
  const engine = ourEngine(engineTuning(knobs.tuning));
  return engine.run({ server, aws, from: bucket, to: bucket });
}

/** Measures both sizes, prints them, and returns the summary line (RSS ratio, target ≤ 1.3). */
export async function measureFlatness(
  server: BenchServer,
  aws: AwsProfile,
  knobs: MirrorKnobs,
): Promise<SummaryLine[]> {
  if (knobs.flatBase === 0 || knobs.flatN === 0) return [];
  const base = await diffRun(server, aws, knobs, knobs.flatBase);
  const large = await diffRun(server, aws, knobs, knobs.flatN);
  printTable(
    `mirror: memory of a no-change diff (pachops, ${server.name}; bucket diffed against itself)`,
    ['objects', 'wall s', 'objects/s', 'peak RSS MiB', 'client CPU s', 'copied'],
    [base, large].map((fig, i) => {
      const count = i === 0 ? knobs.flatBase : knobs.flatN;
      return [
        count,
        fixed(fig.wallS),
        fixed(count / fig.wallS, 0),
        fixed(fig.peakRssMiB, 0),
        fixed(fig.cpuS),
        fig.copied,
      ];
    }),
  );
  const metric = `no-change peak RSS ${knobs.flatN} / ${knobs.flatBase} objects`;
  return [ratioLine(`mirror/${server.name}`, metric, large.peakRssMiB, base.peakRssMiB, 1.3)];
}
