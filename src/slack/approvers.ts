import type { webApi } from '@slack/bolt';
import { approversFor, slackFor } from '../config/cluster-slack.ts';
import type { Config } from '../config/load.ts';
import type { Logger } from '../log.ts';

const GROUP_CACHE_MS = 60_000;

/** Whether a user holds a role for one cluster's operations. */
export type ClusterRoleCheck = (cluster: string, userId: string) => Promise<boolean>;

/**
 * Who may approve and who may request each cluster's operations: its own `slack.approvers` and
 * `slack.requesters`, else the global ones (src/config/cluster-slack.ts). User ids match directly,
 * user-group ids (S…) through usergroups.users.list, cached for a minute and shared by every cluster.
 */
export function createClusterRoles(
  client: webApi.WebClient,
  config: Config,
  log: Logger,
): { isApprover: ClusterRoleCheck; isRequester: ClusterRoleCheck } {
  const groupMembers = createGroupReader(client, log);
  const isMember = async (principals: string[], userId: string): Promise<boolean> => {
    if (principals.includes(userId)) return true;
    for (const group of principals.filter((p) => p.startsWith('S'))) {
      if ((await groupMembers(group)).has(userId)) return true;
    }
    return false;
  };
  return {
    isApprover: (cluster, userId) => isMember(approversFor(config, cluster), userId),
    isRequester: async (cluster, userId) => {
      const { requesters } = slackFor(config, cluster);
      return !requesters.length || (await isMember(requesters, userId));
    },
  };
}

function createGroupReader(client: webApi.WebClient, log: Logger): (group: string) => Promise<Set<string>> {
  const cache = new Map<string, { users: Set<string>; at: number }>();
  return async (group) => {
    const cached = cache.get(group);
    if (cached && Date.now() - cached.at < GROUP_CACHE_MS) return cached.users;
    try {
      const response = await client.usergroups.users.list({ usergroup: group });
      const users = new Set(response.users ?? []);
      cache.set(group, { users, at: Date.now() });
      return users;
    } catch (error) {
      // Failing closed: a group that cannot be read grants nothing.
      log.warn({ err: error, group }, 'cannot read user group members');
      return new Set();
    }
  };
}
