import { z } from 'zod';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** A size in bytes, or a string with a binary unit: `5GiB`, `512 MiB`. */
const ByteSize = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\s*\d+(\.\d+)?\s*(B|KiB|MiB|GiB|TiB)?\s*$/i, 'a size such as 5GiB or 512MiB')
    .transform((text) => {
      const [, number, unit] = /^\s*([\d.]+)\s*([a-z]*)\s*$/i.exec(text)!;
      return Math.round(Number(number) * SIZE_UNITS[unit!.toLowerCase()]!);
    }),
]);

const MiB = 1024 ** 2;

/** How the bucket is copied: by precopy, mirror, restore-bucket (and later prune). */
export const MirrorSchema = z
  .object({
    /** Copies in flight at most; lowered by itself while the server pushes back (503, 429, resets). */
    concurrency: z.number().int().min(1).max(512).default(64),
    /** Key ranges listed (and diffed) at once. */
    listConcurrency: z.number().int().min(1).max(64).default(8),
    /** Server-side copies above this size go in parts (UploadPartCopy); at most 5 GiB, CopyObject's limit. */
    multipartThreshold: ByteSize.pipe(
      z
        .number()
        .min(5 * MiB)
        .max(5 * 1024 * MiB),
    ).default(5 * 1024 * MiB),
    /** Part size of multipart copies and streamed uploads (S3: at least 5 MiB). */
    partSize: ByteSize.pipe(
      z
        .number()
        .min(5 * MiB)
        .max(5 * 1024 * MiB),
    ).default(64 * MiB),
    /**
     * Split precopy and mirror into this many BullMQ jobs by key range, taken by whichever worker process
     * is free: worker replicas on several machines share one mirror. 1 = the phase's own worker does it all.
     */
    shards: z.number().int().min(1).max(256).default(1),
    /** Mirror while the cluster still runs, before the pause, so the paused mirror copies only the delta. */
    precopy: z.boolean().default(true),
  })
  .strict();
