import type { Config } from '../config/load.ts';
import { formatDuration } from '../format.ts';
import type { Operation, PhaseName } from '../operations/model.ts';
import type { FailureOffer, PhaseReport, Reporter } from '../operations/ports.ts';

/** The CLI's Reporter: one line per event on the terminal, progress at most every `intervalMs`. */
export class ConsoleReporter implements Reporter {
  private readonly out: NodeJS.WritableStream;
  private readonly config: Config;
  private readonly intervalMs: number;
  private lastProgress = 0;

  constructor(options: { out: NodeJS.WritableStream; config: Config; intervalMs?: number }) {
    this.out = options.out;
    this.config = options.config;
    this.intervalMs = options.intervalMs ?? 2000;
  }

  async operationStarted(operation: Operation): Promise<void> {
    this.line(
      operation.kind === 'restore'
        ? `restore of ${operation.cluster} from ${operation.backupId}: operation ${operation.id}`
        : `${operation.options.dryRun ? 'dry run: ' : ''}backup of ${operation.cluster}: operation ${operation.id}, backup ${operation.backupId}`,
    );
  }

  async phaseStarted(_operation: Operation, phase: PhaseName): Promise<void> {
    this.line(`${phase.padEnd(7)} started`);
  }

  phaseProgress(_operation: Operation, phase: PhaseName, text: string): void {
    if (Date.now() - this.lastProgress < this.intervalMs) return;
    this.lastProgress = Date.now();
    this.line(`${phase.padEnd(7)} … ${text}`);
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
    this.line(`${phase.padEnd(7)} ✗ failed: ${message}`);
    if (offer.resume)
      this.line(
        `THE CLUSTER IS PAUSED. Retry: pachops retry ${operation.id} --yes · bring it back: pachops abort ${operation.id} --yes`,
      );
    else
      this.line(`Retry: pachops retry ${operation.id} --yes · give up: pachops abort ${operation.id} --yes`);
  }

  async requestApproval(operation: Operation, phase: PhaseName): Promise<void> {
    this.line(`${phase.padEnd(7)} waits for approval in Slack (operation ${operation.id})`);
  }

  async notice(_operation: Operation, text: string): Promise<void> {
    this.line(text.replace(/<@(\w+)>/g, '$1'));
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
    const what =
      operation.kind === 'restore'
        ? `restore of ${operation.cluster} from ${operation.backupId}`
        : `backup ${operation.backupId}`;
    const texts: Partial<Record<Operation['status'], string>> = {
      succeeded:
        operation.kind === 'restore'
          ? `${what} complete: every chunk object the restored metadata references is in ${operation.options.restore?.bucket.name}${downtime}`
          : `${what} complete and verified: s3://${bucket}/.pachops/backups/${operation.backupId}/${downtime}`,
      planned: 'dry run: planned only, nothing changed',
      refused: `${what} refused: nothing was changed`,
    };
    const incomplete = operation.kind === 'backup' ? '; the backup is incomplete and not listed' : '';
    this.line(texts[operation.status] ?? `${what} ${operation.status}${downtime}${incomplete}`);
  }

  private line(text: string): void {
    this.out.write(`[${new Date().toISOString().slice(11, 19)}] ${text}\n`);
  }
}
