import { resolveCluster } from '../../config/resolve-cluster.ts';
import { PachopsError } from '../../errors.ts';
import { formatAuditLines } from '../../operations/audit-text.ts';
import { emergencyResume } from '../../operations/emergency-resume.ts';
import type { BotDeps, CommandRequest } from '../deps.ts';

/** `/pach resume [cluster]`: any approver of that cluster brings it back now, if pachops paused it. */
export async function handleResume(
  deps: BotDeps,
  request: CommandRequest,
  clusterName?: string,
): Promise<void> {
  const cluster = resolveCluster(deps.config, clusterName);
  if (!(await deps.isApprover(cluster.name, request.userId))) {
    throw new PachopsError(
      'FORBIDDEN',
      `only approvers can resume a cluster (the approvers of ${cluster.name})`,
      {
        permanent: true,
      },
    );
  }
  const { text } = await emergencyResume(deps, {
    cluster: cluster.name,
    actor: request.userId,
    actorText: `<@${request.userId}>`,
  });
  await request.reply(`:arrow_forward: ${text}`);
}

/** `/pach audit [cluster]`: the newest entries of the audit trail. */
export async function handleAudit(
  deps: BotDeps,
  request: CommandRequest,
  clusterName?: string,
): Promise<void> {
  const cluster = clusterName ? resolveCluster(deps.config, clusterName).name : undefined;
  const entries = await deps.store.listAudit({ cluster, limit: 30 });
  await request.reply(`\`\`\`${formatAuditLines(entries).join('\n')}\`\`\``);
}
