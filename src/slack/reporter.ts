import type { webApi } from '@slack/bolt';
import { slackFor } from '../config/cluster-slack.ts';
import type { Config } from '../config/load.ts';
import type { Logger } from '../log.ts';
import { isAbortable } from '../operations/abort-phase.ts';
import type { Operation, PhaseName } from '../operations/model.ts';
import { describePhase } from '../operations/phase-info.ts';
import type { FailureOffer, PhaseReport, Reporter } from '../operations/ports.ts';
import type { PromptStore } from '../operations/prompts.ts';
import type { StateStore } from '../operations/store.ts';
import { allClearText, finishedText, operationMessage } from './blocks/operation.ts';
import { failedMessage, runningMessage, succeededMessage } from './blocks/phase-report.ts';
import { approvalMessage, failureMessage } from './blocks/prompt.ts';

/** [Abort] for this run of a phase, when the phase can be aborted. */
function abortFor(operation: Operation, phase: PhaseName, run: number | undefined) {
  return isAbortable(phase) && run !== undefined ? { operationId: operation.id, phase, run } : undefined;
}

/** Failure prompts stay clickable for a month: a paused cluster's way out must not expire. */
const FAILURE_PROMPT_MINUTES = 30 * 24 * 60;

export interface SlackReporterDeps {
  client: webApi.WebClient;
  config: Config;
  store: StateStore;
  prompts: PromptStore;
  log: Logger;
}

/** Reports an operation in its Slack thread: the parent checklist, one message per phase, the prompts. */
export class SlackReporter implements Reporter {
  private readonly deps: SlackReporterDeps;
  /** Per phase message: progress updates at most every interval, never after the phase's final report. */
  private readonly throttles = new Map<
    string,
    {
      last: number;
      timer?: NodeJS.Timeout;
      text?: string;
      fraction?: number;
      closed: boolean;
      sending: Promise<void>;
    }
  >();

  constructor(deps: SlackReporterDeps) {
    this.deps = deps;
  }

  async operationStarted(operation: Operation, where?: { channel: string }): Promise<void> {
    if (operation.thread || !where) return this.updateChecklist(operation);
    const message = operationMessage(
      operation,
      await this.deps.store.getPhases(operation.id),
      this.cluster(operation),
    );
    const posted = await this.deps.client.chat.postMessage({ channel: where.channel, ...message });
    await this.deps.store.setThread(operation.id, {
      channel: posted.channel ?? where.channel,
      ts: posted.ts!,
    });
  }

  async phaseStarted(operation: Operation, phase: PhaseName): Promise<void> {
    await this.quietly('phase started', async () => {
      const thread = operation.thread!;
      const record = await this.deps.store.getPhase(operation.id, phase);
      const message = runningMessage(phase, { abort: abortFor(operation, phase, record?.runs) });
      if (record?.reportTs) {
        await this.deps.client.chat.update({ channel: thread.channel, ts: record.reportTs, ...message });
      } else {
        const posted = await this.deps.client.chat.postMessage({
          channel: thread.channel,
          thread_ts: thread.ts,
          ...message,
        });
        await this.deps.store.setPhaseReport(operation.id, phase, posted.ts!);
      }
      await this.updateChecklist(operation);
    });
  }

  phaseProgress(operation: Operation, phase: PhaseName, text: string, fraction?: number): void {
    const key = `${operation.id}/${phase}`;
    const throttle = this.throttles.get(key) ?? { last: 0, closed: false, sending: Promise.resolve() };
    this.throttles.set(key, throttle);
    throttle.text = text;
    throttle.fraction = fraction;
    if (throttle.timer || throttle.closed) return;
    const interval = this.deps.config.slack.progressIntervalSeconds * 1000;
    const wait = Math.max(0, throttle.last + interval - Date.now());
    throttle.timer = setTimeout(() => {
      throttle.timer = undefined;
      throttle.last = Date.now();
      throttle.sending = this.quietly('progress', async () => {
        const record = await this.deps.store.getPhase(operation.id, phase);
        if (throttle.closed || !record?.reportTs || record.status !== 'running') return;
        const message = runningMessage(phase, {
          progress: throttle.text,
          fraction: throttle.fraction,
          abort: abortFor(operation, phase, record.runs),
        });
        await this.deps.client.chat.update({
          channel: operation.thread!.channel,
          ts: record.reportTs,
          ...message,
        });
      });
    }, wait);
  }

  async phaseSucceeded(operation: Operation, phase: PhaseName, report: PhaseReport): Promise<void> {
    await this.stopProgress(operation, phase);
    await this.quietly('phase succeeded', async () => {
      await this.updateReport(operation, phase, succeededMessage(phase, report));
      await this.updateChecklist(operation);
    });
  }

  async phaseFailed(
    operation: Operation,
    phase: PhaseName,
    message: string,
    offer: FailureOffer,
  ): Promise<void> {
    await this.stopProgress(operation, phase);
    await this.quietly('phase failed report', () =>
      this.updateReport(operation, phase, failedMessage(phase, message, offer.aborted)),
    );
    if (offer.ending || offer.final) {
      await this.quietly('checklist', () => this.updateChecklist(operation));
      return;
    }
    const prompt = await this.deps.prompts.create({
      operationId: operation.id,
      phase,
      kind: 'failure',
      ttlMinutes: FAILURE_PROMPT_MINUTES,
    });
    await this.quietly('checklist', () => this.updateChecklist(operation));
    await this.postPrompt(
      operation,
      prompt.id,
      failureMessage(phase, message, offer, prompt, operation.kind),
    );
  }

  async requestApproval(operation: Operation, phase: PhaseName): Promise<void> {
    const prompt = await this.deps.prompts.create({
      operationId: operation.id,
      phase,
      kind: 'approve',
      ttlMinutes: this.deps.config.slack.approvalTimeoutMinutes,
    });
    const phases = await this.deps.store.getPhases(operation.id);
    const index = phases.findIndex((p) => p.name === phase);
    const { title, description } = describePhase(this.cluster(operation), operation, phase);
    const message = approvalMessage({
      operation,
      phase,
      title,
      description,
      approvers: slackFor(this.deps.config, operation.cluster).approvers,
      prompt,
      position: `phase ${index + 1} of ${phases.length}`,
    });
    await this.quietly('checklist', () => this.updateChecklist(operation));
    await this.postPrompt(operation, prompt.id, message);
  }

  async notice(operation: Operation, text: string): Promise<void> {
    await this.quietly('notice', async () => {
      await this.deps.client.chat.postMessage({
        channel: operation.thread!.channel,
        thread_ts: operation.thread!.ts,
        text,
      });
    });
  }

  async alert(operation: Operation, text: string): Promise<void> {
    // The channel post first: it is the one that must be seen, and one Slack refused is given again later
    // without a second copy in the thread. An operation without a thread (the CLI's) alerts its ops channel.
    if (!operation.thread) {
      const [opsChannel] = slackFor(this.deps.config, operation.cluster).opsChannels;
      if (opsChannel) await this.deps.client.chat.postMessage({ channel: opsChannel, text });
      return;
    }
    const { channel, ts } = operation.thread;
    const permalink = await this.deps.client.chat
      .getPermalink({ channel, message_ts: ts })
      .then((r) => r.permalink)
      .catch(() => undefined);
    const link = permalink ? ` (<${permalink}|thread>)` : '';
    await this.deps.client.chat.postMessage({ channel, text: `${text}${link}` });
    await this.notice(operation, text);
  }

  async operationFinished(operation: Operation): Promise<void> {
    await this.quietly('operation finished', async () => {
      // The checklist first: the final message is the thread's "done", so everything else is in place by then.
      await this.updateChecklist(operation);
      await this.deps.client.chat.postMessage({
        channel: operation.thread!.channel,
        thread_ts: operation.thread!.ts,
        text: finishedText(operation, this.cluster(operation)),
      });
    });
    if (operation.kind === 'restore' && operation.status === 'succeeded')
      await this.announceRestored(operation);
  }

  /** The users' all-clear after a restore (minimal until announcements grow their own module). */
  private async announceRestored(operation: Operation): Promise<void> {
    const permalink = await this.deps.client.chat
      .getPermalink({ channel: operation.thread!.channel, message_ts: operation.thread!.ts })
      .then((r) => r.permalink)
      .catch(() => undefined);
    const text = allClearText(operation, permalink);
    for (const channel of slackFor(this.deps.config, operation.cluster).announceChannels) {
      await this.quietly(
        'all-clear',
        async () => void (await this.deps.client.chat.postMessage({ channel, text })),
      );
    }
  }

  private async postPrompt(
    operation: Operation,
    promptId: string,
    message: { text: string; blocks: unknown[] },
  ) {
    const thread = operation.thread!;
    const posted = await this.deps.client.chat.postMessage({
      channel: thread.channel,
      thread_ts: thread.ts,
      ...message,
    } as never);
    await this.deps.prompts.attachMessage(promptId, thread.channel, posted.ts!);
  }

  private async updateChecklist(operation: Operation): Promise<void> {
    const current = (await this.deps.store.getOperation(operation.id))!;
    if (!current.thread) return;
    const message = operationMessage(
      current,
      await this.deps.store.getPhases(operation.id),
      this.cluster(current),
    );
    await this.deps.client.chat.update({
      channel: current.thread.channel,
      ts: current.thread.ts,
      ...message,
    });
  }

  private async updateReport(
    operation: Operation,
    phase: PhaseName,
    message: { text: string; blocks: unknown[] },
  ) {
    const record = await this.deps.store.getPhase(operation.id, phase);
    const thread = operation.thread!;
    if (record?.reportTs)
      await this.deps.client.chat.update({
        channel: thread.channel,
        ts: record.reportTs,
        ...message,
      } as never);
    else
      await this.deps.client.chat.postMessage({
        channel: thread.channel,
        thread_ts: thread.ts,
        ...message,
      } as never);
  }

  /** Stops progress updates and waits for one in flight, so that it cannot land after the final report. */
  private async stopProgress(operation: Operation, phase: PhaseName): Promise<void> {
    const key = `${operation.id}/${phase}`;
    const throttle = this.throttles.get(key);
    if (!throttle) return;
    throttle.closed = true;
    clearTimeout(throttle.timer);
    this.throttles.delete(key);
    await throttle.sending;
  }

  private cluster(operation: Operation) {
    return this.deps.config.clusters[operation.cluster];
  }

  /** Thread cosmetics must not fail a phase: Slack being down is logged, the backup goes on. */
  private async quietly(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (error) {
      this.deps.log.warn({ err: error, what }, 'could not update Slack');
    }
  }
}
