/**
 * What Slack sends while a user works a modal — view_submission, block_actions from inside the
 * view, view_closed — shaped field for field like Slack's, and what Slack does with the bot's
 * answer to a submission (the `response_action` in the HTTP body of the ack).
 */

import { type DriverContext, sendSigned } from './send.ts';
import { ensureUser, issueTrigger, type SlackStore } from './store.ts';
import type { BotReply, SlackView, ViewObject } from './types.ts';
import { parseView } from './view-methods.ts';
import {
  applyValues,
  closeViews,
  type ElementMatch,
  entryFor,
  findElement,
  findOption,
  fullState,
  labelOf,
  openStack,
  pushView,
  replaceView,
  setEntry,
  submitProblems,
  type ViewInput,
  type ViewValues,
} from './views.ts';

export type { ViewInput, ViewValues } from './views.ts';

export interface SubmitViewInput {
  userId: string;
  /** default: the top view of the user's stack (the only one a user can submit) */
  viewId?: string;
  /** entered before pressing submit, by block_id (then action_id); added to what is already entered */
  values?: ViewValues;
}

export interface ViewActionInput {
  userId: string;
  /** default: the top view of the user's stack */
  viewId?: string;
  /** only needed when two blocks hold elements with the same action_id */
  blockId?: string;
  actionId: string;
  /** the option value(s), text, date, id… chosen; leave out for a button (its own value is sent) */
  value?: ViewInput;
  /** other inputs filled in before this action (they show in `view.state`) */
  values?: ViewValues;
}

export interface CloseViewInput {
  userId: string;
  /** default: the top view of the user's stack */
  viewId?: string;
  /** the X: the whole stack goes (as with `clear_on_close`); default: Cancel/Back, this view only */
  clear?: boolean;
}

export type ViewSubmitOutcome = 'closed' | 'errors' | 'updated' | 'pushed' | 'cleared' | 'failed';

export interface ViewSubmitReply extends BotReply {
  /** what Slack did with the bot's answer */
  outcome: ViewSubmitOutcome;
  /** `response_action: 'errors'`: block_id -> message, shown under the inputs (the view stays open) */
  errors?: Record<string, string>;
  /** 'failed': why Slack would show "We had some trouble connecting" and keep the view open */
  problem?: string;
  /** the view now on top of the user's screen, if any */
  view?: SlackView;
  /** the view_submission payload sent */
  payload: Record<string, unknown>;
}

export interface ViewActionReply extends BotReply {
  /** the block_actions payload sent */
  payload: Record<string, unknown>;
}

export interface ViewCloseReply {
  /** ids of the views taken off the screen, top first */
  closed: string[];
  /** the bot's answers to the view_closed payloads (one per closed view with notify_on_close) */
  replies: BotReply[];
  payloads: Record<string, unknown>[];
}

export async function submitView(
  ctx: DriverContext,
  botUrl: string,
  input: SubmitViewInput,
): Promise<ViewSubmitReply> {
  const { store } = ctx;
  const record = topView(store, input.userId, input.viewId);
  if (record.view.submit === null) {
    throw new Error(`view ${record.id} ("${titleOf(record.view)}") has no submit button`);
  }
  applyValues(record, input.values ?? {});
  const problems = submitProblems(record.view, fullState(record.view));
  if (problems.length > 0) {
    throw new Error(
      `the Slack client would not submit view ${record.id} ("${titleOf(record.view)}"): ${problems.join('; ')}`,
    );
  }
  delete record.errors;
  const payload = {
    type: 'view_submission',
    team: team(store),
    user: userOf(store, input.userId),
    api_app_id: store.workspace.appId,
    token: store.workspace.verificationToken,
    trigger_id: issueTrigger(store, { user: input.userId }),
    view: payloadView(record.view),
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
  const reply = await sendSigned(ctx, botUrl, { payload: JSON.stringify(payload) }, {});
  const result = applyAnswer(store, record, reply);
  const top = openStack(store, input.userId).at(-1);
  return { ...reply, ...result, ...(top ? { view: structuredClone(top) } : {}), payload };
}

type Answer = Pick<ViewSubmitReply, 'outcome' | 'errors' | 'problem'>;

/** What Slack does with the HTTP answer to a view_submission. */
function applyAnswer(store: SlackStore, record: SlackView, reply: BotReply): Answer {
  const failed = (problem: string): Answer => ({ outcome: 'failed', problem });
  if (reply.status !== 200) return failed(`the app answered HTTP ${reply.status}`);
  if (reply.text.trim() === '') {
    closeViews(store, record, 'this', 'submit');
    return { outcome: 'closed' };
  }
  let body = reply.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return failed(`the app answered a body that is not JSON: ${reply.text.slice(0, 200)}`);
    }
  }
  if (!isRecord(body)) return failed(`the app answered ${reply.text.slice(0, 200)}, not a JSON object`);
  switch (body.response_action) {
    case undefined:
      closeViews(store, record, 'this', 'submit');
      return { outcome: 'closed' };
    case 'errors': {
      const problem = errorsProblem(record.view, body.errors);
      if (problem) return failed(problem);
      record.errors = { ...(body.errors as Record<string, string>) };
      return { outcome: 'errors', errors: { ...record.errors } };
    }
    case 'update':
    case 'push': {
      const parsed = parseView(body.view);
      if ('error' in parsed) {
        return failed(
          `response_action ${body.response_action} with a view Slack refuses: ${describe(parsed.error)}`,
        );
      }
      if (body.response_action === 'update') {
        replaceView(store, record, parsed.view);
        return { outcome: 'updated' };
      }
      const pushed = pushView(store, record.user, parsed.view);
      return typeof pushed === 'string' ? failed(`response_action push: ${pushed}`) : { outcome: 'pushed' };
    }
    case 'clear':
      closeViews(store, record, 'stack', 'cleared');
      return { outcome: 'cleared' };
    default:
      return failed(`unknown response_action ${JSON.stringify(body.response_action)}`);
  }
}

/** Slack takes `errors` only as block_id -> message for input blocks of the submitted view. */
function errorsProblem(view: ViewObject, errors: unknown): string | undefined {
  if (!isRecord(errors) || Object.keys(errors).length === 0) {
    return 'response_action errors without an errors object';
  }
  const inputs = new Set(view.blocks.filter((b) => b.type === 'input').map((b) => b.block_id));
  for (const [blockId, message] of Object.entries(errors)) {
    if (!inputs.has(blockId)) {
      const known = [...inputs].join(', ') || 'none';
      return `response_action errors names "${blockId}", which is not an input block of view ${view.id} (input blocks: ${known})`;
    }
    if (typeof message !== 'string' || message === '') return `the error for "${blockId}" is not a text`;
  }
  return undefined;
}

export async function actInView(
  ctx: DriverContext,
  botUrl: string,
  input: ViewActionInput,
): Promise<ViewActionReply> {
  const { store } = ctx;
  const record = topView(store, input.userId, input.viewId);
  applyValues(record, input.values ?? {});
  const match = findElement(record.view, input.actionId, input.blockId);
  const where = `${match.block.block_id}/${match.element.action_id}`;
  if (match.inInput && match.block.dispatch_action !== true) {
    throw new Error(
      `Slack sends no block_actions for ${where} ("${labelOf(match.block)}"): its input block has no dispatch_action: true; give its value to submitView instead`,
    );
  }
  const action = actionEntry(record.view, match, input.value, where);
  const payload = {
    type: 'block_actions',
    user: userOf(store, input.userId),
    api_app_id: store.workspace.appId,
    token: store.workspace.verificationToken,
    container: { type: 'view', view_id: record.id },
    trigger_id: issueTrigger(store, { user: input.userId }),
    team: team(store),
    enterprise: null,
    is_enterprise_install: false,
    view: payloadView(record.view),
    actions: [action],
  };
  const reply = await sendSigned(ctx, botUrl, { payload: JSON.stringify(payload) }, {});
  return { ...reply, payload };
}

/** The `actions[0]` entry; a stateful element's new value also goes into the view's state. */
function actionEntry(
  view: ViewObject,
  { block, element, inInput }: ElementMatch,
  value: ViewInput | undefined,
  where: string,
): Record<string, unknown> {
  const base = { type: element.type, action_id: element.action_id, block_id: block.block_id };
  const actionTs = (Date.now() / 1000).toFixed(6);
  if (element.type === 'button') {
    const buttonValue = value ?? element.value;
    return {
      ...base,
      text: element.text,
      ...(buttonValue != null ? { value: String(buttonValue) } : {}),
      ...(element.style !== undefined ? { style: element.style } : {}),
      action_ts: actionTs,
    };
  }
  if (element.type === 'overflow') {
    if (typeof value !== 'string') throw new Error(`${where} (overflow) needs the chosen option's value`);
    return { ...base, selected_option: findOption(element, value, where), action_ts: actionTs };
  }
  if (value === undefined) throw new Error(`${where} (${element.type}) needs a value to choose`);
  const entry = entryFor(element, value, where);
  setEntry(view, { block, element, inInput }, entry);
  const { type: _type, ...chosen } = entry;
  const extras = Object.fromEntries(
    Object.entries(element).filter(([key]) => key === 'placeholder' || key.startsWith('initial_')),
  );
  return { ...base, ...chosen, ...extras, action_ts: actionTs };
}

export async function closeView(
  ctx: DriverContext,
  botUrl: string,
  input: CloseViewInput,
): Promise<ViewCloseReply> {
  const { store } = ctx;
  const record = topView(store, input.userId, input.viewId);
  const clear = input.clear === true || record.view.clear_on_close;
  const state = new Map(openStack(store, input.userId).map((v) => [v.id, payloadView(v.view)]));
  // The view is gone from the screen whatever the bot answers.
  const closed = closeViews(store, record, clear ? 'stack' : 'this', clear ? 'cleared' : 'user');
  const payloads = closed
    .filter((v) => v.view.notify_on_close)
    .map((v) => ({
      type: 'view_closed',
      team: team(store),
      user: userOf(store, input.userId),
      api_app_id: store.workspace.appId,
      token: store.workspace.verificationToken,
      view: state.get(v.id),
      is_cleared: clear,
      is_enterprise_install: false,
      enterprise: null,
    }));
  const replies: BotReply[] = [];
  for (const payload of payloads) {
    replies.push(await sendSigned(ctx, botUrl, { payload: JSON.stringify(payload) }, {}));
  }
  return { closed: closed.map((v) => v.id), replies, payloads };
}

/** The view a user can act on: the top of their stack (viewId, if given, must be it). */
function topView(store: SlackStore, userId: string, viewId: string | undefined): SlackView {
  const stack = openStack(store, userId);
  const top = stack.at(-1);
  if (!top) throw new Error(`${userId} has no modal open`);
  if (viewId !== undefined && viewId !== top.id) {
    const under = stack.some((v) => v.id === viewId);
    throw new Error(
      under
        ? `view ${viewId} is under ${top.id} in ${userId}'s stack; only the top view can be used`
        : `${userId} has no open view ${viewId} (open: ${stack.map((v) => v.id).join(', ')})`,
    );
  }
  return top;
}

/** The view as payloads carry it: full state (every stateful element), not just what was entered. */
function payloadView(view: ViewObject): ViewObject {
  return { ...structuredClone(view), state: { values: fullState(view) } };
}

function team(store: SlackStore) {
  return { id: store.workspace.teamId, domain: store.workspace.teamDomain };
}

function userOf(store: SlackStore, userId: string) {
  const user = ensureUser(store, userId);
  return { id: user.id, username: user.name, name: user.name, team_id: store.workspace.teamId };
}

function titleOf(view: ViewObject): string {
  return typeof view.title.text === 'string' ? view.title.text : '';
}

function describe(error: Record<string, unknown>): string {
  const metadata = error.response_metadata as { messages?: string[] } | undefined;
  return [String(error.error), ...(metadata?.messages ?? [])].join(' ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
