import type { Operation, PhaseName } from './model.ts';

/** Starts a phase: a BullMQ job for the bot and worker, an in-process call for the CLI. */
export interface Dispatcher {
  dispatch(operationId: string, phase: PhaseName, approvedBy?: string): Promise<void>;
}

export interface PhaseReport {
  summary: string;
  details?: string[];
  durationMs?: number;
}

export interface FailureOffer {
  retry: boolean;
  /** The cluster is (or may be) paused: offer to bring it back. */
  resume: boolean;
  abort: boolean;
  /** Set when the phase was stopped on request (the [Abort] on its progress message), not by a fault. */
  aborted?: { by: string; at: Date; partial?: string };
  /** The operation ends with a resume already under way: report the phase, offer nothing. */
  ending?: boolean;
  /** The operation ends with this failure, the cluster live: a retry would find the same; offer nothing. */
  final?: boolean;
}

/** Where an operation is told about: a Slack thread, or the CLI's terminal. */
export interface Reporter {
  /** Posts the operation's parent message (in `where`, for a new thread) or refreshes it. */
  operationStarted(operation: Operation, where?: { channel: string }): Promise<void>;
  phaseStarted(operation: Operation, phase: PhaseName): Promise<void>;
  /**
   * Throttled by the implementation; never throws. `fraction` (0–1), when the phase knows how far it
   * is, lets a terminal draw a progress bar.
   */
  phaseProgress(operation: Operation, phase: PhaseName, text: string, fraction?: number): void;
  phaseSucceeded(operation: Operation, phase: PhaseName, report: PhaseReport): Promise<void>;
  phaseFailed(operation: Operation, phase: PhaseName, message: string, offer: FailureOffer): Promise<void>;
  requestApproval(operation: Operation, phase: PhaseName): Promise<void>;
  notice(operation: Operation, text: string): Promise<void>;
  /**
   * Said in the thread and, to be seen, in the channel itself (the watchdog). Throws when the channel
   * post fails, so that the caller can say it again later rather than count it as said.
   */
  alert(operation: Operation, text: string): Promise<void>;
  operationFinished(operation: Operation): Promise<void>;
}

/** The users' channels: one notice per operation, posted once and then replaced in place. */
export interface Announcer {
  /** Posts the operation's notice in every announce channel, or replaces the one already posted. */
  announce(operation: Operation, text: string): Promise<void>;
  /** A link to the operation's ops thread, for the notice (absent outside Slack). */
  threadLink(operation: Operation): Promise<string | undefined>;
}
