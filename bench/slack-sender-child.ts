/**
 * Sends pre-signed Slack requests at the bot's receiver and times each to its HTTP ack, as Slack's own
 * servers would: from a process of its own, so that the timing is the bot's and not the sender's. Reads a
 * SenderInput on stdin, prints one JSON line of SenderResult.
 */
import { Agent, request } from 'node:http';
import { text } from 'node:stream/consumers';

export interface SignedRequest {
  kind: 'command' | 'click';
  body: string;
  headers: Record<string, string>;
}

export interface SenderInput {
  url: string;
  requests: SignedRequest[];
  /** All at once, or one after the other. */
  burst: boolean;
}

/** One request's times: from the send call, and from its last byte being handed to the kernel. */
export interface SentRequest {
  kind: SignedRequest['kind'];
  /** From `request()` to the whole response: includes the sender's own queue of connects and writes. */
  ms: number;
  /** From the request being written out (its 'finish') to the whole response: the bot's side alone. */
  sentMs: number;
  status: number;
}

export interface SenderResult {
  ms: SentRequest[];
}

function send(agent: Agent, url: URL, signed: SignedRequest) {
  return new Promise<SentRequest>((resolve) => {
    const started = performance.now();
    let sent = Number.NaN;
    const done = (status: number) => {
      const now = performance.now();
      resolve({ kind: signed.kind, ms: now - started, sentMs: now - sent, status });
    };
    const req = request(url, { method: 'POST', agent, headers: signed.headers }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode ?? 0));
    });
    req.on('finish', () => {
      sent = performance.now();
    });
    req.on('error', () => done(0));
    req.end(signed.body);
  });
}

async function main(): Promise<void> {
  const input = JSON.parse(await text(process.stdin)) as SenderInput;
  const url = new URL(input.url);
  const agent = new Agent({ keepAlive: true, maxSockets: input.requests.length });
  const ms: SenderResult['ms'] = [];
  if (input.burst) ms.push(...(await Promise.all(input.requests.map((r) => send(agent, url, r)))));
  else for (const r of input.requests) ms.push(await send(agent, url, r));
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ ms } satisfies SenderResult)}\n`);
}

await main();
