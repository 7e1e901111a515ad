/**
 * The contenders of the mirror benchmark, each run as a measured child process: pachops' engine,
 * rclone (16 or 32 transfers, three ways of deciding "unchanged"), aws s3 sync, and a bare CopyObject loop.
 */
import { fileURLToPath } from 'node:url';
import type { CopyLoopInput } from '../copy-loop-child.ts';
import type { MirrorChildInput, MirrorChildOutput } from '../mirror-child.ts';
import type { EngineTuning } from './engine-options.ts';
import { type ChildRun, lastJsonLine, type Measured, measureOrThrow } from './measure.ts';
import { productNodeEnv } from './node-env.ts';
import {
  type AwsProfile,
  awsCopied,
  awsSync,
  type RcloneMode,
  rcloneSync,
  rcloneTransferred,
} from './peers.ts';
import { type BenchServer, bucketTarget } from './servers.ts';

export type ContenderKind = 'ours' | 'rclone' | 'aws' | 'loop';

/** One measured run: GNU time's figures and what the tool says it copied (undefined: it did not say). */
export interface RunFigures extends Pick<Measured, 'wallS' | 'peakRssMiB' | 'cpuS'> {
  copied: number | undefined;
  /** pachops only: the engine's own time, without the process start-up (what a running worker pays). */
  engineS?: number;
}

export interface RunContext {
  server: BenchServer;
  aws: AwsProfile;
  from: string;
  to: string;
}

export interface Contender {
  tool: string;
  kind: ContenderKind;
  rcloneMode?: RcloneMode;
  run(ctx: RunContext): Promise<RunFigures>;
}

const child = (name: string) => fileURLToPath(new URL(`../${name}`, import.meta.url));

/** A Node child of this repository (Node 24, the same binary as the parent), run as the product runs. */
function nodeChild(script: string, input: unknown): ChildRun {
  return {
    command: process.execPath,
    args: [child(script)],
    env: productNodeEnv(),
    stdin: JSON.stringify(input),
  };
}

const figures = (measured: Measured, copied: number | undefined): RunFigures => ({
  wallS: measured.wallS,
  peakRssMiB: measured.peakRssMiB,
  cpuS: measured.cpuS,
  copied,
});

/** The source and target a Node child mirrors between, on one server. */
const bucketPair = (server: BenchServer, from: string, to: string) => ({
  source: bucketTarget(server.target, from),
  target: bucketTarget(server.target, to),
});

/** pachops' mirror engine (`mirrorBucket`), tuned as given. */
export function ourEngine(tuning: EngineTuning, tool = 'pachops'): Contender {
  return {
    tool,
    kind: 'ours',
    async run({ server, from, to }) {
      const input: MirrorChildInput = { ...bucketPair(server, from, to), tuning };
      const measured = await measureOrThrow(tool, nodeChild('mirror-child.ts', input));
      const output = lastJsonLine<MirrorChildOutput>(measured.stdout);
      return { ...figures(measured, output.copied), engineS: output.elapsedMs / 1000 };
    },
  };
}

/** `rclone sync` with `transfers` (and as many checkers) in a given "unchanged" mode. */
export function rclone(transfers: number, mode: RcloneMode = 'default'): Contender {
  const suffix = { default: '', checksum: ' --checksum', update: ' --update --use-server-modtime' }[mode];
  const tool = `rclone --transfers ${transfers}${suffix}`;
  return {
    tool,
    kind: 'rclone',
    rcloneMode: mode,
    async run({ server, from, to }) {
      const options = { transfers, checkers: 16, mode };
      const measured = await measureOrThrow(
        tool,
        rcloneSync(server.name, server.target, { from, to }, options),
      );
      return figures(measured, rcloneTransferred(measured.stderr));
    },
  };
}

/** `aws s3 sync` with the profile's settings. */
export function awsCli(): Contender {
  return {
    tool: 'aws s3 sync',
    kind: 'aws',
    async run({ server, aws, from, to }) {
      const measured = await measureOrThrow('aws s3 sync', awsSync(server.target, aws, { from, to }));
      return figures(measured, awsCopied(measured.stdout));
    },
  };
}

/** List + CopyObject every key, `inFlight` at a time. */
export function copyLoop(inFlight: number): Contender {
  const tool = `bare CopyObject ×${inFlight}`;
  return {
    tool,
    kind: 'loop',
    async run({ server, from, to }) {
      const input: CopyLoopInput = { ...bucketPair(server, from, to), inFlight };
      const measured = await measureOrThrow(tool, nodeChild('copy-loop-child.ts', input));
      return figures(measured, lastJsonLine<{ copied: number }>(measured.stdout).copied);
    },
  };
}
