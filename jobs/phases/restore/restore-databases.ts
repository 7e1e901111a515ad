import { formatBytes, formatCount, formatDuration } from '../../../src/format.ts';
import {
  countRows,
  createDatabase,
  inspectDatabase,
  restoreDatabase,
  verifyDumpChecksum,
} from '../../../src/postgres/restore.ts';
import type { Phase } from '../types.ts';
import { openRestore } from './context.ts';

/**
 * Each dump, checked against its sha256 first (a mismatch stops the restore before any database is
 * touched), restored with pg_restore in one transaction into its target; row counts reported. A retry
 * skips the databases already restored.
 */
export const restoreDatabasesPhase: Phase = {
  name: 'restore-databases',
  async run(ctx) {
    const r = await openRestore(ctx);
    const target = ctx.cluster.postgres;
    const done = { ...(ctx.operation.state.restore?.databases ?? {}) };
    const lines: string[] = [];
    for (const { source, target: name, overwrite } of r.restore.databases) {
      if (done[name]) {
        lines.push(`${name}: restored by an earlier run, kept`);
        continue;
      }
      const dump = r.manifest.databases.find((d) => d.name === source)!;
      ctx.progress(`${source}: checking sha256`);
      await verifyDumpChecksum({
        bucket: r.backupBucket,
        key: dump.key,
        sha256: dump.sha256,
        bytes: dump.bytes,
        signal: ctx.signal,
      });
      const found = await inspectDatabase(target, name);
      const created = ctx.operation.state.restore?.created ?? [];
      if (!found.exists) {
        await ctx.saveState({ restore: { ...ctx.operation.state.restore, created: [...created, name] } });
        await createDatabase(target, name);
      }
      // A database this restore created and an interrupted run filled is replaced, not refused.
      const clean = found.tables > 0 && (overwrite || created.includes(name));
      const restored = await restoreDatabase({
        target,
        database: name,
        bucket: r.backupBucket,
        key: dump.key,
        pgBin: ctx.config.tools.pgBin,
        clean,
        expected: { sha256: dump.sha256, bytes: dump.bytes },
        signal: ctx.signal,
        onBytes: (bytes) =>
          ctx.progress(`${source} → ${name}: ${formatBytes(bytes)} of ${formatBytes(dump.bytes)} restored`),
      });
      const rows = await countRows(target, name);
      done[name] = {
        rows: rows.map((t) => ({ table: t.table, rows: t.rows })),
        durationMs: restored.durationMs,
      };
      await ctx.saveState({ restore: { ...ctx.operation.state.restore, databases: done } });
      const counts = rows.map((t) => `${t.table} ${formatCount(t.rows)}`).join(', ');
      lines.push(`${source} → ${name} in ${formatDuration(restored.durationMs)}: ${counts}`);
    }
    return {
      summary: `${r.restore.databases.length} database(s) restored, checksums verified`,
      details: lines,
    };
  },
};
