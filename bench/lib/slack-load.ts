/**
 * A burst of Slack traffic at the bot's receiver: signed `/pach` commands and button clicks, signed here
 * and sent at once by a child process of their own (bench/slack-sender-child.ts), each timed to the HTTP
 * ack: the timing is the bot's, not that of a sender sharing its event loop with the Slack stand-in.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { CHANNELS, type Scenario, USERS } from '../../test/harness/scenario.ts';
import { signSlackRequest } from '../../test/harness/slack/send.ts';
import type { SenderInput, SenderResult, SignedRequest } from '../slack-sender-child.ts';

/** Ack times (ms) of one burst, per kind, and the replies that were not HTTP 200. */
export interface Burst {
  commands: number[];
  clicks: number[];
  /** Every request's time from its last byte sent to the ack (without the sender's own queue). */
  sent: number[];
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
    response_url: scenario.slack.issueResponseUrl({ kind: 'actions', channelId: CHANNELS.ops, userId: user }),
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

/** Form-encodes and signs a body as Slack does (v0 HMAC of timestamp and body). */
function signed(
  scenario: Scenario,
  kind: SignedRequest['kind'],
  fields: Record<string, string>,
): SignedRequest {
  const body = new URLSearchParams(fields).toString();
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    kind,
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signSlackRequest(scenario.slack.signingSecret, timestamp, body),
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    },
  };
}

/** `/pach status` or `/pach help` from the requester in the ops channel, shaped like Slack's. */
function commandFields(scenario: Scenario, i: number): Record<string, string> {
  const { workspace } = scenario.slack;
  return {
    token: workspace.verificationToken,
    team_id: workspace.teamId,
    team_domain: workspace.teamDomain,
    channel_id: CHANNELS.ops,
    channel_name: 'ops',
    user_id: USERS.requester,
    user_name: 'requester',
    command: '/pach',
    text: i % 2 ? 'help' : 'status',
    api_app_id: workspace.appId,
    is_enterprise_install: 'false',
    response_url: scenario.slack.issueResponseUrl({
      kind: 'commands',
      channelId: CHANNELS.ops,
      userId: USERS.requester,
    }),
    trigger_id: `${Date.now()}.${randomUUID()}`,
  };
}

/** Signs every request first, then sends them from a child process and returns their ack times. */
async function fire(
  scenario: Scenario,
  counts: { commands: number; clicks: number },
  burst: boolean,
): Promise<Burst> {
  const requests = [
    ...Array.from({ length: counts.commands }, (_, i) =>
      signed(scenario, 'command', commandFields(scenario, i)),
    ),
    ...Array.from({ length: counts.clicks }, () => signed(scenario, 'click', staleClick(scenario))),
  ];
  const input: SenderInput = { url: new URL('/slack/events', scenario.bot!.url).toString(), requests, burst };
  const child = await execa(
    process.execPath,
    [fileURLToPath(new URL('../slack-sender-child.ts', import.meta.url))],
    {
      input: JSON.stringify(input),
    },
  );
  const { ms } = JSON.parse(child.stdout) as SenderResult;
  return {
    commands: ms.filter((m) => m.kind === 'command').map((m) => m.ms),
    clicks: ms.filter((m) => m.kind === 'click').map((m) => m.ms),
    // a request that failed before it was written out has no sent time
    sent: ms.map((m) => m.sentMs).filter(Number.isFinite),
    failures: ms.filter((m) => m.status !== 200).map((m) => `${m.kind}: HTTP ${m.status}`),
  };
}

/** Sends `commands` commands (alternately `/pach status` and `/pach help`) and `clicks` stale clicks at once. */
export function fireBurst(scenario: Scenario, counts: { commands: number; clicks: number }): Promise<Burst> {
  return fire(scenario, counts, true);
}

/** The same requests one at a time: each one's own service time, without queueing behind the others. */
export function fireOneByOne(
  scenario: Scenario,
  counts: { commands: number; clicks: number },
): Promise<Burst> {
  return fire(scenario, counts, false);
}
