/** The stand-in's workspace state: channels, users, groups, messages, ephemerals, views, grants. */
import { randomBytes } from 'node:crypto';
import type {
  EphemeralMessage,
  RecordedCall,
  RecordedResponse,
  ResponseUrlGrant,
  SlackChannel,
  SlackMessage,
  SlackUser,
  SlackView,
  Workspace,
} from './types.ts';

/** An answer forced onto a method's next call: an error code, or HTTP 429 with Retry-After. */
export interface QueuedFailure {
  error: string;
  retryAfterSec?: number;
}

/** A trigger_id: who interacted (a modal opened with it goes on their screen). */
export interface Trigger {
  user: string;
  createdAt: number;
  used: boolean;
}

/** A ticket in a Socket Mode URL from apps.connections.open: good for one connection, for 30 s. */
export interface SocketTicket {
  createdAt: number;
  used: boolean;
}

export interface SlackStore {
  workspace: Workspace;
  botToken: string;
  /** the app-level token (xapp-…): the only token apps.connections.open takes */
  appToken: string;
  /** Socket Mode: the WebSocket server's base URL ('' until it listens) and the tickets handed out */
  socketMode: { url: string; tickets: Map<string, SocketTicket> };
  channels: Map<string, SlackChannel>;
  users: Map<string, SlackUser>;
  userGroups: Map<string, string[]>;
  /** channel id -> messages in ts order (parents and replies) */
  history: Map<string, SlackMessage[]>;
  ephemerals: EphemeralMessage[];
  /** every view ever opened or pushed, open or closed, in opening order */
  views: SlackView[];
  /** user id -> ids of the views on their screen, root first (top of the stack last) */
  viewStacks: Map<string, string[]>;
  calls: RecordedCall[];
  responses: RecordedResponse[];
  responseUrls: Map<string, ResponseUrlGrant>;
  triggers: Map<string, Trigger>;
  /** method -> failures queued for its next calls */
  failures: Map<string, QueuedFailure[]>;
  clock: { sec: number; micro: number };
  counter: number;
}

export function createStore(workspace: Workspace, botToken: string, appToken: string): SlackStore {
  const store: SlackStore = {
    workspace,
    botToken,
    appToken,
    socketMode: { url: '', tickets: new Map() },
    channels: new Map(),
    users: new Map(),
    userGroups: new Map(),
    history: new Map(),
    ephemerals: [],
    views: [],
    viewStacks: new Map(),
    calls: [],
    responses: [],
    responseUrls: new Map(),
    triggers: new Map(),
    failures: new Map(),
    clock: { sec: 0, micro: 0 },
    counter: 0,
  };
  addUser(store, workspace.botUserId, { name: workspace.botName, isBot: true });
  return store;
}

/** A unique, strictly increasing Slack timestamp such as "1732450000.000100". */
export function nextTs(store: SlackStore): string {
  const now = Math.floor(Date.now() / 1000);
  if (now > store.clock.sec) store.clock = { sec: now, micro: 0 };
  store.clock.micro += 100;
  if (store.clock.micro > 999_900) store.clock = { sec: store.clock.sec + 1, micro: 100 };
  return `${store.clock.sec}.${String(store.clock.micro).padStart(6, '0')}`;
}

/** A Slack-looking id with the given prefix ("V", "B"…), unique within this stand-in. */
export function nextId(store: SlackStore, prefix: string): string {
  store.counter += 1;
  return `${prefix}0${String(store.counter).padStart(6, '0')}${randomBytes(2).toString('hex').toUpperCase()}`;
}

export function addChannel(
  store: SlackStore,
  id: string,
  opts: { name?: string; isPrivate?: boolean; botIsMember?: boolean } = {},
): SlackChannel {
  const channel: SlackChannel = {
    id,
    name: opts.name ?? id.toLowerCase(),
    isPrivate: opts.isPrivate ?? id.startsWith('G'),
    isIm: id.startsWith('D'),
    botIsMember: opts.botIsMember ?? true,
    created: Math.floor(Date.now() / 1000),
  };
  store.channels.set(id, channel);
  if (!store.history.has(id)) store.history.set(id, []);
  return channel;
}

export function addUser(
  store: SlackStore,
  id: string,
  opts: { name?: string; realName?: string; tz?: string; isBot?: boolean; deleted?: boolean } = {},
): SlackUser {
  const name = opts.name ?? id.toLowerCase();
  const user: SlackUser = {
    id,
    name,
    realName: opts.realName ?? name,
    tz: opts.tz ?? 'Europe/Berlin',
    isBot: opts.isBot ?? false,
    deleted: opts.deleted ?? false,
  };
  store.users.set(id, user);
  return user;
}

/** The user, created on first sight: whoever types a command or clicks a button exists in Slack. */
export function ensureUser(store: SlackStore, id: string): SlackUser {
  return store.users.get(id) ?? addUser(store, id);
}

/** The channel, created on first sight (bot a member): a command typed there proves it exists. */
export function ensureChannel(store: SlackStore, id: string): SlackChannel {
  return store.channels.get(id) ?? addChannel(store, id);
}

/**
 * Resolves a `channel` argument the way Slack does: a channel ID, or a user ID (U…/W…), which
 * means the bot's DM with that user (a "D…" conversation).
 */
export function resolveChannel(store: SlackStore, channel: unknown): SlackChannel | undefined {
  if (typeof channel !== 'string' || channel === '') return undefined;
  if (/^[UW]/.test(channel)) {
    if (!store.users.has(channel)) return undefined;
    const dmId = `D${channel.slice(1)}`;
    return store.channels.get(dmId) ?? addChannel(store, dmId, { name: channel });
  }
  return store.channels.get(channel);
}

export function findMessage(store: SlackStore, channel: string, ts: unknown): SlackMessage | undefined {
  return store.history.get(channel)?.find((m) => m.ts === ts);
}

export function findEphemeral(store: SlackStore, channel: string, ts: unknown): EphemeralMessage | undefined {
  return store.ephemerals.find((m) => m.channel === channel && m.ts === ts);
}

/** Appends a message to the channel history, keeping the parent's reply_count. */
export function appendMessage(store: SlackStore, message: SlackMessage): void {
  const list = store.history.get(message.channel) ?? [];
  store.history.set(message.channel, list);
  list.push(message);
  if (message.thread_ts && message.thread_ts !== message.ts) {
    const parent = list.find((m) => m.ts === message.thread_ts);
    if (parent) {
      parent.thread_ts = parent.ts;
      parent.reply_count = (parent.reply_count ?? 0) + 1;
      message.parent_user_id = parent.user;
    }
  }
}

export function removeMessage(store: SlackStore, channel: string, ts: string): void {
  const list = store.history.get(channel) ?? [];
  const index = list.findIndex((m) => m.ts === ts);
  if (index < 0) return;
  const [removed] = list.splice(index, 1);
  const parent = removed.thread_ts ? list.find((m) => m.ts === removed.thread_ts) : undefined;
  if (parent && parent !== removed && parent.reply_count) parent.reply_count -= 1;
}

/** Issues a response_url for a command or an action, the way Slack's hooks URLs look. */
export function issueResponseUrl(
  store: SlackStore,
  baseUrl: string,
  grant: Omit<ResponseUrlGrant, 'uses' | 'createdAt'>,
): string {
  store.counter += 1;
  const path = `/${grant.kind}/${store.workspace.teamId}/${store.counter}${Date.now()}/${randomBytes(12).toString('hex')}`;
  store.responseUrls.set(path, { ...grant, uses: 0, createdAt: Date.now() });
  return `${baseUrl}${path}`;
}

/** Issues a trigger_id (valid 3 s, single use) for an interaction of this user, shaped like Slack's. */
export function issueTrigger(store: SlackStore, origin: Pick<Trigger, 'user'>): string {
  store.counter += 1;
  const id = `${store.counter}${Date.now() % 1_000_000}.${Date.now()}.${randomBytes(16).toString('hex')}`;
  store.triggers.set(id, { ...origin, createdAt: Date.now(), used: false });
  return id;
}
