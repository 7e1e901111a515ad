import type { Retention } from '../../config/schema.ts';

/** A complete backup as retention sees it: its id, when it was taken, whether it passed verification. */
export interface DatedBackup {
  id: string;
  createdAt: string;
  /** Its manifest records a verification that passed. */
  verified?: boolean;
}

export interface RetentionVerdict {
  id: string;
  createdAt: string;
  /** The rules that keep it (`last 1`, `daily 2026-11-24`, …); empty = pruned. */
  keptBy: string[];
}

type Bucketing = { rule: string; count: number; bucketOf: (at: Date) => string };

/**
 * Which backups the rules keep, newest first, like restic's `forget --keep-*`: a backup is kept when any
 * rule keeps it; `keepDaily: N` keeps the newest backup of each of the last N UTC days that have one
 * (weeks are ISO weeks, months calendar months). The newest backup is always kept (keepLast ≥ 1), and
 * so is the newest verified one: recent backups that failed verification never push out the last good one.
 */
export function applyRetention(backups: DatedBackup[], retention: Retention): RetentionVerdict[] {
  const sorted = [...backups].sort(
    (a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : -1),
  );
  const verdicts = sorted.map((b) => ({ id: b.id, createdAt: b.createdAt, keptBy: [] as string[] }));
  const newestVerified = sorted.findIndex((b) => b.verified);
  verdicts.slice(0, Math.max(1, retention.keepLast)).forEach((verdict, i) => {
    verdict.keptBy.push(`last ${i + 1}`);
  });
  const rules: Bucketing[] = [
    { rule: 'daily', count: retention.keepDaily, bucketOf: (at) => at.toISOString().slice(0, 10) },
    { rule: 'weekly', count: retention.keepWeekly, bucketOf: isoWeek },
    { rule: 'monthly', count: retention.keepMonthly, bucketOf: (at) => at.toISOString().slice(0, 7) },
  ];
  for (const { rule, count, bucketOf } of rules) {
    const seen = new Set<string>();
    for (const verdict of verdicts) {
      if (seen.size >= count) break;
      const bucket = bucketOf(new Date(verdict.createdAt));
      if (seen.has(bucket)) continue;
      seen.add(bucket);
      verdict.keptBy.push(`${rule} ${bucket}`);
    }
  }
  if (newestVerified >= 0 && !verdicts[newestVerified]!.keptBy.length)
    verdicts[newestVerified]!.keptBy.push('newest verified');
  return verdicts;
}

/** `2026-W48`: the ISO 8601 week (Monday first; week 1 holds the year's first Thursday), in UTC. */
export function isoWeek(at: Date): string {
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week decides its year
  const yearStart = Date.UTC(day.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((day.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** One line of rules for people: `keepLast 3, keepDaily 7`. */
export function describeRetention(retention: Retention): string {
  const parts = [`keepLast ${retention.keepLast}`];
  if (retention.keepDaily) parts.push(`keepDaily ${retention.keepDaily}`);
  if (retention.keepWeekly) parts.push(`keepWeekly ${retention.keepWeekly}`);
  if (retention.keepMonthly) parts.push(`keepMonthly ${retention.keepMonthly}`);
  return parts.join(', ');
}
