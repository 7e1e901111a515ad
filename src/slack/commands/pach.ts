import type { App } from '@slack/bolt';
import { describeError, PachopsError } from '../../errors.ts';
import type { BotDeps, CommandRequest } from '../deps.ts';
import { handleBackup } from './backup.ts';
import { channelRefusal, clusterChannelRefusal } from './channels.ts';
import { parsePachCommand, USAGE, UsageError } from './parse.ts';
import { handlePrune } from './prune.ts';
import { handleHelp, handleList, handleShow, handleStatus } from './read-only.ts';
import { openRestoreForm } from './restore.ts';
import { handleAudit, handleResume } from './safety.ts';
import { handleScheduleBackup, handleScheduleDelete, handleScheduleList } from './schedule.ts';

/**
 * `/pach …`: acks at once (Slack allows 3 s), with the refusal itself when the request is malformed or
 * comes from the wrong channel (none of the ops channels, or not one of the named cluster's); the work
 * happens after the ack and answers ephemerally.
 */
export function registerPachCommand(app: App, deps: BotDeps): void {
  app.command('/pach', async ({ command, ack, respond, client }) => {
    const wrongChannel = channelRefusal(deps.config, command.channel_id);
    if (wrongChannel) return void (await ack({ response_type: 'ephemeral', text: wrongChannel }));
    let parsed: ReturnType<typeof parsePachCommand>;
    try {
      parsed = parsePachCommand(command.text);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      await ack({ response_type: 'ephemeral', text: `${error.message}\n${USAGE}` });
      return;
    }
    const wrongCluster = clusterChannelRefusal(deps.config, parsed, command.channel_id);
    if (wrongCluster) return void (await ack({ response_type: 'ephemeral', text: wrongCluster }));
    await ack();
    const request: CommandRequest = {
      userId: command.user_id,
      channelId: command.channel_id,
      triggerId: command.trigger_id,
      client,
      reply: async (text) => void (await respond({ response_type: 'ephemeral', text })),
    };
    await deps.afterAck(async () => {
      try {
        switch (parsed.name) {
          case 'backup':
            return await handleBackup(deps, request, parsed);
          case 'prune':
            return await handlePrune(deps, request, parsed);
          case 'status':
            return await handleStatus(deps, request);
          case 'list':
            return await handleList(deps, request, parsed.cluster);
          case 'show':
            return await handleShow(deps, request, parsed.backupId);
          case 'restore':
            return await openRestoreForm(deps, request, parsed.prefill);
          case 'resume':
            return await handleResume(deps, request, parsed.cluster);
          case 'schedule-backup':
            return await handleScheduleBackup(deps, request, parsed);
          case 'schedule-list':
            return await handleScheduleList(deps, request);
          case 'schedule-delete':
            return await handleScheduleDelete(deps, request, parsed.id);
          case 'audit':
            return await handleAudit(deps, request, parsed.cluster);
          case 'help':
            return await handleHelp(request);
        }
      } catch (error) {
        if (!(error instanceof PachopsError)) {
          const fields = { err: error, slackUser: command.user_id, command: parsed.name };
          deps.log.error(fields, '/pach failed');
        }
        await request.reply(`:warning: ${describeError(error)}`);
      }
    });
  });
}
