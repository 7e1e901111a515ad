import type { Retention } from '../../config/schema.ts';
import { PachopsError } from '../../errors.ts';
import { listBackupIds, readManifest } from '../manifest.ts';
import type { Bucket } from '../s3.ts';
import { applyRetention } from './retention.ts';

/** What a prune keeps and deletes; recorded in the operation so that a retry finishes the same prune. */
export interface PrunePlan {
  /** Complete backups kept, newest first, with the rules that keep each and their object lists. */
  keep: { id: string; createdAt: string; keptBy: string[]; listKey: string }[];
  /** Complete backups deleted, newest first. */
  prune: { id: string; createdAt: string }[];
  /**
   * Folders without a manifest (failed or aborted backups): deleted when older than the newest complete
   * backup (no retry can complete them: their operation has ended), left otherwise.
   */
  incomplete: { id: string; delete: boolean }[];
}

const STAMP = /-(\d{4})(\d{2})(\d{2})t(\d{2})(\d{2})(\d{2})z(?:-[a-z0-9]{4})?$/;

/** When a backup id says it started (`…-20261124t120000z-ab12`), or undefined for a name of another form. */
export function backupIdTime(id: string): string | undefined {
  const m = STAMP.exec(id);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z` : undefined;
}

/**
 * Reads the backup bucket's folders and manifests and applies the retention rules. Refuses a bucket
 * that holds another cluster's backups: their objects are not in this cluster's lists, and a prune would
 * take them for garbage.
 */
export async function planPrune(input: {
  bucket: Bucket;
  cluster: string;
  retention: Retention;
}): Promise<PrunePlan> {
  const complete: { id: string; createdAt: string; verified: boolean; listKey: string }[] = [];
  const missing: string[] = [];
  for (const id of await listBackupIds(input.bucket)) {
    const manifest = await readManifest(input.bucket, id);
    if (!manifest) {
      missing.push(id);
      continue;
    }
    if (manifest.cluster !== input.cluster)
      throw new PachopsError(
        'PRUNE_REFUSED',
        `${input.bucket.name} also holds backup ${id} of cluster ${manifest.cluster}: prune only a backup bucket that one cluster uses`,
        { permanent: true },
      );
    const verified = manifest.verification?.ok === true;
    complete.push({ id, createdAt: manifest.createdAt, verified, listKey: manifest.objects.listKey });
  }
  if (!complete.length)
    throw new PachopsError(
      'PRUNE_REFUSED',
      `${input.bucket.name} holds no complete backup of ${input.cluster}: with nothing to keep, a prune would delete the whole mirror; take a backup first`,
      { permanent: true },
    );
  const verdicts = applyRetention(complete, input.retention);
  const byId = new Map(complete.map((c) => [c.id, c]));
  const newest = verdicts[0]?.createdAt;
  return {
    keep: verdicts.filter((v) => v.keptBy.length).map((v) => ({ ...v, listKey: byId.get(v.id)!.listKey })),
    prune: verdicts.filter((v) => !v.keptBy.length).map(({ id, createdAt }) => ({ id, createdAt })),
    incomplete: missing.map((id) => {
      const at = backupIdTime(id);
      return { id, delete: Boolean(newest && at && Date.parse(at) < Date.parse(newest)) };
    }),
  };
}
