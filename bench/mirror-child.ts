/**
 * One run of pachops' mirror engine, as a child process that bench/mirror.ts measures: reads a JSON
 * MirrorChildInput on stdin (credentials travel there, never in argv) and prints one JSON result line.
 */
import { text } from 'node:stream/consumers';
import type { S3Target } from '../src/config/load.ts';
import { limitHeapGrowth } from '../src/lifecycle.ts';
import { changedObjectKey } from '../src/storage/layout.ts';
import { openBucket } from '../src/storage/s3.ts';
import { type EngineTuning, mirrorBucket, tuningOptions } from './lib/engine-options.ts';

/** What the parent sends on stdin. */
export interface MirrorChildInput {
  source: S3Target;
  target: S3Target;
  tuning: EngineTuning;
}

/** What the child prints (the engine's result fields the benchmark reads). */
export interface MirrorChildOutput {
  listed: number;
  copied: number;
  copiedBytes: number;
  elapsedMs: number;
}

async function main(): Promise<void> {
  const input = JSON.parse(await text(process.stdin)) as MirrorChildInput;
  const sockets = Math.max(64, input.tuning.concurrency + (input.tuning.listConcurrency ?? 0) + 4);
  const source = openBucket(input.source, { maxSockets: sockets });
  const target = openBucket(input.target, { maxSockets: sockets });
  const result = await mirrorBucket({
    source,
    target,
    changedKeyFor: changedObjectKey,
    ...tuningOptions(input.tuning),
  });
  const output: MirrorChildOutput = {
    listed: result.listed,
    copied: result.copied,
    copiedBytes: result.copiedBytes,
    elapsedMs: result.elapsedMs,
  };
  process.stdout.write(`${JSON.stringify(output)}\n`);
  source.client.destroy();
  target.client.destroy();
}

limitHeapGrowth(); // as the worker and the CLI do
await main();
