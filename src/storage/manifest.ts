import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { DUMP_CIPHER } from '../crypto/dump-cipher.ts';
import { PachopsError } from '../errors.ts';
import { BACKUPS_PREFIX, manifestKey } from './layout.ts';
import { type Bucket, isNotFound, s3Error } from './s3.ts';

export const ManifestSchema = z.object({
  formatVersion: z.literal(1),
  backupId: z.string(),
  cluster: z.string(),
  note: z.string().optional(),
  requestedBy: z.string(),
  createdAt: z.string(),
  completedAt: z.string(),
  pachd: z.object({ version: z.string(), image: z.string() }),
  helm: z
    .object({
      release: z.string(),
      namespace: z.string(),
      revision: z.number(),
      chart: z.string(),
      chartVersion: z.string(),
      appVersion: z.string(),
      valuesKey: z.string(),
    })
    .nullable(),
  databases: z.array(
    z.object({
      name: z.string(),
      key: z.string(),
      bytes: z.number(),
      /** Of the bytes stored (the ciphertext when encrypted). */
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      /** Client-side encryption (absent in older manifests and for plain dumps): never the key. */
      encryption: z
        .object({ algorithm: z.literal(DUMP_CIPHER), keyFingerprint: z.string().regex(/^[0-9a-f]{16}$/) })
        .optional(),
      serverVersion: z.string(),
      pgDumpVersion: z.string(),
      /** pg_dump's `--compress` (absent in older manifests: pg_dump's default). */
      compression: z.string().optional(),
      durationMs: z.number(),
    }),
  ),
  objects: z.object({
    listKey: z.string(),
    count: z.number(),
    bytes: z.number(),
    copied: z.number(),
    copiedBytes: z.number(),
    changed: z.number(),
    /** Objects of the backup's copy's size whose ETags could not be compared (multipart): not proven equal. */
    unverified: z.object({ count: z.number(), sample: z.array(z.string()) }).optional(),
  }),
  source: z.object({ bucket: z.string(), endpoint: z.string().optional() }),
  pause: z.object({
    mode: z.enum(['scale', 'enterprise']),
    startedAt: z.string(),
    pausedAt: z.string().optional(),
  }),
  consistency: z
    .object({ referenced: z.number(), missing: z.number(), sample: z.array(z.string()) })
    .optional(),
  downtimeMs: z.number().optional(),
  verification: z
    .object({ at: z.string(), ok: z.boolean(), problems: z.array(z.string()), objectsChecked: z.number() })
    .optional(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** The config entry whose `encryption` holds the key of a backup's dumps: its own cluster's backup. */
export function backupEntry(manifest: Pick<Manifest, 'cluster'>): string {
  return `clusters.${manifest.cluster}.backup`;
}

/** Written last: a backup without a manifest is incomplete and is never listed. */
export async function writeManifest(bucket: Bucket, manifest: Manifest): Promise<void> {
  const key = manifestKey(manifest.backupId);
  try {
    await bucket.client.send(
      new PutObjectCommand({
        ...bucket.writeParams,
        Bucket: bucket.name,
        Key: key,
        Body: `${JSON.stringify(manifest, null, 2)}\n`,
        ContentType: 'application/json',
      }),
    );
  } catch (error) {
    throw s3Error(error, `write ${key} to ${bucket.name}`);
  }
}

export async function readManifest(bucket: Bucket, backupId: string): Promise<Manifest | undefined> {
  const key = manifestKey(backupId);
  let text: string;
  try {
    const response = await bucket.client.send(new GetObjectCommand({ Bucket: bucket.name, Key: key }));
    text = await response.Body!.transformToString();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw s3Error(error, `read ${key} from ${bucket.name}`);
  }
  const parsed = ManifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new PachopsError(
      'MANIFEST_INVALID',
      `${key} in ${bucket.name} is not a valid manifest: ${parsed.error.issues[0]?.message}`,
      {
        permanent: true,
      },
    );
  }
  return parsed.data;
}

/** Every backup folder's id under `.pachops/backups/`, complete or not, in key order. */
export async function listBackupIds(bucket: Bucket): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const page = await bucket.client
      .send(
        new ListObjectsV2Command({
          Bucket: bucket.name,
          Prefix: BACKUPS_PREFIX,
          Delimiter: '/',
          ContinuationToken: token,
        }),
      )
      .catch((error) => {
        throw s3Error(error, `list backups in ${bucket.name}`);
      });
    for (const prefix of page.CommonPrefixes ?? []) ids.push(prefix.Prefix!.slice(BACKUPS_PREFIX.length, -1));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return ids;
}

/** Complete backups (those with a manifest) in a backup bucket, newest first. */
export async function listBackups(bucket: Bucket, options: { cluster?: string } = {}): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for (const id of await listBackupIds(bucket)) {
    const manifest = await readManifest(bucket, id);
    if (manifest && (!options.cluster || manifest.cluster === options.cluster)) manifests.push(manifest);
  }
  return manifests.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}
