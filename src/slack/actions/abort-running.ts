import type { App, BlockButtonAction } from '@slack/bolt';
import { z } from 'zod';
import { requestPhaseAbort } from '../../operations/abort-phase.ts';
import { ABORT_RUNNING_ACTION, AbortButtonValue } from '../blocks/phase-report.ts';
import type { BotDeps } from '../deps.ts';

const AbortClick = z.object({
  user: z.object({ id: z.string() }),
  channel: z.object({ id: z.string() }).optional(),
  container: z.object({ channel_id: z.string().optional(), thread_ts: z.string().optional() }).passthrough(),
  actions: z
    .array(
      z.object({
        action_id: z.literal(ABORT_RUNNING_ACTION),
        value: z.string().transform((value, ctx) => {
          try {
            return AbortButtonValue.parse(JSON.parse(value));
          } catch {
            ctx.addIssue({ code: 'custom', message: 'not an abort button value' });
            return z.NEVER;
          }
        }),
      }),
    )
    .length(1),
});

/**
 * [Abort] on a running phase's progress message: ack at once, then record the request (who may click is
 * the approval policy's `abort`) and tell the clicker, only them, what happens. The worker running the
 * phase sees the request within a second or so and stops it; the thread then says who stopped it where.
 */
export function registerAbortRunning(app: App, deps: BotDeps): void {
  app.action<BlockButtonAction>(ABORT_RUNNING_ACTION, async ({ ack, body, client }) => {
    await ack();
    await deps.afterAck(async () => {
      const click = AbortClick.safeParse(body);
      const channel = body.channel?.id ?? body.container?.channel_id;
      if (!click.success || !channel) {
        deps.log.warn({ issues: click.error?.issues }, 'malformed abort click ignored');
        return;
      }
      const { user, actions, container } = click.data;
      const outcome = await requestPhaseAbort(deps, {
        ...actions[0].value,
        userId: user.id,
        isApprover: deps.isApprover,
      });
      await client.chat.postEphemeral({
        channel,
        user: user.id,
        text: outcome.text,
        thread_ts: container.thread_ts,
      });
    });
  });
}
