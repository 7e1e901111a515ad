import { formatBytes, formatCount } from '../../../src/format.ts';
import type { PruneRecord } from '../../../src/operations/model.ts';

/** Lines of the plan shown per group at most; the counts are complete. */
const MAX_LINES = 25;

const taken = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

function capped(lines: string[]): string[] {
  if (lines.length <= MAX_LINES) return lines;
  return [...lines.slice(0, MAX_LINES), `  … and ${lines.length - MAX_LINES} more`];
}

/** The plan for the thread and the CLI: what is kept (and by which rule), what is deleted. */
export function describePrunePlan(record: PruneRecord): string[] {
  const { plan, garbage } = record;
  const incomplete = plan.incomplete.map(
    (i) =>
      `  ${i.delete ? 'delete' : 'leave '} \`${i.id}\` (no manifest: a failed or aborted backup${i.delete ? ', older than the newest complete one' : ', newer than the newest complete one'})`,
  );
  const lines = [
    `Keep ${plan.keep.length} backup(s):`,
    ...capped(
      plan.keep.map((k) => `  keep   \`${k.id}\` (taken ${taken(k.createdAt)}): ${k.keptBy.join(', ')}`),
    ),
    plan.prune.length ? `Delete ${plan.prune.length} backup(s):` : 'Delete no backup.',
    ...capped(plan.prune.map((p) => `  delete \`${p.id}\` (taken ${taken(p.createdAt)})`)),
  ];
  if (incomplete.length) lines.push(`Incomplete folders (${incomplete.length}):`, ...capped(incomplete));
  lines.push(
    `Mirror objects that no kept backup lists: ${formatCount(garbage.objects)} (${formatBytes(garbage.bytes)}) to delete.`,
  );
  if (garbage.missing)
    lines.push(
      `:warning: ${formatCount(garbage.missing)} object(s) that kept backups list are missing from the bucket: those backups are damaged (\`pachops verify\`).`,
    );
  return lines;
}

export function pruneSummary(record: PruneRecord): string {
  const { plan, garbage } = record;
  const incomplete = plan.incomplete.filter((i) => i.delete).length;
  return `keep ${plan.keep.length} backup(s), delete ${plan.prune.length} backup(s)${incomplete ? ` and ${incomplete} incomplete folder(s)` : ''} and ${formatCount(garbage.objects)} mirror objects (${formatBytes(garbage.bytes)})`;
}
