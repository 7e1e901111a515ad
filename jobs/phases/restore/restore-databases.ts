import { formatBytes, formatCount, formatDuration } from '../../../src/format.ts';
import {
  countRows,
  createDatabase,
  dropDatabase,
  inspectDatabase,
  restoreDatabase,
  swapDatabase,
  verifyDumpChecksum,
} from '../../../src/postgres/restore.ts';
import type { Phase, PhaseContext } from '../types.ts';
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
      const decryptWith = r.dumpKeyFor(dump);
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
      // A database with tables (an overwrite, or what an interrupted run left) is not restored over:
      // the dump goes into a fresh database that then takes its place, and the old one is kept.
      const replace = found.tables > 0 && (overwrite || created.includes(name));
      const into = replace ? await freshStaging(ctx, name) : name;
      const restored = await restoreDatabase({
        target,
        database: into,
        bucket: r.backupBucket,
        key: dump.key,
        pgBin: ctx.config.tools.pgBin,
        expected: { sha256: dump.sha256, bytes: dump.bytes },
        decryptWith,
        signal: ctx.signal,
        onBytes: (bytes) =>
          ctx.progress(`${source} → ${name}: ${formatBytes(bytes)} of ${formatBytes(dump.bytes)} restored`),
      });
      if (replace) {
        const keptAs = `${name.slice(0, 40)}_replaced_${new Date().toISOString().replace(/\D/g, '').slice(0, 12)}`;
        await swapDatabase(target, { name, replacement: into, keptAs });
        lines.push(
          `${name} existed with ${formatCount(found.tables)} table(s): kept as ${keptAs}; drop it once satisfied`,
        );
      }
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

/** An empty database to restore into, beside `name`; a leftover of an interrupted run is dropped first. */
async function freshStaging(ctx: PhaseContext, name: string): Promise<string> {
  const prefix = `${name.slice(0, 45)}_pachops_`;
  const staging = `${prefix}new`;
  await dropDatabase(ctx.cluster.postgres, staging, { prefix });
  await createDatabase(ctx.cluster.postgres, staging);
  return staging;
}
