import { formatBytes, formatCount, formatDuration } from '../format.ts';
import type { Manifest } from './manifest.ts';

function age(iso: string, now: Date): string {
  return `${formatDuration(now.getTime() - Date.parse(iso))} ago`;
}

function verification(manifest: Manifest): string {
  if (!manifest.verification) return 'not verified';
  return manifest.verification.ok ? 'verified' : 'VERIFY FAILED';
}

/** A plain-text table of complete backups, for `/pach list` and `pachops list`. */
export function formatBackupTable(manifests: Manifest[], now = new Date()): string {
  if (!manifests.length) return 'no complete backups';
  const rows = manifests.map((m) => [
    m.backupId,
    age(m.completedAt, now),
    `pachd ${m.pachd.version}`,
    m.databases.map((d) => `${d.name} ${formatBytes(d.bytes)}`).join(', '),
    `${formatCount(m.objects.count)} objects (${formatBytes(m.objects.bytes)})`,
    verification(m),
  ]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** One backup in detail, for `/pach show` and `pachops show`. */
export function formatBackupDetail(manifest: Manifest, bucket: string, now = new Date()): string {
  const lines = [
    `backup     ${manifest.backupId}  (${verification(manifest)})`,
    `cluster    ${manifest.cluster}, requested by ${manifest.requestedBy}${manifest.note ? `: "${manifest.note}"` : ''}`,
    `taken      ${manifest.createdAt} → ${manifest.completedAt} (${age(manifest.completedAt, now)})`,
    `location   s3://${bucket}/.pachops/backups/${manifest.backupId}/`,
    `pachd      ${manifest.pachd.version} (${manifest.pachd.image})`,
    `helm       ${manifest.helm ? `${manifest.helm.release} revision ${manifest.helm.revision}, chart ${manifest.helm.chart} ${manifest.helm.chartVersion}` : 'no values saved'}`,
    ...manifest.databases.map(
      (d) =>
        `database   ${d.name}: ${formatBytes(d.bytes)}, sha256 ${d.sha256}, PostgreSQL ${d.serverVersion}${d.encryption ? `, encrypted (key ${d.encryption.keyFingerprint})` : ''}`,
    ),
    `objects    ${formatCount(manifest.objects.count)} (${formatBytes(manifest.objects.bytes)}); ${formatCount(manifest.objects.copied)} copied by this backup`,
    `source     ${manifest.source.bucket}${manifest.source.endpoint ? ` at ${manifest.source.endpoint}` : ''}`,
  ];
  const unverified = manifest.objects.unverified;
  if (unverified)
    lines.push(
      `unverified ${formatCount(unverified.count)} object(s) of the size of the backup's copy, ETags not comparable (multipart), not copied again: e.g. ${unverified.sample.slice(0, 3).join(', ')}`,
    );
  if (manifest.consistency)
    lines.push(
      `consistency ${formatCount(manifest.consistency.referenced)} referenced chunk objects, ${manifest.consistency.missing} missing`,
    );
  if (manifest.downtimeMs !== undefined)
    lines.push(`downtime   ${formatDuration(manifest.downtimeMs)} (${manifest.pause.mode} pause)`);
  if (manifest.verification?.problems.length)
    lines.push(...manifest.verification.problems.map((p) => `problem    ${p}`));
  return lines.join('\n');
}
