/** `2 workers (a/12: 3 shards, b/40: 1 shard)`: who mirrored what, for the thread. */
export function describeWorkers(shards: { worker: string }[]): string {
  const counts = new Map<string, number>();
  for (const { worker } of shards) counts.set(worker, (counts.get(worker) ?? 0) + 1);
  const each = [...counts].map(([worker, n]) => `${worker}: ${n} shard${n === 1 ? '' : 's'}`);
  return `${counts.size} worker${counts.size === 1 ? '' : 's'} (${each.join(', ')})`;
}
