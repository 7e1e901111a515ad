/** Driving pachops through the Slack stand-in the way people do: type `/pach`, click buttons. */
import type { Scenario } from './scenario.ts';
import { CHANNELS } from './scenario.ts';
import type { SlackMessage } from './slack/types.ts';

export const PHASE_TITLES: Record<string, RegExp> = {
  pause: /Approval needed: Pause the cluster/,
  dump: /Approval needed: Dump the databases/,
  mirror: /Approval needed: Mirror the bucket/,
  resume: /Approval needed: Resume the cluster/,
  verify: /Approval needed: Verify the backup/,
  'safety-backup': /Approval needed: Back up what will be replaced/,
  'restore-databases': /Approval needed: Restore the databases/,
  'restore-bucket': /Approval needed: Restore the bucket/,
  deploy: /Approval needed: Redeploy Pachyderm/,
  health: /Approval needed: Check the restored cluster/,
  prune: /Approval needed: Delete pruned backups/,
};

/** Types `/pach <text>` in an ops channel and waits for the parent message of the new operation. */
export async function requestBackup(
  scenario: Scenario,
  userId: string,
  text = 'backup prod',
  channelId = CHANNELS.ops,
): Promise<SlackMessage> {
  // A parent carries thread_ts (its own ts) once it has replies, as in Slack.
  const parents = () =>
    scenario.slack.messages(channelId).filter((m) => !m.thread_ts || m.thread_ts === m.ts);
  const before = parents().length;
  const reply = await scenario.slack.command(scenario.bot!.url, { userId, channelId, text });
  if (reply.status !== 200) throw new Error(`/pach ${text}: HTTP ${reply.status} ${reply.text}`);
  return scenario.slack.waitFor(() => parents()[before], {
    timeoutMs: 10_000,
    what: `the parent message of /pach ${text}`,
  });
}

/** Sends a request as `userId` (it must get HTTP 200) and resolves with the next ephemeral message they see. */
async function nextEphemeral(
  scenario: Scenario,
  userId: string,
  what: string,
  send: () => Promise<{ status: number; text: string }>,
) {
  const seen = scenario.slack.ephemerals({ userId }).length;
  const reply = await send();
  if (reply.status !== 200) throw new Error(`${what}: HTTP ${reply.status} ${reply.text}`);
  return scenario.slack.waitFor(() => scenario.slack.ephemerals({ userId })[seen], {
    what: `an ephemeral answer to ${what}`,
  });
}

/** Types `/pach <text>` as `userId` and resolves with the ephemeral answer only that user sees. */
export async function commandReply(
  scenario: Scenario,
  userId: string,
  text: string,
  channelId = CHANNELS.ops,
): Promise<string> {
  const answer = await nextEphemeral(scenario, userId, `/pach ${text}`, () =>
    scenario.slack.command(scenario.bot!.url, { userId, channelId, text }),
  );
  if (answer.channel !== channelId) throw new Error(`/pach ${text}: answered in ${answer.channel}`);
  return answer.text;
}

/** Clicks a button as `userId` and resolves with the ephemeral answer only that user sees. */
export async function clickReply(
  scenario: Scenario,
  userId: string,
  message: SlackMessage,
  actionId: string,
  channelId = CHANNELS.ops,
): Promise<string> {
  const click = { userId, channelId, messageTs: message.ts, actionId };
  const answer = await nextEphemeral(scenario, userId, `${actionId} by ${userId}`, () =>
    scenario.slack.click(scenario.bot!.url, click),
  );
  return answer.text;
}

/** The newest message in the thread that still offers a button with this action id (and matches `text`). */
export function findPrompt(
  scenario: Scenario,
  parentTs: string,
  actionId: string,
  text?: RegExp,
): SlackMessage | undefined {
  return scenario.slack
    .thread(CHANNELS.ops, parentTs)
    .filter((m) => scenario.slack.findButton(m, actionId) && (!text || text.test(m.text)))
    .at(-1);
}

export async function waitForPrompt(
  scenario: Scenario,
  parentTs: string,
  actionId: string,
  text?: RegExp,
  timeoutMs = 60_000,
) {
  return scenario.slack.waitFor(() => findPrompt(scenario, parentTs, actionId, text), {
    timeoutMs,
    what: `a ${actionId} prompt${text ? ` matching ${text}` : ''}\n${scenario.slack.renderThread(CHANNELS.ops, parentTs)}`,
  });
}

export async function click(scenario: Scenario, userId: string, message: SlackMessage, actionId: string) {
  return scenario.slack.click(scenario.bot!.url, {
    userId,
    channelId: CHANNELS.ops,
    messageTs: message.ts,
    actionId,
  });
}

/** Approves each phase in turn as `userId`, waiting for each prompt. */
export async function approvePhases(
  scenario: Scenario,
  parentTs: string,
  userId: string,
  phases: string[],
): Promise<void> {
  for (const phase of phases) {
    const prompt = await waitForPrompt(scenario, parentTs, 'pachops:approve', PHASE_TITLES[phase]);
    const reply = await click(scenario, userId, prompt, 'pachops:approve');
    if (reply.status !== 200) throw new Error(`click on ${phase}: HTTP ${reply.status}`);
    await scenario.slack.waitFor(
      () => !findPrompt(scenario, parentTs, 'pachops:approve', PHASE_TITLES[phase]),
      {
        timeoutMs: 10_000,
        what: `the ${phase} prompt to be decided`,
      },
    );
  }
}

/** Waits for the operation's final word in the thread. */
export function waitForFinish(scenario: Scenario, parentTs: string, timeoutMs = 120_000) {
  // The operation's last word (src/slack/blocks/operation.ts finishedText), not a decided prompt's.
  return scenario.slack.waitForMessage(
    CHANNELS.ops,
    /^(:tada: (Backup|Restore)|:broom: Prune|:no_entry: (Backup|Restore|Prune) (rejected|refused)|:octagonal_sign: (Backup|Restore|Prune)|:warning: Backup|:memo: Dry run)/,
    {
      threadTs: parentTs,
      timeoutMs,
    },
  );
}
