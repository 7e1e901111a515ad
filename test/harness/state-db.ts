/** The bot's own state database as tests see it: queries, and a clean-up that ends what a test left active. */
import pg from 'pg';
import type { Scenario } from './scenario.ts';
import { USERS } from './scenario.ts';

/** A query on the scenario's state database (tables operations, phases, prompts, audit). */
export async function queryState<T = Record<string, unknown>>(
  scenario: Scenario,
  text: string,
  ...params: unknown[]
): Promise<T[]> {
  const client = new pg.Client({ connectionString: scenario.dbUrl(scenario.names.state) });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * Ends every operation still active by clicking its live prompt's way out (Reject, Resume cluster, Abort)
 * as an approver, then waits for the cluster to settle: a failed test must not leave its operation active
 * (the next `/pach backup` would be refused).
 */
export async function endActiveOperations(scenario: Scenario): Promise<void> {
  const clicked = new Set<string>();
  await scenario.slack.waitFor(
    async () => {
      const active = await queryState<{ channel: string | null; ts: string | null }>(
        scenario,
        `SELECT p.channel, p.ts FROM operations o
         LEFT JOIN prompts p ON p.operation_id = o.id AND p.status = 'pending' WHERE o.finished_at IS NULL`,
      );
      if (!active.length) return true;
      const { channel, ts } = active[0];
      const message = channel ? scenario.slack.messages(channel).find((m) => m.ts === ts) : undefined;
      const stop = ['pachops:reject', 'pachops:resume', 'pachops:abort'].find(
        (a) => message && scenario.slack.findButton(message, a),
      );
      if (message && stop && !clicked.has(message.ts)) {
        clicked.add(message.ts);
        await scenario.slack.click(scenario.bot!.url, {
          userId: USERS.approver,
          channelId: message.channel,
          messageTs: message.ts,
          actionId: stop,
        });
      }
      return false;
    },
    { timeoutMs: 20_000, intervalMs: 200, what: 'every operation to end' },
  );
  await scenario.kube.waitForSettled(undefined, 10_000);
}
