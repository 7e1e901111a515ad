/**
 * A burst of Slack traffic at the bot's receiver: signed `/pach` commands and button clicks sent at
 * once through the Slack stand-in's signing driver, each timed to the HTTP ack.
 */
import { randomUUID } from 'node:crypto';
import { CHANNELS, type Scenario, USERS } from '../../test/harness/scenario.ts';
import type { BotReply } from '../../test/harness/slack/types.ts';

/** Ack times (ms) of one burst, per kind, and the replies that were not HTTP 200. */
export interface Burst {
  commands: number[];
  clicks: number[];
  failures: string[];
}

/**
 * A click on an [Approve] button whose prompt does not exist (stale or forged): the bot acks, finds no
 * prompt and answers the clicker ephemerally. Shaped like Slack's block_actions payload.
 */
function staleClick(scenario: Scenario): Record<string, string> {
  const { workspace } = scenario.slack;
  const user = USERS.approver;
  const ts = `${Math.floor(Date.now() / 1000)}.000100`;
  const payload = {
    type: 'block_actions',
    user: { id: user, username: 'alice', name: 'alice', team_id: workspace.teamId },
    api_app_id: workspace.appId,
    token: workspace.verificationToken,
    container: { type: 'message', message_ts: ts, channel_id: CHANNELS.ops, is_ephemeral: false },
    trigger_id: `${Date.now()}.${randomUUID()}`,
    team: { id: workspace.teamId, domain: workspace.teamDomain },
    channel: { id: CHANNELS.ops, name: 'ops' },
    response_url: `${new URL(scenario.slack.apiUrl).origin}/bench/response`,
    actions: [
      {
        action_id: 'pachops:approve',
        block_id: 'prompt',
        text: { type: 'plain_text', text: 'Approve' },
        value: randomUUID(),
        type: 'button',
        action_ts: (Date.now() / 1000).toFixed(6),
      },
    ],
  };
  return { payload: JSON.stringify(payload) };
}

async function timedReply(send: () => Promise<BotReply>, failures: string[], what: string): Promise<number> {
  const started = performance.now();
  const reply = await send().catch((error: unknown) => ({ status: 0, text: String(error) }) as BotReply);
  const ms = performance.now() - started;
  if (reply.status !== 200) failures.push(`${what}: HTTP ${reply.status} ${reply.text.slice(0, 120)}`);
  return ms;
}

function senders(scenario: Scenario, failures: string[]) {
  const url = scenario.bot!.url;
  const command = (i: number) =>
    timedReply(
      () =>
        scenario.slack.command(url, {
          userId: USERS.requester,
          channelId: CHANNELS.ops,
          text: i % 2 ? 'help' : 'status',
        }),
      failures,
      'command',
    );
  const click = () => timedReply(() => scenario.slack.sendRaw(url, staleClick(scenario)), failures, 'click');
  return { command, click };
}

/** Sends `commands` commands (alternately `/pach status` and `/pach help`) and `clicks` stale clicks at once. */
export async function fireBurst(
  scenario: Scenario,
  counts: { commands: number; clicks: number },
): Promise<Burst> {
  const failures: string[] = [];
  const { command, click } = senders(scenario, failures);
  const [commands, clicks] = await Promise.all([
    Promise.all(Array.from({ length: counts.commands }, (_, i) => command(i))),
    Promise.all(Array.from({ length: counts.clicks }, click)),
  ]);
  return { commands, clicks, failures };
}

/** The same requests one at a time: each one's own service time, without queueing behind the others. */
export async function fireOneByOne(
  scenario: Scenario,
  counts: { commands: number; clicks: number },
): Promise<Burst> {
  const failures: string[] = [];
  const { command, click } = senders(scenario, failures);
  const burst: Burst = { commands: [], clicks: [], failures };
  for (let i = 0; i < counts.commands; i++) burst.commands.push(await command(i));
  for (let i = 0; i < counts.clicks; i++) burst.clicks.push(await click());
  return burst;
}

/** The nearest-rank percentile of `values` (p in 0..100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
