import { slackFor } from '../config/cluster-slack.ts';
import type { ClusterConfig, Config } from '../config/load.ts';
import type { Operation, PhaseName } from './model.ts';
import type { Decision } from './prompts.ts';

/**
 * `plan` reads only, so it never waits. `precopy` (copies while the cluster runs, changes nothing of it)
 * and `announce` run by themselves unless configured `required`: the users are told as soon as a backup
 * is planned, and told again when the pause actually starts. Other phases wait for a click unless
 * configured `auto`.
 */
export function needsApproval(cluster: ClusterConfig, phase: PhaseName): boolean {
  if (phase === 'plan') return false;
  const fallback = phase === 'announce' || phase === 'precopy' ? 'auto' : 'required';
  return (cluster.approvals[phase as Exclude<PhaseName, 'plan'>] ?? fallback) === 'required';
}

export type Refusal = { allowed: false; reason: string } | { allowed: true };

/**
 * Who may click what, by the operation's cluster's approvers and allowSelfApproval (its own, else the
 * global ones). Going forward (approve, retry) takes an approver other than the requester (unless
 * allowSelfApproval); a scheduled backup's requester is whoever created the schedule. Stopping (reject,
 * abort) and bringing the cluster back (resume) take an approver or the requester: the safe direction
 * should never wait for a second person.
 */
export function mayDecide(input: {
  config: Config;
  operation: Operation;
  decision: Decision;
  userId: string;
  isApprover: boolean;
}): Refusal {
  const { config, operation, decision, userId, isApprover } = input;
  const { approvers, allowSelfApproval } = slackFor(config, operation.cluster);
  const isRequester = operation.requestedBy === userId || operation.options.scheduledBy === userId;
  const forward = decision === 'approve' || decision === 'retry';
  if (forward) {
    if (!isApprover)
      return {
        allowed: false,
        reason: `only approvers can ${decision}: ${approvers.map(mention).join(', ')} (the approvers of ${operation.cluster})`,
      };
    if (isRequester && !allowSelfApproval) {
      const yours = operation.requestedBy === userId ? 'requested this operation' : 'created its schedule';
      return { allowed: false, reason: `you ${yours}; another approver has to approve it` };
    }
    return { allowed: true };
  }
  if (isApprover || isRequester) return { allowed: true };
  const who = [...approvers.map(mention), `the requester ${mention(operation.requestedBy)}`];
  return {
    allowed: false,
    reason: `only approvers or the requester can ${decision}: ${who.join(', ')} (for ${operation.cluster})`,
  };
}

/** Slack mention syntax for a user or a user group. */
export function mention(id: string): string {
  // Not a Slack id: someone acting from the terminal (`cli:alice`) or a schedule, named as they are.
  if (!/^[UWS][A-Z0-9]+$/.test(id)) return `\`${id}\``;
  return id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`;
}
