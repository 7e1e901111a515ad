import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { keyForDump } from '../../../src/crypto/dump-cipher.ts';
import type { DumpKey } from '../../../src/crypto/dump-key.ts';
import { PachopsError } from '../../../src/errors.ts';
import { formatBytes, formatCount } from '../../../src/format.ts';
import { checkDump } from '../../../src/postgres/check-dump.ts';
import { manifestKey, RESERVED_PREFIX } from '../../../src/storage/layout.ts';
import { compareKeys, listObjects } from '../../../src/storage/listing.ts';
import { backupEntry, type Manifest, readManifest, writeManifest } from '../../../src/storage/manifest.ts';
import { type ObjectListEntry, readObjectList } from '../../../src/storage/object-list.ts';
import { type Bucket, headObject, s3Error } from '../../../src/storage/s3.ts';
import type { Phase } from '../types.ts';

/** Reads the backup back: every dump's sha256 and archive, every listed object's presence and size. */
export const verifyPhase: Phase = {
  name: 'verify',
  async run(ctx) {
    const result = await verifyBackup({
      bucket: ctx.services.backup,
      backupId: ctx.operation.backupId,
      pgBin: ctx.config.tools.pgBin,
      dumpKey: ctx.cluster.backup.dumpKey,
      downtimeMs: ctx.operation.state.downtimeMs,
      progress: ctx.progress,
    });
    if (result.problems.length) {
      const shown = result.problems.slice(0, 5).join('; ');
      const more = result.problems.length > 5 ? ` (+${result.problems.length - 5} more)` : '';
      // Only the cluster's own missing objects: the backup holds all there was, and a retry finds the same
      throw new PachopsError(
        result.inconsistentOnly ? 'BACKUP_INCONSISTENT' : 'VERIFY_FAILED',
        `backup ${ctx.operation.backupId} failed verification: ${shown}${more}`,
        { permanent: true },
      );
    }
    return {
      summary: `${result.dumps} dump(s) and ${formatCount(result.objects)} objects verified`,
      details: result.lines,
    };
  },
};

export interface VerifyResult {
  dumps: number;
  objects: number;
  problems: string[];
  /** The one problem is the mirror's consistency check (the cluster's bucket lacked referenced objects). */
  inconsistentOnly: boolean;
  lines: string[];
}

/** Checks a complete backup and records the outcome in its manifest (also `pachops verify`). */
export async function verifyBackup(input: {
  bucket: Bucket;
  backupId: string;
  pgBin: string;
  /** The backup's cluster's dump key (`backup.encryption`): encrypted dumps are decrypted to be read. */
  dumpKey?: DumpKey;
  downtimeMs?: number;
  progress: (text: string) => void;
}): Promise<VerifyResult> {
  const { bucket, backupId } = input;
  const manifest = await readManifest(bucket, backupId);
  if (!manifest)
    throw new PachopsError(
      'BACKUP_INCOMPLETE',
      `no manifest for ${backupId} in ${bucket.name}: the backup is incomplete or unknown`,
      { permanent: true },
    );
  const problems: string[] = [];
  const lines: string[] = [];
  for (const dump of manifest.databases) {
    input.progress(`checking the ${dump.name} dump`);
    const check = await Promise.resolve()
      .then(() =>
        checkDump(bucket, dump.key, input.pgBin, keyForDump(dump, input.dumpKey, backupEntry(manifest))),
      )
      .catch((error: Error) => error);
    if (check instanceof Error) problems.push(check.message);
    else if (check.sha256 !== dump.sha256 || check.bytes !== dump.bytes)
      problems.push(`${dump.key}: sha256 or size differs from the manifest`);
    else
      lines.push(
        `${dump.name}: sha256 matches, ${dump.encryption ? 'decrypts, ' : ''}pg_restore reads ${check.tocEntries} entries (${formatBytes(check.bytes)})`,
      );
  }
  const objects = await checkObjects(bucket, manifest, problems, input.progress);
  lines.push(`${formatCount(objects)} listed objects present with their sizes`);
  const inconsistent = checkConsistency(manifest, problems, lines);
  await checkServerSideEncryption(bucket, manifest, problems, lines);
  const verification = {
    at: new Date().toISOString(),
    ok: problems.length === 0,
    problems: problems.slice(0, 50),
    objectsChecked: objects,
  };
  await writeManifest(bucket, {
    ...manifest,
    downtimeMs: input.downtimeMs ?? manifest.downtimeMs,
    verification,
  });
  const inconsistentOnly = inconsistent && problems.length === 1;
  return { dumps: manifest.databases.length, objects, problems, inconsistentOnly, lines };
}

/**
 * The mirror's check of the object list against the keys the dumped metadata references: a backup that
 * lacks some restores a cluster that lacks them too, so it is not a good backup, even when the cluster's
 * own bucket was already missing them (a fault to hear about now, not at restore time).
 */
function checkConsistency(manifest: Manifest, problems: string[], lines: string[]): boolean {
  const consistency = manifest.consistency;
  if (!consistency) return false;
  if (consistency.missing === 0) {
    lines.push(`all ${formatCount(consistency.referenced)} chunk objects the database references are listed`);
    return false;
  }
  problems.push(
    `${formatCount(consistency.missing)} of ${formatCount(consistency.referenced)} chunk objects the database references are not in the backup: the cluster's bucket lacked them when it was mirrored, so a restore would lack them too (e.g. ${consistency.sample.slice(0, 3).join(', ')})`,
  );
  return true;
}

/** Merge-joins the object list with the backup bucket's listing; `stored` versions are checked one by one. */
async function checkObjects(
  bucket: Bucket,
  manifest: Manifest,
  problems: string[],
  progress: (text: string) => void,
): Promise<number> {
  const listing = listObjects(bucket, { skipPrefix: RESERVED_PREFIX })[Symbol.asyncIterator]();
  let present = await listing.next();
  let checked = 0;
  const report = (entry: ObjectListEntry, what: string) =>
    problems.push(`${entry.stored ?? entry.key}: ${what}`);
  for await (const entry of readObjectList(bucket, manifest.objects.listKey)) {
    checked++;
    if (checked % 10_000 === 0) progress(`${formatCount(checked)} objects checked`);
    if (entry.stored) {
      const size = (await headObject(bucket, entry.stored))?.ContentLength;
      if (size === undefined) report(entry, 'missing');
      else if (size !== entry.size) report(entry, `size ${size}, expected ${entry.size}`);
      continue;
    }
    while (!present.done && compareKeys(present.value.key, entry.key) < 0) present = await listing.next();
    if (present.done || present.value.key !== entry.key) report(entry, 'missing');
    else if (present.value.size !== entry.size)
      report(entry, `size ${present.value.size}, expected ${entry.size}`);
  }
  if (checked !== manifest.objects.count)
    problems.push(`object list has ${checked} entries, manifest says ${manifest.objects.count}`);
  return checked;
}

/**
 * With `backup.sse`, the backup's own files must say they are encrypted that way: a server may accept the
 * header and ignore it (Ceph RGW 16 with AES256), and an operator who asked for encryption must hear so.
 */
async function checkServerSideEncryption(
  bucket: Bucket,
  manifest: Manifest,
  problems: string[],
  lines: string[],
): Promise<void> {
  const wanted = bucket.writeParams.ServerSideEncryption;
  if (!wanted) return;
  const keys = [manifestKey(manifest.backupId), ...manifest.databases.map((d) => d.key)];
  const missing: string[] = [];
  for (const key of keys) {
    const head = await bucket.client
      .send(new HeadObjectCommand({ Bucket: bucket.name, Key: key }))
      .catch((error) => {
        throw s3Error(error, `head ${key}`);
      });
    if (head.ServerSideEncryption !== wanted) missing.push(`${key} (${head.ServerSideEncryption ?? 'none'})`);
  }
  if (missing.length)
    problems.push(
      `the S3 server did not apply sse ${wanted} to ${missing.join(', ')}: it accepted the header and ignored it`,
    );
  else lines.push(`manifest and dumps stored with server-side encryption ${wanted}`);
}
