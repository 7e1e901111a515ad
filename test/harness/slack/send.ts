/** Signed requests to the bot's receiver, sent the way Slack sends them, and the bot's HTTP answer. */
import { createHmac } from 'node:crypto';
import type { SlackStore } from './store.ts';
import type { BotReply } from './types.ts';

export interface RawOptions {
  contentType?: string;
  /** X-Slack-Request-Timestamp in seconds; default now */
  timestamp?: number;
  /** X-Slack-Signature; default the correct v0 signature of the body */
  signature?: string;
  /** secret to sign with; default the stand-in's signing secret */
  secret?: string;
  headers?: Record<string, string>;
}

export interface DriverContext {
  store: SlackStore;
  baseUrl: string;
  signingSecret: string;
  ackTimeoutMs: number;
}

/** Slack's v0 request signature: 'v0=' + hex HMAC-SHA256 of `v0:${timestamp}:${body}`. */
export function signSlackRequest(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** POSTs the body, signed (unless options forge it), and reads the bot's answer; throws after Slack's ack timeout. */
export async function sendSigned(
  ctx: DriverContext,
  botUrl: string,
  body: string | Record<string, string>,
  options: RawOptions,
): Promise<BotReply> {
  const contentType = options.contentType ?? 'application/x-www-form-urlencoded';
  const raw =
    typeof body === 'string'
      ? body
      : contentType === 'application/json'
        ? JSON.stringify(body)
        : new URLSearchParams(body).toString();
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const signature =
    options.signature ?? signSlackRequest(options.secret ?? ctx.signingSecret, timestamp, raw);
  const started = Date.now();
  const url = receiverUrl(botUrl);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': contentType,
        'x-slack-request-timestamp': String(timestamp),
        'x-slack-signature': signature,
        'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
        ...options.headers,
      },
      body: raw,
      signal: AbortSignal.timeout(ctx.ackTimeoutMs),
    });
  } catch (error) {
    if (error instanceof Error && error.name === 'TimeoutError') {
      throw new Error(
        `${url} did not answer within ${ctx.ackTimeoutMs} ms (Slack would show operation_timeout)`,
      );
    }
    throw error;
  }
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').includes('application/json');
  return {
    status: response.status,
    body: json && text !== '' ? JSON.parse(text) : text,
    text,
    ms: Date.now() - started,
  };
}

/** The bot's base URL, or its full events URL; a bare origin means Bolt's default /slack/events. */
function receiverUrl(botUrl: string): string {
  const url = new URL(botUrl);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/slack/events';
  return url.href;
}
