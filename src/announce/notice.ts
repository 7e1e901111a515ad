/**
 * What the users' channels read about a backup's downtime: the outage notice (its wording configurable
 * per cluster with a template), its in-place updates, the all-clear, and the notice that it is off.
 * Slack mrkdwn; every inserted value is escaped (& < >), the template itself is not (it may use mrkdwn).
 */
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { clock, escapeText } from '../slack/blocks/text.ts';
import { type Estimate, formatRoughDuration } from './estimate.ts';

export const PLACEHOLDERS = [
  'cluster',
  'when',
  'estimate',
  'expectedEnd',
  'requester',
  'thread',
  'unavailable',
  'note',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

export const DEFAULT_UNAVAILABLE = 'ingest, pipelines and the S3 gateway';

/**
 * The default outage notice. A line is left out when a placeholder on it has no value (no thread
 * link, no note, no expected end), so optional parts go on lines of their own.
 */
export const DEFAULT_NOTICE_TEMPLATE = [
  ':warning: *Pachyderm {cluster} goes down {when} for a backup.*',
  'While it is down, {unavailable} will not work.',
  'Expected downtime: {estimate}.',
  'Expected back: {expectedEnd}.',
  'Note: {note}',
  'Started by {requester}. This message will say when it is back.',
  'Details: {thread}',
].join('\n');

export interface NoticeVars {
  cluster: string;
  /** `now`, or `at 14:00 UTC` ({@link formatWhen}). */
  when: string;
  /** {@link formatEstimate}'s text: `about 12 min (9–16)`, `no history yet`. */
  estimate: string;
  /** `~14:12 UTC` ({@link formatExpectedEnd}); absent without an estimate. */
  expectedEnd?: string;
  /** A Slack user id (shown as a mention), or the name of whoever ran the CLI. */
  requester: string;
  /** The ops thread's permalink. */
  thread?: string;
  /** Default: {@link DEFAULT_UNAVAILABLE}. */
  unavailable?: string;
  /** The requester's `--note`. */
  note?: string;
}

const PLACEHOLDER = /\{(\w*)\}/g;

function isPlaceholder(name: string): name is Placeholder {
  return (PLACEHOLDERS as readonly string[]).includes(name);
}

/** The names of a template's unknown `{placeholders}` (empty when it is fine). */
export function validateTemplate(template: string): string[] {
  const names = [...template.matchAll(PLACEHOLDER)].map((m) => m[1]);
  return [...new Set(names.filter((name) => !isPlaceholder(name)))];
}

function describeUnknown(unknown: string[]): string {
  const list = (names: readonly string[]) => names.map((n) => `{${n}}`).join(', ');
  return `unknown placeholder${unknown.length > 1 ? 's' : ''} ${list(unknown)}; known: ${list(PLACEHOLDERS)}`;
}

/** A per-cluster notice template in the configuration: unknown placeholders stop the config load. */
export const NoticeTemplateSchema = z
  .string()
  .min(1)
  .superRefine((template, ctx) => {
    const unknown = validateTemplate(template);
    if (unknown.length > 0) ctx.addIssue({ code: 'custom', message: describeUnknown(unknown) });
  });

/**
 * The outage notice from `template` (default {@link DEFAULT_NOTICE_TEMPLATE}). Throws a ConfigError
 * on an unknown placeholder (the configuration should have been validated with
 * {@link NoticeTemplateSchema}).
 */
export function renderNotice(template: string | undefined, vars: NoticeVars): string {
  const source = template ?? DEFAULT_NOTICE_TEMPLATE;
  const unknown = validateTemplate(source);
  if (unknown.length > 0) throw new ConfigError(`announcement template: ${describeUnknown(unknown)}`);
  const values = placeholderValues(vars);
  const lines = source.split('\n').flatMap((line) => {
    let missing = false;
    const text = line.replace(PLACEHOLDER, (_, name: Placeholder) => {
      missing ||= values[name] === '';
      return values[name];
    });
    return missing ? [] : [text];
  });
  return lines.join('\n').trim();
}

function placeholderValues(vars: NoticeVars): Record<Placeholder, string> {
  return {
    cluster: escapeText(vars.cluster),
    when: escapeText(vars.when),
    estimate: escapeText(vars.estimate),
    expectedEnd: escapeText(vars.expectedEnd ?? ''),
    requester: mention(vars.requester),
    thread: threadLink(vars.thread),
    unavailable: escapeText(vars.unavailable ?? DEFAULT_UNAVAILABLE),
    note: escapeText(vars.note?.replace(/\s+/g, ' ').trim() ?? ''),
  };
}

/** `<@U0ALICE>` for a Slack user id; anything else (a CLI user's name) as escaped text. */
function mention(requester: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(requester) ? `<@${requester}>` : escapeText(requester);
}

function threadLink(permalink: string | undefined): string {
  return permalink ? `<${escapeText(permalink).replace(/\|/g, '%7C')}|the ops thread>` : '';
}

/** The outage notice, posted in each announce channel before the pause. */
export function outageNotice(vars: NoticeVars, template?: string): string {
  return renderNotice(template, vars);
}

/** The notice again with a changed estimate (see `differsEnough`), saying what it was before. */
export function updatedNotice(vars: NoticeVars & { previousEstimate: string }, template?: string): string {
  return `${renderNotice(template, vars)}\n_Estimate updated; it was ${escapeText(vars.previousEstimate)}._`;
}

/** Replaces the notice once the cluster is back: `Pachyderm prod is back: it was down 11 min (estimated 12 min).` */
export function allClear(input: {
  cluster: string;
  actualDowntimeMs: number;
  estimate: Estimate;
  thread?: string;
}): string {
  const estimated =
    input.estimate.kind === 'history' ? ` (estimated ${formatRoughDuration(input.estimate.expectedMs)})` : '';
  const details = input.thread ? ` Details: ${threadLink(input.thread)}` : '';
  return `:white_check_mark: *Pachyderm ${escapeText(input.cluster)} is back*: it was down ${formatRoughDuration(input.actualDowntimeMs)}${estimated}.${details}`;
}

/** Replaces the notice when the backup is called off before the pause: nothing went down. */
export function cancelledNotice(input: { cluster: string; thread?: string }): string {
  const details = input.thread ? ` Details: ${threadLink(input.thread)}` : '';
  return `:information_source: *Pachyderm ${escapeText(input.cluster)} will not go down after all*: the backup was called off before the pause.${details}`;
}

/** `now` when the pause is imminent; `at 14:00 UTC` later today; `on Tue 25 Nov at 14:00 UTC` on another day. */
export function formatWhen(at: Date | undefined, now: Date): string {
  if (!at || at.getTime() - now.getTime() < 60_000) return 'now';
  if (at.toISOString().slice(0, 10) === now.toISOString().slice(0, 10)) return `at ${clock(at)}`;
  const day = at.toLocaleDateString('en-GB', {
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    timeZone: 'UTC',
  });
  return `on ${day.replace(',', '')} at ${clock(at)}`;
}

/** `~14:12 UTC`: when the cluster should be back if it goes down at `start`; undefined without history. */
export function formatExpectedEnd(start: Date, estimate: Estimate): string | undefined {
  if (estimate.kind === 'none') return undefined;
  return `~${clock(new Date(start.getTime() + estimate.expectedMs + 30_000))}`;
}
