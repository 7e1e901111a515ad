import { z } from 'zod';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

const SIZE_HINT = 'a size: bytes, or a number with a unit such as 512MiB, 5GiB or 100MB';

/** A size in bytes, or a string with a unit: `5GiB`, `512 MiB` (binary), `100MB` (decimal). */
const ByteSize = z.union(
  [
    z.number().int().nonnegative(),
    z
      .string()
      .regex(/^\s*\d+(\.\d+)?\s*(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)?\s*$/i, SIZE_HINT)
      .transform((text) => {
        const [, number, unit] = /^\s*([\d.]+)\s*([a-z]*)\s*$/i.exec(text)!;
        return Math.round(Number(number) * SIZE_UNITS[unit!.toLowerCase()]!);
      }),
  ],
  { error: SIZE_HINT },
);

const MiB = 1024 ** 2;

/** A ByteSize from 5 MiB (S3's smallest part) to 5 GiB (CopyObject's and a part's largest). */
const PartSize = ByteSize.pipe(
  z
    .number()
    .min(5 * MiB, "at least 5MiB (S3's smallest part)")
    .max(5 * 1024 * MiB, "at most 5GiB (S3's largest single copy or part)"),
);

/** How the bucket is copied: by precopy, mirror, restore-bucket (and later prune). */
export const MirrorSchema = z
  .object({
    /** Copies in flight at most; lowered by itself while the server pushes back (503, 429, resets). */
    concurrency: z.number().int().min(1).max(512).default(64),
    /** Key ranges listed (and diffed) at once. */
    listConcurrency: z.number().int().min(1).max(64).default(8),
    /** Server-side copies above this size go in parts (UploadPartCopy); at most 5 GiB, CopyObject's limit. */
    multipartThreshold: PartSize.default(5 * 1024 * MiB),
    /** Part size of multipart copies and streamed uploads (S3: at least 5 MiB). */
    partSize: PartSize.default(64 * MiB),
    /**
     * Split precopy and mirror into this many BullMQ jobs by key range, taken by whichever worker process
     * is free: worker replicas on several machines share one mirror. 1 = the phase's own worker does it all.
     */
    shards: z.number().int().min(1).max(256).default(1),
    /** Mirror while the cluster still runs, before the pause, so the paused mirror copies only the delta. */
    precopy: z.boolean().default(true),
  })
  .strict();
