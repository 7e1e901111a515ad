import { WebClient } from '@slack/web-api';
import type { Operation, PhaseName } from '../operations/model.ts';
import type { Announcer, FailureOffer, PhaseReport, Reporter } from '../operations/ports.ts';
import { PromptStore } from '../operations/prompts.ts';
import type { StateStore } from '../operations/store.ts';
import { SlackAnnouncer } from '../slack/announcer.ts';
import { SlackReporter } from '../slack/reporter.ts';
import { ConsoleReporter } from './console-reporter.ts';
import type { CliContext } from './context.ts';

/**
 * The terminal always; and, when a bot token is configured and the operation has a Slack thread (it was
 * started from Slack), that thread too, so it stays true when someone acts from the CLI. Slack being
 * down costs one quick retry, never the operation.
 */
export function createCliPorts(
  ctx: CliContext,
  store: StateStore,
): { reporter: Reporter; announcer: Announcer } {
  const console = new ConsoleReporter({ out: ctx.out, config: ctx.config });
  const printed: Announcer = {
    announce: async (_operation, text) => void ctx.out.write(`notice to the users' channels:\n${text}\n`),
    threadLink: async () => undefined,
  };
  const token = ctx.config.runtime.slackBotToken;
  if (!token) return { reporter: console, announcer: printed };
  const client = new WebClient(token, {
    slackApiUrl: ctx.config.runtime.slackApiUrl,
    retryConfig: { retries: 1 },
    timeout: 5000,
  });
  const slack = new SlackReporter({
    client,
    config: ctx.config,
    store,
    prompts: new PromptStore(store.pool),
    log: ctx.log,
  });
  // The users hear of an outage whoever starts it; Slack being down costs one quick retry, not the backup.
  const announcer = new SlackAnnouncer({ client, config: ctx.config, store, log: ctx.log });
  return {
    reporter: new TeeReporter(console, slack),
    announcer: {
      announce: async (operation, text) => {
        await printed.announce(operation, text);
        await announcer.announce(operation, text).catch(() => undefined);
      },
      threadLink: (operation) => announcer.threadLink(operation),
    },
  };
}

/** Tells the first reporter everything, and the second only about operations that have a thread. */
class TeeReporter implements Reporter {
  private readonly first: Reporter;
  private readonly threads: Reporter;

  constructor(first: Reporter, threads: Reporter) {
    this.first = first;
    this.threads = threads;
  }

  private async both(operation: Operation, call: (r: Reporter) => Promise<void>): Promise<void> {
    await call(this.first);
    if (operation.thread) await call(this.threads).catch(() => undefined);
  }

  operationStarted = (o: Operation) => this.both(o, (r) => r.operationStarted(o));
  phaseStarted = (o: Operation, p: PhaseName) => this.both(o, (r) => r.phaseStarted(o, p));
  phaseProgress(o: Operation, p: PhaseName, text: string, fraction?: number): void {
    this.first.phaseProgress(o, p, text, fraction);
    if (o.thread) this.threads.phaseProgress(o, p, text, fraction);
  }
  phaseSucceeded = (o: Operation, p: PhaseName, report: PhaseReport) =>
    this.both(o, (r) => r.phaseSucceeded(o, p, report));
  phaseFailed = (o: Operation, p: PhaseName, m: string, offer: FailureOffer) =>
    this.both(o, (r) => r.phaseFailed(o, p, m, offer));
  requestApproval = (o: Operation, p: PhaseName) => this.both(o, (r) => r.requestApproval(o, p));
  notice = (o: Operation, text: string) => this.both(o, (r) => r.notice(o, text));
  alert = (o: Operation, text: string) => this.both(o, (r) => r.alert(o, text));
  operationFinished = (o: Operation) => this.both(o, (r) => r.operationFinished(o));
}
