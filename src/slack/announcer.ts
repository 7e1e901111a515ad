import type { webApi } from '@slack/bolt';
import { slackFor } from '../config/cluster-slack.ts';
import type { Config } from '../config/load.ts';
import type { Logger } from '../log.ts';
import type { Operation } from '../operations/model.ts';
import type { Announcer } from '../operations/ports.ts';
import type { StateStore } from '../operations/store.ts';

/**
 * The users' channels in Slack: the notice is posted once in each of the cluster's `announceChannels`
 * (its own, else the global ones), its ts kept in
 * the operation's state, and replaced in place after that (estimate changed, cluster back, called off).
 */
export class SlackAnnouncer implements Announcer {
  private readonly deps: { client: webApi.WebClient; config: Config; store: StateStore; log: Logger };

  constructor(deps: SlackAnnouncer['deps']) {
    this.deps = deps;
  }

  async announce(operation: Operation, text: string): Promise<void> {
    const current = (await this.deps.store.getOperation(operation.id)) ?? operation;
    const posted = current.state.announcements ?? [];
    const { client } = this.deps;
    if (posted.length) {
      for (const { channel, ts } of posted) {
        await client.chat.update({ channel, ts, text }).catch((error) => this.warn(error, channel));
      }
      return;
    }
    const announcements: { channel: string; ts: string }[] = [];
    for (const channel of slackFor(this.deps.config, operation.cluster).announceChannels) {
      const result = await client.chat
        .postMessage({ channel, text })
        .catch((error) => this.warn(error, channel));
      if (result?.ts) announcements.push({ channel: result.channel ?? channel, ts: result.ts });
    }
    await this.deps.store.patchState(operation.id, { announcements });
  }

  async threadLink(operation: Operation): Promise<string | undefined> {
    if (!operation.thread) return undefined;
    const { channel, ts } = operation.thread;
    return this.deps.client.chat
      .getPermalink({ channel, message_ts: ts })
      .then((r) => r.permalink)
      .catch(() => undefined);
  }

  /** A users' channel that cannot be reached must not stop the backup; the logs say which. */
  private warn(error: unknown, channel: string): undefined {
    this.deps.log.warn({ err: error, channel }, 'could not post the notice in an announce channel');
    return undefined;
  }
}
