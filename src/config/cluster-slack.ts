import type { FileCluster, FileConfig } from './schema.ts';

/**
 * The Slack settings that govern one cluster's operations: where they are requested, who may request
 * and approve them, where its users are told of outages. Each is the cluster's own `slack.*` key when
 * set, else the global one.
 */
export interface ClusterSlack {
  /** Where `/pach` commands about this cluster are accepted; [] = anywhere. */
  opsChannels: string[];
  /** The users' channels for this cluster's outage notices, all-clears and advance notices. */
  announceChannels: string[];
  /** User or user-group ids who may approve, retry, abort, resume and schedule. */
  approvers: string[];
  /** Who may request operations; [] = anyone in an ops channel. */
  requesters: string[];
  allowSelfApproval: boolean;
}

/** The cluster's own settings over the global ones (load time; everything else reads the result). */
export function mergeClusterSlack(global: FileConfig['slack'], own: FileCluster['slack']): ClusterSlack {
  return {
    opsChannels: own.opsChannels ?? global.opsChannels,
    announceChannels: own.announceChannels ?? global.announceChannels,
    approvers: own.approvers ?? global.approvers,
    requesters: own.requesters ?? global.requesters,
    allowSelfApproval: own.allowSelfApproval ?? global.allowSelfApproval,
  };
}

/** What these helpers read of the loaded Config (kept structural so load.ts can import this file). */
interface SlackScoped {
  slack: FileConfig['slack'];
  clusters: Record<string, { slack: ClusterSlack }>;
}

/**
 * The Slack settings of a cluster's operations. A cluster removed from the file since its operation
 * started falls back to the global settings, so that its operation can still be stopped.
 */
export function slackFor(config: SlackScoped, cluster: string): ClusterSlack {
  return config.clusters[cluster]?.slack ?? mergeClusterSlack(config.slack, {});
}

/** Who may approve a cluster's phases (and resume, schedule, abort). */
export function approversFor(config: SlackScoped, cluster: string): string[] {
  return slackFor(config, cluster).approvers;
}

/** Whether a channel is one where this cluster's commands are accepted. */
export function acceptsChannel(slack: Pick<ClusterSlack, 'opsChannels'>, channel: string): boolean {
  return !slack.opsChannels.length || slack.opsChannels.includes(channel);
}

/**
 * Where commands naming no cluster (help, status, list) are accepted: any configured ops channel, global
 * or a cluster's; `anywhere` when some cluster's commands are accepted anywhere.
 */
export function anyOpsChannels(config: SlackScoped): string[] | 'anywhere' {
  const clusters = Object.values(config.clusters).map((c) => c.slack.opsChannels);
  if (clusters.some((channels) => !channels.length)) return 'anywhere';
  return [...new Set([...config.slack.opsChannels, ...clusters.flat()])];
}
