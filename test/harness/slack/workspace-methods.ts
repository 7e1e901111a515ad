/** auth, users, user groups, conversations and views methods of the Slack stand-in. */
import { randomBytes } from 'node:crypto';
import { type ApiResult, fail, type MethodHandler } from './chat-methods.ts';
import { nextId, type SlackStore } from './store.ts';
import type { SlackView } from './types.ts';

/** Slack's trigger_ids are single-use and expire after 3 seconds. */
const triggerLifetimeMs = 3000;

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

function readView(value: unknown): Record<string, unknown> | undefined {
  let view = value;
  if (typeof view === 'string') {
    try {
      view = JSON.parse(view);
    } catch {
      return undefined;
    }
  }
  if (view === null || typeof view !== 'object' || Array.isArray(view)) return undefined;
  const v = view as Record<string, unknown>;
  return typeof v.type === 'string' && Array.isArray(v.blocks) ? v : undefined;
}

/** Checks and spends a trigger_id the way Slack does. */
function spendTrigger(store: SlackStore, triggerId: unknown): string | undefined {
  const trigger = store.triggers.get(String(triggerId ?? ''));
  if (!trigger) return 'invalid_trigger_id';
  if (trigger.used) return 'exchanged_trigger_id';
  if (Date.now() - trigger.createdAt > triggerLifetimeMs) return 'expired_trigger_id';
  trigger.used = true;
  return undefined;
}

function viewAnswer(store: SlackStore, record: SlackView): ApiResult {
  const { workspace } = store;
  return {
    ok: true,
    view: {
      id: record.id,
      team_id: workspace.teamId,
      state: { values: {} },
      hash: record.hash,
      private_metadata: '',
      callback_id: '',
      external_id: '',
      clear_on_close: false,
      notify_on_close: false,
      ...record.view,
      root_view_id: record.id,
      app_id: workspace.appId,
      app_installed_team_id: workspace.teamId,
      bot_id: workspace.botId,
    },
  };
}

function openView(store: SlackStore, args: Record<string, unknown>): ApiResult {
  const view = readView(args.view);
  if (!view) return fail('invalid_arguments');
  const triggerError = spendTrigger(store, args.trigger_id);
  if (triggerError) return fail(triggerError);
  const now = Date.now();
  const record: SlackView = { id: nextId(store, 'V'), view, hash: newHash(), openedAt: now, updatedAt: now };
  store.views.push(record);
  return viewAnswer(store, record);
}

function updateView(store: SlackStore, args: Record<string, unknown>): ApiResult {
  const view = readView(args.view);
  if (!view) return fail('invalid_arguments');
  const record = store.views.find(
    (v) =>
      v.id === args.view_id || (args.external_id !== undefined && v.view.external_id === args.external_id),
  );
  if (!record) return fail('not_found');
  if (typeof args.hash === 'string' && args.hash !== '' && args.hash !== record.hash)
    return fail('hash_conflict');
  record.view = view;
  record.hash = newHash();
  record.updatedAt = Date.now();
  return viewAnswer(store, record);
}

function newHash(): string {
  return `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`;
}

export const workspaceMethods: Record<string, MethodHandler> = {
  'auth.test': authTest,
  'users.info': usersInfo,
  'usergroups.users.list': userGroupUsers,
  'conversations.info': conversationsInfo,
  'views.open': openView,
  'views.push': openView,
  'views.update': updateView,
};
