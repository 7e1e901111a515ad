/**
 * What Slack does with a message sent to a response_url (or returned as a slash command's
 * immediate reply): replace or delete the original, post in the channel, or show it ephemerally.
 */
import { fail, isFailure, readContent } from './chat-methods.ts';
import {
  appendMessage,
  findEphemeral,
  findMessage,
  nextTs,
  removeMessage,
  type SlackStore,
} from './store.ts';
import type { Block, RecordedResponse, ResponseUrlGrant, SlackMessage } from './types.ts';

/** response_urls work for 30 minutes, 5 times. */
const responseUrlLifetimeMs = 30 * 60 * 1000;
const responseUrlMaxUses = 5;

interface Delivery {
  status: number;
  answer: Record<string, unknown>;
}

/** Handles a POST to a response_url path issued by this stand-in. */
export function postToResponseUrl(store: SlackStore, url: string, path: string, raw: string): Delivery {
  const grant = store.responseUrls.get(path);
  if (!grant || Date.now() - grant.createdAt > responseUrlLifetimeMs) {
    return { status: 404, answer: fail('expired_url') };
  }
  if (grant.uses >= responseUrlMaxUses) return { status: 404, answer: fail('used_url') };
  grant.uses += 1;
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(raw);
  } catch {
    return { status: 400, answer: fail('invalid_payload') };
  }
  const record = (effect: RecordedResponse['effect']) =>
    store.responses.push({ url, body, at: Date.now(), effect, channel: grant.channel, user: grant.user });
  const outcome = deliverReply(store, grant, body, 'response_url');
  if (typeof outcome !== 'string') {
    record('rejected');
    return { status: 400, answer: outcome };
  }
  record(outcome);
  return { status: 200, answer: { ok: true } };
}

type Effect = Exclude<RecordedResponse['effect'], 'rejected'>;

/** Applies a reply message to the workspace; returns what it did, or Slack's error. */
export function deliverReply(
  store: SlackStore,
  grant: Pick<ResponseUrlGrant, 'channel' | 'user' | 'messageTs' | 'isEphemeral' | 'threadTs'>,
  body: Record<string, unknown>,
  via: 'response_url' | 'ack',
): Effect | Record<string, unknown> {
  if (isTrue(body.delete_original) && grant.messageTs) {
    if (grant.isEphemeral) {
      store.ephemerals = store.ephemerals.filter(
        (m) => !(m.channel === grant.channel && m.ts === grant.messageTs),
      );
    } else removeMessage(store, grant.channel, grant.messageTs);
    return 'deleted';
  }
  const content = readContent(body);
  if (isFailure(content)) return content;
  if (!content.text && !content.blocks?.length && !content.attachments?.length) return fail('no_text');
  const text = content.text ?? '';
  if (isTrue(body.replace_original) && grant.messageTs) {
    replaceOriginal(store, grant, { text, blocks: content.blocks, attachments: content.attachments });
    return 'replaced';
  }
  const threadTs = typeof body.thread_ts === 'string' && body.thread_ts ? body.thread_ts : grant.threadTs;
  if (body.response_type === 'in_channel') {
    const { workspace } = store;
    appendMessage(store, {
      type: 'message',
      channel: grant.channel,
      ts: nextTs(store),
      ...(threadTs ? { thread_ts: threadTs } : {}),
      user: workspace.botUserId,
      bot_id: workspace.botId,
      app_id: workspace.appId,
      team: workspace.teamId,
      text,
      ...withContent(content.blocks, content.attachments),
    });
    return 'in_channel';
  }
  store.ephemerals.push({
    channel: grant.channel,
    user: grant.user,
    ts: nextTs(store),
    ...(threadTs ? { thread_ts: threadTs } : {}),
    text,
    ...withContent(content.blocks, content.attachments),
    via,
  });
  return 'ephemeral';
}

interface Replacement {
  text: string;
  blocks?: Block[];
  attachments?: Record<string, unknown>[];
}

/** replace_original swaps the whole message: fields left out are gone, not kept. */
function replaceOriginal(
  store: SlackStore,
  grant: Pick<ResponseUrlGrant, 'channel' | 'messageTs' | 'isEphemeral'>,
  next: Replacement,
): void {
  const target: Partial<SlackMessage> | undefined = grant.isEphemeral
    ? findEphemeral(store, grant.channel, grant.messageTs)
    : findMessage(store, grant.channel, grant.messageTs);
  if (!target) return;
  delete target.blocks;
  delete target.attachments;
  Object.assign(target, { text: next.text }, withContent(next.blocks, next.attachments));
  if (grant.isEphemeral) Object.assign(target, { replaced: true });
}

function withContent(blocks?: Block[], attachments?: Record<string, unknown>[]) {
  return {
    ...(blocks?.length ? { blocks } : {}),
    ...(attachments?.length ? { attachments } : {}),
  };
}

function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}
