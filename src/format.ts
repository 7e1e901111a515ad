/** Human-readable sizes and durations for the thread, the CLI and the logs. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `████░░░░░░ 42%`: a text progress bar for a fraction (clamped to 0–1). */
export function formatBar(fraction: number, width = 20): string {
  const filled = Math.round(clampFraction(fraction) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${formatPercent(fraction)}`;
}

/** `42%` (rounded down: 99.9% is not done). */
export function formatPercent(fraction: number): string {
  return `${Math.floor(clampFraction(fraction) * 100)}%`;
}

function clampFraction(fraction: number): number {
  return Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
}
