/**
 * The side Slack drives: signed slash-command and block_actions requests sent to the bot's HTTP
 * receiver, shaped field for field like Slack's, modal interactions (modal-driver.ts), plus raw
 * (forged, replayed) requests.
 */
import { type ButtonMatch, findButton } from './blocks.ts';
import { publicMessage } from './chat-methods.ts';
import {
  actInView,
  type CloseViewInput,
  closeView,
  type SubmitViewInput,
  submitView,
  type ViewActionInput,
  type ViewActionReply,
  type ViewCloseReply,
  type ViewSubmitReply,
} from './modal-driver.ts';
import { deliverReply } from './response-url.ts';
import { type DriverContext, type RawOptions, sendSigned } from './send.ts';
import {
  ensureChannel,
  ensureUser,
  findEphemeral,
  findMessage,
  issueResponseUrl,
  issueTrigger,
  type SlackStore,
} from './store.ts';
import type { BotReply, EphemeralMessage, ResponseUrlGrant, SlackMessage } from './types.ts';

export interface CommandInput {
  userId: string;
  channelId: string;
  text?: string;
  command?: string;
}

export interface ClickInput {
  userId: string;
  channelId: string;
  messageTs: string;
  actionId: string;
  /** default: the button's value in the stored message; pass one to forge a click */
  value?: string;
  /** only needed when two blocks hold buttons with the same action_id */
  blockId?: string;
}

export type { RawOptions } from './send.ts';
export { signSlackRequest } from './send.ts';

export interface Driver {
  command(botUrl: string, input: CommandInput): Promise<BotReply>;
  click(botUrl: string, input: ClickInput): Promise<BotReply>;
  sendRaw(botUrl: string, body: string | Record<string, string>, options?: RawOptions): Promise<BotReply>;
  /**
   * The user presses the modal's submit button: fills `values` in (as if typed), then sends the
   * view_submission and applies the bot's answer as Slack does (close, errors, update, push,
   * clear). Throws for unknown block/action ids or option values, and when the Slack client
   * would not send the submission at all (a required input empty, text too long…).
   */
  submitView(botUrl: string, input: SubmitViewInput): Promise<ViewSubmitReply>;
  /** The user works an interactive element inside the modal: a block_actions from container view. */
  actInView(botUrl: string, input: ViewActionInput): Promise<ViewActionReply>;
  /** The user closes (Cancel / Back, or X with `clear`) the modal: view_closed if notify_on_close. */
  closeView(botUrl: string, input: CloseViewInput): Promise<ViewCloseReply>;
  /**
   * A response_url as Slack issues it with a command (or a click) of `userId` in `channelId`, for a
   * sender of its own (bench:slack signs and sends its bursts from a child process).
   */
  issueResponseUrl(input: { kind: 'commands' | 'actions'; channelId: string; userId: string }): string;
}

export function createDriver(ctx: DriverContext): Driver {
  const sendRaw = (botUrl: string, body: string | Record<string, string>, options: RawOptions = {}) =>
    sendSigned(ctx, botUrl, body, options);
  return {
    sendRaw,
    command: (botUrl, input) => sendCommand(ctx, botUrl, input),
    click: (botUrl, input) => sendClick(ctx, botUrl, input),
    submitView: (botUrl, input) => submitView(ctx, botUrl, input),
    actInView: (botUrl, input) => actInView(ctx, botUrl, input),
    closeView: (botUrl, input) => closeView(ctx, botUrl, input),
    issueResponseUrl: ({ kind, channelId, userId }) => {
      const channel = ensureChannel(ctx.store, channelId);
      const user = ensureUser(ctx.store, userId);
      return issueResponseUrl(ctx.store, ctx.baseUrl, {
        kind,
        channel: channel.id,
        user: user.id,
        isEphemeral: false,
      });
    },
  };
}

async function sendCommand(ctx: DriverContext, botUrl: string, input: CommandInput): Promise<BotReply> {
  const { fields, grant } = buildSlashCommand(ctx, input);
  const reply = await sendSigned(ctx, botUrl, fields, {});
  // Slack shows a non-empty immediate reply to the command's user (or in the channel).
  if (reply.status === 200 && reply.text !== '') {
    const body = isRecord(reply.body) ? reply.body : { text: reply.text };
    deliverReply(ctx.store, grant, body, 'ack');
  }
  return reply;
}

/** A slash command's fields, as Slack sends them (a form over HTTP, the payload in Socket Mode), and its reply grant. */
export function buildSlashCommand(
  ctx: Omit<DriverContext, 'signingSecret' | 'ackTimeoutMs'>,
  input: CommandInput,
): { fields: Record<string, string>; grant: Pick<ResponseUrlGrant, 'channel' | 'user' | 'isEphemeral'> } {
  const { store } = ctx;
  const { workspace } = store;
  const channel = ensureChannel(store, input.channelId);
  const user = ensureUser(store, input.userId);
  const grant = { channel: channel.id, user: user.id, isEphemeral: false };
  const fields = {
    token: workspace.verificationToken,
    team_id: workspace.teamId,
    team_domain: workspace.teamDomain,
    channel_id: channel.id,
    channel_name: channel.isIm ? 'directmessage' : channel.name,
    user_id: user.id,
    user_name: user.name,
    command: input.command ?? '/pach',
    text: input.text ?? '',
    api_app_id: workspace.appId,
    is_enterprise_install: 'false',
    response_url: issueResponseUrl(store, ctx.baseUrl, { kind: 'commands', ...grant }),
    trigger_id: issueTrigger(store, { user: user.id }),
  };
  return { fields, grant };
}

async function sendClick(ctx: DriverContext, botUrl: string, input: ClickInput): Promise<BotReply> {
  const payload = buildBlockActions(ctx, input);
  return sendSigned(ctx, botUrl, { payload: JSON.stringify(payload) }, {});
}

/** A block_actions payload for a button click, as Slack sends it. */
export function buildBlockActions(
  ctx: Omit<DriverContext, 'signingSecret' | 'ackTimeoutMs'>,
  input: ClickInput,
) {
  const { store } = ctx;
  const { workspace } = store;
  const channel = ensureChannel(store, input.channelId);
  const user = ensureUser(store, input.userId);
  const target = locateMessage(store, input);
  const isEphemeral = 'via' in target;
  const button = findButton(target, input.actionId);
  if (!button || (input.blockId && button.blockId !== input.blockId)) {
    throw new Error(`no button ${input.actionId} in message ${input.messageTs} of ${input.channelId}`);
  }
  const threadTs = target.thread_ts && target.thread_ts !== target.ts ? target.thread_ts : undefined;
  const grant = { channel: channel.id, user: user.id, messageTs: target.ts, isEphemeral, threadTs };
  return {
    type: 'block_actions',
    user: { id: user.id, username: user.name, name: user.name, team_id: workspace.teamId },
    api_app_id: workspace.appId,
    token: workspace.verificationToken,
    container: {
      type: 'message',
      message_ts: target.ts,
      channel_id: channel.id,
      is_ephemeral: isEphemeral,
      ...(threadTs ? { thread_ts: threadTs } : {}),
    },
    trigger_id: issueTrigger(store, { user: user.id }),
    team: { id: workspace.teamId, domain: workspace.teamDomain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel.id, name: channel.isIm ? 'directmessage' : channel.name },
    ...(isEphemeral ? {} : { message: publicMessage(target as SlackMessage) }),
    state: { values: {} },
    response_url: issueResponseUrl(store, ctx.baseUrl, { kind: 'actions', ...grant }),
    actions: [buttonAction(button, input.value)],
  };
}

/** The `actions[0]` entry for a clicked button (Slack leaves out `value` when the button has none). */
function buttonAction(button: ButtonMatch, forcedValue: string | undefined): Record<string, unknown> {
  const { element } = button;
  const value = forcedValue ?? element.value;
  return {
    action_id: element.action_id,
    block_id: button.blockId,
    text: element.text,
    ...(value !== undefined ? { value } : {}),
    ...(element.style !== undefined ? { style: element.style } : {}),
    type: 'button',
    action_ts: (Date.now() / 1000).toFixed(6),
  };
}

function locateMessage(store: SlackStore, input: ClickInput): SlackMessage | EphemeralMessage {
  const message = findMessage(store, input.channelId, input.messageTs);
  if (message) return message;
  const ephemeral = findEphemeral(store, input.channelId, input.messageTs);
  if (ephemeral && ephemeral.user === input.userId) return ephemeral;
  throw new Error(`no message ${input.messageTs} visible to ${input.userId} in ${input.channelId}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
