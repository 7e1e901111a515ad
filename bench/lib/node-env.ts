import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * How the product's Node processes run (deploy/Dockerfile sets the same ENV; a deploy test holds them
 * equal), so that the benchmark measures pachops as it is deployed:
 * - `--max-semi-space-size=8`: V8 otherwise grows the young generation to 64 MiB under the mirror's
 *   allocation rate (listing pages, requests), and the heap it commits grows with the run's length, not
 *   with what is live (about 25 MiB). Capped, peak RSS stays flat: a no-change diff of 200,000 keys
 *   took 1.64× the memory of 20,000 by default, 1.19× capped, at the same CPU.
 * - `NODE_COMPILE_CACHE`: compiled code is kept on disk, so a process starts in about half the time
 *   (the AWS SDK is most of what loads).
 */
export const PRODUCT_NODE_OPTIONS = '--max-semi-space-size=8';

const COMPILE_CACHE = join(tmpdir(), 'pachops-bench-compile-cache');

/** The environment of a Node child that stands for pachops: the product's options, a compile cache. */
export function productNodeEnv(): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_OPTIONS: PRODUCT_NODE_OPTIONS,
    NODE_COMPILE_CACHE: COMPILE_CACHE,
  };
}
