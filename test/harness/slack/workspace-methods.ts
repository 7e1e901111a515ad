/** auth, users, user groups and conversations methods of the Slack stand-in (views: view-methods.ts). */
import { type ApiResult, fail, type MethodHandler } from './chat-methods.ts';
import type { SlackStore } from './store.ts';

function authTest(store: SlackStore): ApiResult {
  const { workspace } = store;
  return {
    ok: true,
    url: `https://${workspace.teamDomain}.slack.com/`,
    team: workspace.teamName,
    user: workspace.botName,
    team_id: workspace.teamId,
    user_id: workspace.botUserId,
    bot_id: workspace.botId,
    is_enterprise_install: false,
  };
}

function usersInfo(store: SlackStore, args: Record<string, unknown>): ApiResult {
  const user = store.users.get(String(args.user ?? ''));
  if (!user) return fail('user_not_found');
  return {
    ok: true,
    user: {
      id: user.id,
      team_id: store.workspace.teamId,
      name: user.name,
      deleted: user.deleted,
      real_name: user.realName,
      tz: user.tz,
      is_bot: user.isBot,
      is_admin: false,
      is_app_user: false,
      profile: { real_name: user.realName, display_name: user.name, team: store.workspace.teamId },
      updated: Math.floor(Date.now() / 1000),
    },
  };
}

function userGroupUsers(store: SlackStore, args: Record<string, unknown>): ApiResult {
  const users = store.userGroups.get(String(args.usergroup ?? ''));
  if (!users) return fail('no_such_subteam');
  return { ok: true, users: [...users] };
}

function conversationsInfo(store: SlackStore, args: Record<string, unknown>): ApiResult {
  const channel = store.channels.get(String(args.channel ?? ''));
  if (!channel) return fail('channel_not_found');
  if (channel.isIm) {
    return {
      ok: true,
      channel: { id: channel.id, is_im: true, user: channel.name, created: channel.created },
    };
  }
  return {
    ok: true,
    channel: {
      id: channel.id,
      name: channel.name,
      name_normalized: channel.name,
      is_channel: !channel.isPrivate,
      is_group: channel.isPrivate,
      is_im: false,
      is_mpim: false,
      is_private: channel.isPrivate,
      is_archived: false,
      is_general: false,
      is_member: channel.botIsMember,
      created: channel.created,
    },
  };
}

export const workspaceMethods: Record<string, MethodHandler> = {
  'auth.test': authTest,
  'users.info': usersInfo,
  'usergroups.users.list': userGroupUsers,
  'conversations.info': conversationsInfo,
};
