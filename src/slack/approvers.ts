import type { webApi } from '@slack/bolt';
import type { Logger } from '../log.ts';

const GROUP_CACHE_MS = 60_000;

/**
 * Membership in a list of Slack principals: user ids match directly, user-group ids (S…) through
 * usergroups.users.list, cached for a minute.
 */
export function createMembershipCheck(
  client: webApi.WebClient,
  principals: string[],
  log: Logger,
): (userId: string) => Promise<boolean> {
  const cache = new Map<string, { users: Set<string>; at: number }>();
  const groupMembers = async (group: string): Promise<Set<string>> => {
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
  return async (userId) => {
    if (principals.includes(userId)) return true;
    for (const group of principals.filter((p) => p.startsWith('S'))) {
      if ((await groupMembers(group)).has(userId)) return true;
    }
    return false;
  };
}
