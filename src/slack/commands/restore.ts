import type { Manifest } from '../../storage/manifest.ts';
import { listBackups } from '../../storage/manifest.ts';
import type { BotDeps, CommandRequest } from '../deps.ts';
import { loadingView, restoreModal } from '../views/restore-modal.ts';
import type { RestorePrefill } from './parse.ts';

/**
 * `/pach restore [backup-id] …`: opens the restore form at once (the trigger id lives 3 s), then fills
 * it with every cluster's complete backups, newest first, pre-filled from the command's arguments.
 */
export async function openRestoreForm(
  deps: BotDeps,
  request: CommandRequest,
  prefill: RestorePrefill,
): Promise<void> {
  const opened = await request.client.views.open({
    trigger_id: request.triggerId,
    view: loadingView(request.channelId),
  });
  const backups: Manifest[] = [];
  for (const cluster of Object.values(deps.config.clusters)) {
    backups.push(...(await listBackups(deps.backupBucket(cluster), { cluster: cluster.name })));
  }
  backups.sort((a, b) => b.completedAt.localeCompare(a.completedAt));
  const view = restoreModal({
    channelId: request.channelId,
    backups,
    clusters: Object.keys(deps.config.clusters),
    prefill,
  });
  await request.client.views.update({ view_id: opened.view!.id!, hash: opened.view!.hash, view });
  if (prefill.backupId && !backups.some((b) => b.backupId === prefill.backupId)) {
    await request.reply(`No complete backup \`${prefill.backupId}\`: choose one in the form.`);
  }
}
