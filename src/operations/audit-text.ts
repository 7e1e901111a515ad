import type { AuditEntry } from './store.ts';

/** The audit trail as plain lines (`pachops audit`, and `/pach audit` in a code block), newest first. */
export function formatAuditLines(entries: AuditEntry[]): string[] {
  if (!entries.length) return ['no audit entries'];
  return entries.map((e) => {
    const at = e.at.toISOString().slice(0, 19).replace('T', ' ');
    const detail = describeDetails(e.details);
    return `${at} UTC  ${(e.cluster ?? '-').padEnd(10)} ${e.actor.padEnd(14)} ${e.action}${detail ? `  ${detail}` : ''}`;
  });
}

function describeDetails(details: Record<string, unknown>): string {
  const shown = Object.entries(details)
    .filter(([key, value]) => value !== undefined && value !== null && key !== 'promptId' && key !== 'at')
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return shown.join(' ').slice(0, 200);
}
