/** chat.* Web API methods, answering the way Slack answers (shapes and error codes). */
import { parseBlocksArg, validateBlocks, withGeneratedIds } from './blocks.ts';
import {
  appendMessage,
  findMessage,
  nextTs,
  removeMessage,
  resolveChannel,
  type SlackStore,
} from './store.ts';
import type { Block, SlackMessage } from './types.ts';

export type ApiResult = Record<string, unknown>;
export type MethodHandler = (store: SlackStore, args: Record<string, unknown>) => ApiResult;

/** Slack's fallback text for a message posted with blocks but no text. */
const noTextFallback = "This content can't be displayed.";

export function fail(error: string, extra: Record<string, unknown> = {}): ApiResult {
  return { ok: false, error, ...extra };
}

interface Content {
  text?: string;
  blocks?: Block[];
  attachments?: Record<string, unknown>[];
}

/** Reads text/blocks/attachments; a string is an error code (with Slack's error details). */
export function readContent(args: Record<string, unknown>): Content | ApiResult {
  const blocks = parseBlocksArg(args.blocks);
  if (blocks === 'invalid_blocks_format') return fail('invalid_blocks_format');
  if (blocks) {
    const errors = validateBlocks(blocks);
    if (errors.length > 0) {
      return fail('invalid_blocks', {
        errors,
        response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) },
      });
    }
  }
  let attachments: Record<string, unknown>[] | undefined;
  if (args.attachments !== undefined && args.attachments !== '') {
    if (!Array.isArray(args.attachments)) return fail('invalid_attachments');
    attachments = args.attachments as Record<string, unknown>[];
  }
  const text = typeof args.text === 'string' ? args.text : undefined;
  return { text, blocks: blocks ? withGeneratedIds(blocks) : undefined, attachments };
}

export function isFailure(value: Content | ApiResult): value is ApiResult {
  return (value as ApiResult).ok === false;
}

function hasContent(content: Content): boolean {
  return Boolean(content.text) || (content.blocks?.length ?? 0) > 0 || (content.attachments?.length ?? 0) > 0;
}

/** The message as Slack returns it in API answers and payloads (no `channel` field). */
export function publicMessage(message: SlackMessage): Record<string, unknown> {
  const { channel: _channel, ...rest } = message;
  return structuredClone(rest);
}

function postMessage(store: SlackStore, args: Record<string, unknown>): ApiResult {
  const channel = resolveChannel(store, args.channel);
  if (!channel) return fail('channel_not_found');
  if (!channel.botIsMember) return fail('not_in_channel');
  const content = readContent(args);
  if (isFailure(content)) return content;
  if (!hasContent(content)) return fail('no_text');
  const { workspace } = store;
  const message: SlackMessage = {
    type: 'message',
    channel: channel.id,
    ts: nextTs(store),
    user: workspace.botUserId,
    bot_id: workspace.botId,
    app_id: workspace.appId,
    team: workspace.teamId,
    text: content.text || (content.blocks ? noTextFallback : ''),
    ...(content.blocks ? { blocks: content.blocks } : {}),
    ...(content.attachments ? { attachments: content.attachments } : {}),
    ...(args.metadata !== undefined ? { metadata: args.metadata } : {}),
  };
  const threadTs = typeof args.thread_ts === 'string' && args.thread_ts !== '' ? args.thread_ts : undefined;
  if (threadTs) {
    const parent = findMessage(store, channel.id, threadTs);
    message.thread_ts = parent?.thread_ts ?? threadTs;
  }
  appendMessage(store, message);
  return { ok: true, channel: channel.id, ts: message.ts, message: publicMessage(message) };
}

function updateMessage(store: SlackStore, args: Record<string, unknown>): ApiResult {
  const channel = store.channels.get(String(args.channel ?? ''));
  if (!channel) return fail('channel_not_found');
  const message = findMessage(store, channel.id, args.ts);
  if (!message) return fail('message_not_found');
  if (message.user !== store.workspace.botUserId) return fail('cant_update_message');
  const content = readContent(args);
  if (isFailure(content)) return content;
  if (!hasContent(content)) return fail('no_text');
  // Slack keeps the previous blocks/attachments when the field is left out; [] removes them.
  if (content.blocks) setOrDelete(message, 'blocks', content.blocks);
  if (content.attachments) setOrDelete(message, 'attachments', content.attachments);
  message.text = content.text || (message.blocks ? noTextFallback : '');
  message.edited = { user: store.workspace.botUserId, ts: nextTs(store) };
  return {
    ok: true,
    channel: channel.id,
    ts: message.ts,
    text: message.text,
    message: publicMessage(message),
  };
}

function setOrDelete<K extends 'blocks' | 'attachments'>(
  message: SlackMessage,
  key: K,
  value: SlackMessage[K] & unknown[],
) {
  if (value.length > 0) message[key] = value;
  else delete message[key];
}

function postEphemeral(store: SlackStore, args: Record<string, unknown>): ApiResult {
  const channel = resolveChannel(store, args.channel);
  if (!channel) return fail('channel_not_found');
  if (!channel.botIsMember) return fail('not_in_channel');
  const user = store.users.get(String(args.user ?? ''));
  if (!user) return fail('user_not_found');
  const content = readContent(args);
  if (isFailure(content)) return content;
  if (!hasContent(content)) return fail('no_text');
  const ts = nextTs(store);
  store.ephemerals.push({
    channel: channel.id,
    user: user.id,
    ts,
    ...(typeof args.thread_ts === 'string' && args.thread_ts ? { thread_ts: args.thread_ts } : {}),
    text: content.text || (content.blocks ? noTextFallback : ''),
    ...(content.blocks ? { blocks: content.blocks } : {}),
    ...(content.attachments ? { attachments: content.attachments } : {}),
    via: 'chat.postEphemeral',
  });
  return { ok: true, message_ts: ts };
}

function getPermalink(store: SlackStore, args: Record<string, unknown>): ApiResult {
  const channel = store.channels.get(String(args.channel ?? ''));
  if (!channel) return fail('channel_not_found');
  const message = findMessage(store, channel.id, args.message_ts);
  if (!message) return fail('message_not_found');
  let permalink = `https://${store.workspace.teamDomain}.slack.com/archives/${channel.id}/p${message.ts.replace('.', '')}`;
  if (message.thread_ts && message.thread_ts !== message.ts) {
    permalink += `?thread_ts=${message.thread_ts}&cid=${channel.id}`;
  }
  return { ok: true, channel: channel.id, permalink };
}

function deleteMessage(store: SlackStore, args: Record<string, unknown>): ApiResult {
  const channel = store.channels.get(String(args.channel ?? ''));
  if (!channel) return fail('channel_not_found');
  const message = findMessage(store, channel.id, args.ts);
  if (!message) return fail('message_not_found');
  if (message.user !== store.workspace.botUserId) return fail('cant_delete_message');
  removeMessage(store, channel.id, message.ts);
  return { ok: true, channel: channel.id, ts: message.ts };
}

export const chatMethods: Record<string, MethodHandler> = {
  'chat.postMessage': postMessage,
  'chat.update': updateMessage,
  'chat.postEphemeral': postEphemeral,
  'chat.getPermalink': getPermalink,
  'chat.delete': deleteMessage,
};
