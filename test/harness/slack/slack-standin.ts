/**
 * A local Slack for tests: the Web API the bot calls (point SLACK_API_URL at `apiUrl`), the
 * signed requests Slack sends to the bot's receiver (`command`, `click`, `sendRaw`, and in
 * modals `submitView`, `actInView`, `closeView`), Socket Mode for an app given `appToken`
 * (`socket.command`, `socket.click`…), and readers for what the workspace now shows
 * (`messages`, `thread`, `ephemerals`, `views`, `renderThread`, `renderView`…).
 *
 * Modals: views.open (with a command's or click's trigger_id) opens a view on that user's screen;
 * views.push stacks one (3 at most), views.update replaces one (by view_id or external_id, hash
 * checked). The user's typing is simulated by the `values` given to submitView/actInView; Slack
 * sends the full state in every payload, and applies the `response_action` the bot acks with.
 */
import { randomBytes } from 'node:crypto';
import { type ButtonMatch, blocksText, findButton } from './blocks.ts';
import { createDriver, type Driver } from './driver.ts';
import { renderMessage, renderThreadText, renderViewText } from './render.ts';
import { type SocketModeSide, startSocketMode } from './socket-mode.ts';
import { addChannel, addUser, createStore, type SlackStore } from './store.ts';
import type {
  EphemeralMessage,
  RecordedCall,
  RecordedResponse,
  SlackChannel,
  SlackMessage,
  SlackUser,
  SlackView,
  Workspace,
} from './types.ts';
import { findView, openStack } from './views.ts';
import { startWebApiServer } from './web-api-server.ts';

export type { ButtonMatch } from './blocks.ts';
export type { ClickInput, CommandInput, RawOptions } from './driver.ts';
export { signSlackRequest } from './driver.ts';
export type {
  CloseViewInput,
  SubmitViewInput,
  ViewActionInput,
  ViewActionReply,
  ViewCloseReply,
  ViewInput,
  ViewSubmitOutcome,
  ViewSubmitReply,
  ViewValues,
} from './modal-driver.ts';
export type {
  EnvelopeType,
  SocketAck,
  SocketConnection,
  SocketEnvelope,
  SocketModeSide,
} from './socket-mode.ts';
export type * from './types.ts';

export interface SlackStandinOptions {
  botToken?: string;
  signingSecret?: string;
  /** channels that exist, id -> name (the bot is a member); more with addChannel */
  channels?: Record<string, string>;
  /** users that exist, id -> name; whoever sends a command or clicks is added anyway */
  users?: Record<string, string>;
  userGroups?: Record<string, string[]>;
  /** how long Slack waits for the bot's HTTP answer (3000, as Slack) */
  ackTimeoutMs?: number;
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** named in the timeout error */
  what?: string;
}

export interface SlackStandin extends Driver {
  /** the value for SLACK_API_URL / WebClient's slackApiUrl (ends with /api/) */
  apiUrl: string;
  botToken: string;
  /** the app-level token (xapp-…) for SLACK_APP_TOKEN: the app then connects over `socket` */
  appToken: string;
  signingSecret: string;
  workspace: Workspace;
  /** Socket Mode: the connections the app opened, envelopes sent to it and its acks */
  socket: SocketModeSide;
  /** every Web API call, in arrival order (rejected ones too) */
  calls: RecordedCall[];
  /** every POST to a response_url */
  responses: RecordedResponse[];
  /**
   * The views open on the user's screen, root first, top of the stack last; without a user,
   * every user's open views. Copies: read them again after the bot acts.
   */
  views(userId?: string): SlackView[];
  /** A view by id, open or closed (`closedAt`, `closedBy`), as it is now. */
  view(viewId: string): SlackView | undefined;
  /** The view as readable text: title, inputs with their current values, errors, buttons. */
  renderView(viewId: string): string;
  /**
   * Waits until the user's top view matches: its rendered text matches the pattern, or the
   * predicate holds (default: any view is open). Times out showing what the user sees.
   */
  waitForView(
    userId: string,
    match?: RegExp | ((view: SlackView) => boolean),
    options?: WaitOptions,
  ): Promise<SlackView>;
  callsTo(method: string): RecordedCall[];
  /** the channel's messages as currently shown, parents and replies, oldest first */
  messages(channelId: string): SlackMessage[];
  /** the parent then its replies, oldest first */
  thread(channelId: string, ts: string): SlackMessage[];
  ephemerals(filter?: { userId?: string; channelId?: string }): EphemeralMessage[];
  findButton(message: { blocks?: SlackMessage['blocks'] }, actionId: string): ButtonMatch | undefined;
  waitFor<T>(predicate: () => Waitable<T> | Promise<Waitable<T>>, options?: WaitOptions): Promise<T>;
  waitForMessage(
    channelId: string,
    pattern: RegExp,
    options?: WaitOptions & { threadTs?: string },
  ): Promise<SlackMessage>;
  renderThread(channelId: string, ts: string): string;
  setUserGroup(id: string, userIds: string[]): void;
  addChannel(
    id: string,
    options?: { name?: string; isPrivate?: boolean; botIsMember?: boolean },
  ): SlackChannel;
  addUser(
    id: string,
    options?: { name?: string; realName?: string; tz?: string; deleted?: boolean },
  ): SlackUser;
  /** the method's next call fails with this error code, or with HTTP 429 + Retry-After */
  failNext(method: string, failure: string | { retryAfterSec: number }): void;
  close(): Promise<void>;
}

type Waitable<T> = T | undefined | null | false;

export async function startSlack(options: SlackStandinOptions = {}): Promise<SlackStandin> {
  const botToken = options.botToken ?? `xoxb-1-standin-${randomBytes(12).toString('hex')}`;
  const signingSecret = options.signingSecret ?? randomBytes(16).toString('hex');
  const workspace: Workspace = {
    teamId: 'T0PACHOPS',
    teamDomain: 'pachops-test',
    teamName: 'pachops test',
    appId: 'A0PACHOPS',
    botId: 'B0PACHOPS',
    botUserId: 'U0PACHOPS',
    botName: 'pachops',
    verificationToken: randomBytes(12).toString('hex'),
  };
  const appToken = `xapp-1-${workspace.appId}-1-${randomBytes(16).toString('hex')}`;
  const store = createStore(workspace, botToken, appToken);
  for (const [id, name] of Object.entries(options.channels ?? {})) addChannel(store, id, { name });
  for (const [id, name] of Object.entries(options.users ?? {})) addUser(store, id, { name });
  for (const [id, users] of Object.entries(options.userGroups ?? {})) store.userGroups.set(id, [...users]);
  const server = await startWebApiServer(store);
  const ackTimeoutMs = options.ackTimeoutMs ?? 3000;
  const driver = createDriver({ store, baseUrl: server.baseUrl, signingSecret, ackTimeoutMs });
  const socket = await startSocketMode({ store, baseUrl: server.baseUrl, ackTimeoutMs });
  return {
    ...driver,
    ...readers(store),
    ...configurators(store),
    apiUrl: `${server.baseUrl}/api/`,
    botToken,
    appToken,
    signingSecret,
    workspace,
    socket,
    close: async () => {
      await socket.close();
      await server.close();
    },
  };
}

type Readers = Pick<
  SlackStandin,
  | 'calls'
  | 'responses'
  | 'views'
  | 'view'
  | 'renderView'
  | 'waitForView'
  | 'callsTo'
  | 'messages'
  | 'thread'
  | 'ephemerals'
  | 'findButton'
  | 'waitFor'
  | 'waitForMessage'
  | 'renderThread'
>;

function readers(store: SlackStore): Readers {
  return {
    calls: store.calls,
    responses: store.responses,
    views: (userId) =>
      structuredClone(
        userId === undefined
          ? [...store.viewStacks.keys()].flatMap((u) => openStack(store, u))
          : openStack(store, userId),
      ),
    view: (viewId) => structuredClone(findView(store, viewId)),
    renderView: (viewId) => {
      const record = findView(store, viewId);
      if (!record) throw new Error(`no view ${viewId}`);
      return renderViewText(record);
    },
    waitForView: (userId, match, waitOptions = {}) => waitForView(store, userId, match, waitOptions),
    callsTo: (method) => store.calls.filter((c) => c.method === method),
    messages: (channelId) => structuredClone(store.history.get(channelId) ?? []),
    thread: (channelId, ts) => threadOf(store, channelId, ts),
    ephemerals: ({ userId, channelId } = {}) =>
      structuredClone(
        store.ephemerals.filter(
          (m) => (!userId || m.user === userId) && (!channelId || m.channel === channelId),
        ),
      ),
    findButton,
    waitFor: (predicate, waitOptions) => waitFor(predicate, waitOptions),
    waitForMessage: (channelId, pattern, waitOptions = {}) =>
      waitForMessage(store, channelId, pattern, waitOptions),
    renderThread: (channelId, ts) => renderThreadText(threadOf(store, channelId, ts), userNames(store)),
  };
}

function configurators(
  store: SlackStore,
): Pick<SlackStandin, 'setUserGroup' | 'addChannel' | 'addUser' | 'failNext'> {
  return {
    setUserGroup: (id, userIds) => {
      store.userGroups.set(id, [...userIds]);
    },
    addChannel: (id, channelOptions) => addChannel(store, id, channelOptions),
    addUser: (id, userOptions) => addUser(store, id, userOptions),
    failNext: (method, failure) => {
      const queue = store.failures.get(method) ?? [];
      queue.push(typeof failure === 'string' ? { error: failure } : { error: 'ratelimited', ...failure });
      store.failures.set(method, queue);
    },
  };
}

function threadOf(store: SlackStore, channelId: string, ts: string): SlackMessage[] {
  const list = store.history.get(channelId) ?? [];
  return structuredClone(list.filter((m) => m.ts === ts || m.thread_ts === ts));
}

function userNames(store: SlackStore): Map<string, string> {
  return new Map([...store.users.values()].map((u) => [u.id, u.name]));
}

/**
 * Polls until the predicate returns something truthy and not an empty array, and resolves with
 * it. A predicate that throws (an `expect`, say) counts as "not yet"; on timeout its last error
 * is thrown.
 */
export async function waitFor<T>(
  predicate: () => Waitable<T> | Promise<Waitable<T>>,
  { timeoutMs = 5000, intervalMs = 20, what = 'condition' }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await predicate();
      if (value && !(Array.isArray(value) && value.length === 0)) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      if (lastError) throw lastError;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

async function waitForView(
  store: SlackStore,
  userId: string,
  match: RegExp | ((view: SlackView) => boolean) | undefined,
  options: WaitOptions,
): Promise<SlackView> {
  const matches = (record: SlackView) => {
    if (match === undefined) return true;
    if (typeof match === 'function') return match(structuredClone(record));
    match.lastIndex = 0;
    return match.test(renderViewText(record));
  };
  try {
    return await waitFor(
      () => {
        const top = openStack(store, userId).at(-1);
        return top && matches(top) ? structuredClone(top) : undefined;
      },
      { ...options, what: `a view for ${userId}${match instanceof RegExp ? ` matching ${match}` : ''}` },
    );
  } catch (error) {
    const shown = openStack(store, userId).map(renderViewText).join('\n');
    throw new Error(`${(error as Error).message}; ${userId} sees:\n${shown || '(no modal)'}`);
  }
}

async function waitForMessage(
  store: SlackStore,
  channelId: string,
  pattern: RegExp,
  options: WaitOptions & { threadTs?: string },
): Promise<SlackMessage> {
  const candidates = () =>
    options.threadTs
      ? threadOf(store, channelId, options.threadTs)
      : structuredClone(store.history.get(channelId) ?? []);
  const matches = (m: SlackMessage) => {
    pattern.lastIndex = 0;
    return pattern.test(`${m.text}\n${blocksText(m.blocks)}\n${renderMessage(m).join('\n')}`);
  };
  try {
    return await waitFor(() => candidates().find(matches), {
      ...options,
      what: `a message matching ${pattern}`,
    });
  } catch (error) {
    const shown = candidates()
      .map((m) => renderMessage(m, userNames(store)).join('\n'))
      .join('\n');
    const where = options.threadTs ? `thread ${options.threadTs} of ${channelId}` : channelId;
    throw new Error(`${(error as Error).message} in ${where}; it holds:\n${shown || '(nothing)'}`);
  }
}
