import type { App } from '@slack/bolt';
import { acceptsChannel } from '../../config/cluster-slack.ts';
import { describeError, PachopsError } from '../../errors.ts';
import { buildRestoreOptions, RestoreRequestError } from '../../operations/restore-request.ts';
import { clusterOfBackup, isBackupId } from '../../storage/layout.ts';
import { readManifest } from '../../storage/manifest.ts';
import { startFromSlack } from '../commands/start.ts';
import type { BotDeps } from '../deps.ts';
import { RESTORE_VIEW, readRestoreSubmission } from './restore-modal.ts';

/** Which form block shows a refusal about each field of the request. */
const BLOCK_OF: Record<RestoreRequestError['field'], string> = {
  backup: 'backup',
  cluster: 'cluster',
  databases: 'db_targets',
  suffix: 'db_suffix',
  overwrite: 'overwrite',
  bucket: 'bucket',
  deploy: 'deploy',
};

/**
 * The restore form's submit: read it, check the backup is complete and the request makes sense (errors
 * show on the form's fields, which stays open), then close it and start the restore's plan phase in the
 * channel the command came from. Nothing touches a cluster here.
 */
export function registerRestoreForm(app: App, deps: BotDeps): void {
  app.view(RESTORE_VIEW, async ({ ack, body, view, client }) => {
    const userId = body.user.id;
    const form = readRestoreSubmission(view);
    if (!form.ok) return void (await ack({ response_action: 'errors', errors: form.errors }));
    const { backupId, channelId } = form.value;
    if (!backupId || !isBackupId(backupId)) {
      return void (await ack({ response_action: 'errors', errors: { backup: 'choose a backup' } }));
    }
    const from = clusterOfBackup(deps.config.clusters, backupId);
    const manifest = from && (await readManifest(deps.backupBucket(from), backupId));
    if (!manifest) {
      const errors = { backup: `${backupId} is not a complete backup of a configured cluster` };
      return void (await ack({ response_action: 'errors', errors }));
    }
    let built: ReturnType<typeof buildRestoreOptions>;
    try {
      built = buildRestoreOptions(deps.config, manifest, {
        ...form.value,
        backupId,
        safetyBackup: undefined,
      });
    } catch (error) {
      if (!(error instanceof RestoreRequestError)) throw error;
      return void (await ack({
        response_action: 'errors',
        errors: { [BLOCK_OF[error.field]]: error.message },
      }));
    }
    const { opsChannels } = built.cluster.slack;
    if (!acceptsChannel(built.cluster.slack, channelId)) {
      const where = opsChannels.map((c) => `#${c}`).join(', ');
      const errors = { cluster: `restores of ${built.cluster.name} are requested in ${where} only` };
      return void (await ack({ response_action: 'errors', errors }));
    }
    const active = await deps.store.activeOperation(built.cluster.name);
    if (active) {
      const errors = {
        cluster: `${built.cluster.name} is busy: ${active.kind} ${active.backupId} is ${active.status}; finish or abort it first`,
      };
      return void (await ack({ response_action: 'errors', errors }));
    }
    await ack();
    try {
      await startFromSlack(deps, {
        kind: 'restore',
        cluster: built.cluster.name,
        requestedBy: userId,
        channel: channelId,
        backupId,
        options: { skipDatabases: [], dryRun: false, restore: built.options },
      });
    } catch (error) {
      if (!(error instanceof PachopsError)) deps.log.error({ err: error }, 'restore could not start');
      await client.chat.postEphemeral({
        channel: channelId,
        user: userId,
        text: `:warning: ${describeError(error)}`,
      });
    }
  });
}
