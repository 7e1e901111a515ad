import type { App, BlockButtonAction } from '@slack/bolt';
import { z } from 'zod';
import { decide } from '../../operations/decide.ts';
import { describePhase } from '../../operations/phase-info.ts';
import { ACTION_PREFIX, decidedMessage, expiredMessage } from '../blocks/prompt.ts';
import type { BotDeps } from '../deps.ts';

const ButtonClick = z.object({
  user: z.object({ id: z.string() }),
  channel: z.object({ id: z.string() }).optional(),
  container: z.object({ message_ts: z.string().optional(), channel_id: z.string().optional() }).passthrough(),
  actions: z.array(z.object({ action_id: z.string(), value: z.string().uuid() })).length(1),
});

const DECISIONS = ['approve', 'reject', 'retry', 'resume', 'abort'] as const;
const ACTION_IDS = new RegExp(`^${ACTION_PREFIX}(${DECISIONS.join('|')})$`);

/**
 * [Approve] [Reject] [Retry] [Resume cluster] [Abort]: ack, check the click, let `decide` claim the prompt
 * and act; then show who decided in place of the buttons, or tell the clicker (only them) why not.
 */
export function registerPromptButtons(app: App, deps: BotDeps): void {
  app.action<BlockButtonAction>(ACTION_IDS, async ({ ack, body, client }) => {
    await ack();
    await deps.afterAck(async () => {
      const click = ButtonClick.safeParse(body);
      const channel = body.channel?.id ?? body.container?.channel_id;
      if (!click.success || !channel) {
        deps.log.warn({ issues: click.error?.issues }, 'malformed button click ignored');
        return;
      }
      const { user, actions, container } = click.data;
      const decision = ACTION_IDS.exec(actions[0].action_id)![1] as (typeof DECISIONS)[number];
      const outcome = await decide(deps, {
        promptId: actions[0].value,
        decision,
        userId: user.id,
        isApprover: deps.isApprover,
      });
      if (!outcome.ok) {
        const old = outcome.expired;
        if (old?.channel && old.ts) {
          const operation = (await deps.store.getOperation(old.operationId))!;
          const { title } = describePhase(deps.config.clusters[operation.cluster], operation, old.phase);
          await client.chat.update({
            channel: old.channel,
            ts: old.ts,
            ...expiredMessage(title, old.expiresAt),
          });
        }
        await client.chat.postEphemeral({
          channel,
          user: user.id,
          text: outcome.text,
          thread_ts: container.thread_ts as string | undefined,
        });
        return;
      }
      const operation = (await deps.store.getOperation(outcome.prompt.operationId))!;
      const { title } = describePhase(
        deps.config.clusters[operation.cluster],
        operation,
        outcome.prompt.phase,
      );
      const label = outcome.prompt.kind === 'failure' ? `${outcome.prompt.phase} failed` : title;
      await client.chat.update({
        channel: outcome.prompt.channel ?? channel,
        ts: outcome.prompt.ts ?? container.message_ts!,
        ...decidedMessage(label, decision, user.id, outcome.prompt.decidedAt ?? new Date()),
      });
    });
  });
}
