import type { Config } from '../config/load.ts';
import { formatBar, formatDuration, formatPercent } from '../format.ts';
import { backupInconsistent, type Operation, type PhaseName } from '../operations/model.ts';
import type { FailureOffer, PhaseReport, Reporter } from '../operations/ports.ts';

/** On a terminal the bar is redrawn at most this often (smooth, without flooding a slow terminal). */
const REDRAW_MS = 200;

export interface ConsoleReporterOptions {
  out: NodeJS.WritableStream;
  config: Config;
  /** Progress lines when `out` is not a terminal: at most one per interval. Default 2 s. */
  intervalMs?: number;
  /** Draw progress as one bar redrawn in place. Default: whether `out` is a TTY. */
  tty?: boolean;
  /** For tests. */
  now?: () => number;
}

/**
 * The CLI's Reporter: one line per event. Progress is a bar redrawn in place with `\r` on a terminal,
 * and a plain line at most every `intervalMs` otherwise (CI logs, pipes, tests).
 */
export class ConsoleReporter implements Reporter {
  private readonly out: NodeJS.WritableStream;
  private readonly config: Config;
  private readonly intervalMs: number;
  private readonly tty: boolean;
  private readonly now: () => number;
  private lastProgress = 0;
  /** A bar is on the terminal's current line: the next line replaces it. */
  private barShown = false;

  constructor(options: ConsoleReporterOptions) {
    this.out = options.out;
    this.config = options.config;
    this.tty = options.tty ?? (options.out as { isTTY?: boolean }).isTTY === true;
    this.intervalMs = options.intervalMs ?? 2000;
    this.now = options.now ?? Date.now;
  }

  async operationStarted(operation: Operation): Promise<void> {
    const dry = operation.options.dryRun ? 'dry run: ' : '';
    this.line(
      operation.kind === 'restore'
        ? `restore of ${operation.cluster} from ${operation.backupId}: operation ${operation.id}`
        : operation.kind === 'prune'
          ? `${dry}prune of ${operation.cluster}'s backups: operation ${operation.id}`
          : `${dry}backup of ${operation.cluster}: operation ${operation.id}, backup ${operation.backupId}`,
    );
  }

  async phaseStarted(_operation: Operation, phase: PhaseName): Promise<void> {
    this.line(`${phase.padEnd(7)} started`);
  }

  phaseProgress(_operation: Operation, phase: PhaseName, text: string, fraction?: number): void {
    const now = this.now();
    if (now - this.lastProgress < (this.tty ? REDRAW_MS : this.intervalMs)) return;
    this.lastProgress = now;
    if (!this.tty) {
      const percent = fraction !== undefined ? `${formatPercent(fraction)} ` : '';
      this.line(`${phase.padEnd(7)} … ${percent}${text}`);
      return;
    }
    const bar = fraction !== undefined ? `${formatBar(fraction, 24)} ` : '… ';
    const width = (this.out as { columns?: number }).columns ?? 100;
    // Never wider than the terminal: a wrapped line cannot be redrawn with \r.
    const drawn = `${stamp()} ${phase.padEnd(7)} ${bar}${text}`.slice(0, Math.max(width - 1, 20));
    this.out.write(`\r\x1b[2K${drawn}`);
    this.barShown = true;
  }

  async phaseSucceeded(_operation: Operation, phase: PhaseName, report: PhaseReport): Promise<void> {
    const took = report.durationMs !== undefined ? ` in ${formatDuration(report.durationMs)}` : '';
    this.line(`${phase.padEnd(7)} ✓${took}: ${report.summary}`);
    for (const detail of report.details ?? []) this.line(`${''.padEnd(9)}${detail}`);
  }

  async phaseFailed(
    operation: Operation,
    phase: PhaseName,
    message: string,
    offer: FailureOffer,
  ): Promise<void> {
    this.line(`${phase.padEnd(7)} ✗ ${offer.aborted ? '' : 'failed: '}${message}`);
    if (offer.ending) this.line('stopped for the resume: the operation ends once the cluster is back');
    else if (offer.final) return;
    else if (offer.resume)
      this.line(
        `THE CLUSTER IS PAUSED. Retry: pachops retry ${operation.id} --yes · bring it back: pachops abort ${operation.id} --yes`,
      );
    else
      this.line(`Retry: pachops retry ${operation.id} --yes · give up: pachops abort ${operation.id} --yes`);
  }

  async requestApproval(operation: Operation, phase: PhaseName): Promise<void> {
    this.line(`${phase.padEnd(7)} waits for approval in Slack (operation ${operation.id})`);
  }

  /** Slack's markup for a terminal: a mention as the user id, no leading emoji shortcode. */
  async notice(_operation: Operation, text: string): Promise<void> {
    this.line(text.replace(/^:[a-z0-9_+-]+: /, '').replace(/<@(\w+)>/g, '$1'));
  }

  async alert(operation: Operation, text: string): Promise<void> {
    await this.notice(operation, `ALERT ${text}`);
  }

  async operationFinished(operation: Operation): Promise<void> {
    const bucket = this.config.clusters[operation.cluster].backup.bucket;
    const downtime =
      operation.state.downtimeMs !== undefined
        ? `; downtime ${formatDuration(operation.state.downtimeMs)}`
        : '';
    const what = {
      restore: `restore of ${operation.cluster} from ${operation.backupId}`,
      prune: `prune of ${operation.cluster}'s backups`,
      backup: `backup ${operation.backupId}`,
    }[operation.kind];
    const texts: Partial<Record<Operation['status'], string>> = {
      succeeded:
        operation.kind === 'prune'
          ? `${what} complete: ${operation.state.prune?.deleted?.backups ?? 0} backup(s) and ${operation.state.prune?.deleted?.objects ?? 0} mirror objects deleted`
          : operation.kind === 'restore'
            ? `${what} complete: every chunk object the restored metadata references is in ${operation.options.restore?.bucket.name}${downtime}`
            : `${what} complete and verified: s3://${bucket}/.pachops/backups/${operation.backupId}/${downtime}`,
      planned: 'dry run: planned only, nothing changed',
      refused: `${what} refused: nothing was changed`,
    };
    const incomplete = operation.kind === 'backup' ? '; the backup is incomplete and not listed' : '';
    if (backupInconsistent(operation))
      this.line(
        `${what} written but FAILED verification: the cluster's bucket lacks chunk objects its database references (above)${downtime}`,
      );
    else this.line(texts[operation.status] ?? `${what} ${operation.status}${downtime}${incomplete}`);
  }

  private line(text: string): void {
    // A line replaces the progress bar (cleared first), and the next bar is drawn below it.
    const clear = this.barShown ? '\r\x1b[2K' : '';
    if (this.barShown) this.lastProgress = 0;
    this.barShown = false;
    this.out.write(`${clear}${stamp()} ${text}\n`);
  }
}

function stamp(): string {
  return `[${new Date().toISOString().slice(11, 19)}]`;
}
