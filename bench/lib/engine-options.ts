/**
 * The mirror engine as the benchmark calls it: the only place that names its module and its tuning
 * knobs (`concurrency`, `listConcurrency`, `multipartThreshold`, `partSize`), so a change there is
 * wired here alone.
 */
import { MirrorSchema } from '../../src/config/mirror-schema.ts';
import type { MirrorTuning } from '../../src/storage/mirror/mirror-bucket.ts';

export { mirrorBucket } from '../../src/storage/mirror/mirror-bucket.ts';

/** The knobs the benchmark sets; undefined ones keep the engine's own defaults. */
export interface EngineTuning {
  concurrency: number;
  listConcurrency?: number;
  /** Objects above this many bytes are copied in parts (UploadPartCopy, or streamed where it is missing). */
  multipartThreshold?: number;
  partSize?: number;
}

/** The configuration's defaults (`clusters.*.mirror`), with `overrides` on top: what a backup would use. */
export function engineTuning(overrides: Partial<EngineTuning> = {}): EngineTuning {
  const defaults = MirrorSchema.parse({});
  const tuning: EngineTuning = {
    concurrency: defaults.concurrency,
    listConcurrency: defaults.listConcurrency,
    multipartThreshold: defaults.multipartThreshold,
    partSize: defaults.partSize,
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) Object.assign(tuning, { [key]: value });
  }
  return tuning;
}

/** The engine's tuning options for `tuning`, leaving out what is unset. */
export function tuningOptions(tuning: EngineTuning): MirrorTuning {
  const options: MirrorTuning = { concurrency: tuning.concurrency };
  if (tuning.listConcurrency !== undefined) options.listConcurrency = tuning.listConcurrency;
  if (tuning.multipartThreshold !== undefined) options.multipartThreshold = tuning.multipartThreshold;
  if (tuning.partSize !== undefined) options.partSize = tuning.partSize;
  return options;
}
