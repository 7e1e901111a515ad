/** views.open / views.push / views.update, answering the way Slack answers (shapes and error codes). */
import { type ApiResult, fail, type MethodHandler } from './chat-methods.ts';
import type { SlackStore, Trigger } from './store.ts';
import type { SlackView } from './types.ts';
import {
  checkView,
  externalIdTaken,
  findOpenView,
  openView,
  pushView,
  readViewArg,
  replaceView,
  viewTooLarge,
} from './views.ts';

/** Slack's trigger_ids are single-use and expire after 3 seconds. */
const triggerLifetimeMs = 3000;

/** The app's view from the `view` argument, or Slack's error answer for it. */
export function parseView(value: unknown): { view: Record<string, unknown> } | { error: ApiResult } {
  const view = readViewArg(value);
  if (!view) return { error: invalidArguments(['missing required field: view [json-pointer:/view]']) };
  if (viewTooLarge(view)) return { error: fail('view_too_large') };
  const errors = checkView(view);
  if (errors.length > 0) return { error: invalidArguments(errors) };
  return { view };
}

function invalidArguments(errors: string[]): ApiResult {
  return fail('invalid_arguments', { response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) } });
}

/** Checks and spends a trigger_id the way Slack does; the trigger, or the error code. */
function spendTrigger(store: SlackStore, triggerId: unknown): Trigger | string {
  const trigger = store.triggers.get(String(triggerId ?? ''));
  if (!trigger) return 'invalid_trigger_id';
  if (trigger.used) return 'exchanged_trigger_id';
  if (Date.now() - trigger.createdAt > triggerLifetimeMs) return 'expired_trigger_id';
  trigger.used = true;
  return trigger;
}

function viewAnswer(record: SlackView): ApiResult {
  return { ok: true, view: structuredClone(record.view) };
}

function viewsOpenOrPush(push: boolean): MethodHandler {
  return (store, args) => {
    const parsed = parseView(args.view);
    if ('error' in parsed) return parsed.error;
    if (externalIdTaken(store, parsed.view.external_id)) return fail('duplicate_external_id');
    const trigger = spendTrigger(store, args.trigger_id ?? args.interactivity_pointer);
    if (typeof trigger === 'string') return fail(trigger);
    if (!push) return viewAnswer(openView(store, trigger.user, parsed.view));
    const record = pushView(store, trigger.user, parsed.view);
    return typeof record === 'string' ? fail(record) : viewAnswer(record);
  };
}

function viewsUpdate(store: SlackStore, args: Record<string, unknown>): ApiResult {
  const parsed = parseView(args.view);
  if ('error' in parsed) return parsed.error;
  const viewId = typeof args.view_id === 'string' && args.view_id !== '' ? args.view_id : undefined;
  const externalId =
    typeof args.external_id === 'string' && args.external_id !== '' ? args.external_id : undefined;
  if (!viewId && !externalId) return invalidArguments(['must provide view_id or external_id']);
  const record = findOpenView(store, { viewId, externalId });
  if (!record) return fail('not_found');
  if (typeof args.hash === 'string' && args.hash !== '' && args.hash !== record.hash) {
    return fail('hash_conflict');
  }
  if (externalIdTaken(store, parsed.view.external_id, record.id)) return fail('duplicate_external_id');
  replaceView(store, record, parsed.view);
  return viewAnswer(record);
}

export const viewMethods: Record<string, MethodHandler> = {
  'views.open': viewsOpenOrPush(false),
  'views.push': viewsOpenOrPush(true),
  'views.update': viewsUpdate,
};
