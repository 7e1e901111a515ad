import { resolveCluster } from '../config/resolve-cluster.ts';
import { PachopsError } from '../errors.ts';
import { formatAuditLines } from '../operations/audit-text.ts';
import { emergencyResume } from '../operations/emergency-resume.ts';
import { withRunner } from './backup.ts';
import { type CliContext, EXIT } from './context.ts';

/** `pachops resume <cluster> --yes`: bring a cluster pachops paused back now (the operation ends). */
export async function runResumeCommand(
  ctx: CliContext,
  clusterName: string | undefined,
  yes: boolean,
): Promise<number> {
  const cluster = resolveCluster(ctx.config, clusterName);
  if (!yes)
    throw new PachopsError('APPROVAL_REQUIRED', `pass --yes to resume ${cluster.name} now`, {
      permanent: true,
    });
  return withRunner(ctx, ['aborted'], async (store, runner, track) => {
    const active = await store.activeOperation(cluster.name);
    if (active) track(active.id);
    await emergencyResume(runner, { cluster: cluster.name, actor: ctx.actor, actorText: ctx.actor });
  });
}

/** `pachops audit [--cluster X] [--limit N]`. */
export async function runAuditCommand(
  ctx: CliContext,
  options: { cluster?: string; limit: number },
): Promise<number> {
  const cluster = options.cluster ? resolveCluster(ctx.config, options.cluster).name : undefined;
  const store = await ctx.openStore();
  try {
    ctx.out.write(
      `${formatAuditLines(await store.listAudit({ cluster, limit: options.limit })).join('\n')}\n`,
    );
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
