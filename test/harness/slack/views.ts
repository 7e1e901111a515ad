/**
 * Modals as Slack keeps them: view objects with ids and hashes, a stack of at most 3 per user,
 * what the user has entered (state), Slack's checks on views, and the checks the Slack client
 * makes before it sends a submission.
 */
import { randomBytes } from 'node:crypto';
import { interactiveElements, isBlock, validateBlocks, withGeneratedIds } from './blocks.ts';
import { nextId, type SlackStore } from './store.ts';
import type { Block, SlackView, ViewObject, ViewStateValue, ViewStateValues } from './types.ts';

/** A modal stack holds the opened view plus 2 pushed ones. */
export const maxStack = 3;
/** views.* answer view_too_large above 250 kB. */
const maxViewBytes = 250 * 1024;

/** What a test gives for one element: text, an option value, a date, an id, or a list of those. */
export type ViewInput = string | number | string[] | null;

/**
 * Entered values by block_id, then action_id: `{ cluster: { pick: 'prod' } }`. A block with a
 * single stateful element (every input block) may skip the action_id: `{ cluster: 'prod' }`.
 */
export type ViewValues = Record<string, ViewInput | Record<string, ViewInput>>;

type Kind = 'text' | 'option' | 'options' | 'date' | 'time' | 'id' | 'ids';

interface ElementSpec {
  /** the state field Slack fills */
  field: string;
  /** the element's field holding its initial value */
  initial: string;
  kind: Kind;
}

/** The element types whose entries land in `state.values`, and how. */
const stateful: Record<string, ElementSpec> = {
  plain_text_input: { field: 'value', initial: 'initial_value', kind: 'text' },
  email_text_input: { field: 'value', initial: 'initial_value', kind: 'text' },
  url_text_input: { field: 'value', initial: 'initial_value', kind: 'text' },
  number_input: { field: 'value', initial: 'initial_value', kind: 'text' },
  static_select: { field: 'selected_option', initial: 'initial_option', kind: 'option' },
  radio_buttons: { field: 'selected_option', initial: 'initial_option', kind: 'option' },
  multi_static_select: { field: 'selected_options', initial: 'initial_options', kind: 'options' },
  checkboxes: { field: 'selected_options', initial: 'initial_options', kind: 'options' },
  datepicker: { field: 'selected_date', initial: 'initial_date', kind: 'date' },
  timepicker: { field: 'selected_time', initial: 'initial_time', kind: 'time' },
  users_select: { field: 'selected_user', initial: 'initial_user', kind: 'id' },
  conversations_select: { field: 'selected_conversation', initial: 'initial_conversation', kind: 'id' },
  channels_select: { field: 'selected_channel', initial: 'initial_channel', kind: 'id' },
  multi_users_select: { field: 'selected_users', initial: 'initial_users', kind: 'ids' },
  multi_conversations_select: {
    field: 'selected_conversations',
    initial: 'initial_conversations',
    kind: 'ids',
  },
  multi_channels_select: { field: 'selected_channels', initial: 'initial_channels', kind: 'ids' },
};

/** An interactive element and the block holding it. */
export interface ElementMatch {
  block: Block & { block_id: string };
  element: Block & { action_id: string };
  /** in an input block (which sends block_actions only with `dispatch_action: true`) */
  inInput: boolean;
}

/** Decodes a `view` argument (JSON text in a form body, an object in a JSON body). */
export function readViewArg(value: unknown): Record<string, unknown> | undefined {
  let view = value;
  if (typeof view === 'string') {
    try {
      view = JSON.parse(view);
    } catch {
      return undefined;
    }
  }
  if (view === null || typeof view !== 'object' || Array.isArray(view)) return undefined;
  return view as Record<string, unknown>;
}

export function viewTooLarge(view: Record<string, unknown>): boolean {
  return Buffer.byteLength(JSON.stringify(view)) > maxViewBytes;
}

/**
 * Slack's checks on a modal view, worded as Slack words them
 * (`must be less than 25 characters [json-pointer:/view/title/text]`); empty list = valid.
 */
export function checkView(view: Record<string, unknown>): string[] {
  const errors: string[] = [];
  if (view.type !== 'modal') errors.push(`unsupported type: ${String(view.type)} [json-pointer:/view/type]`);
  errors.push(...checkTitle(view.title, '/view/title', true));
  errors.push(...checkTitle(view.submit, '/view/submit', false));
  errors.push(...checkTitle(view.close, '/view/close', false));
  if (!Array.isArray(view.blocks) || !view.blocks.every(isBlock)) {
    errors.push('must provide an array [json-pointer:/view/blocks]');
  } else {
    errors.push(...validateBlocks(view.blocks, { max: 100, at: '/view/blocks' }));
    if (view.submit == null && view.blocks.some((b) => b.type === 'input')) {
      errors.push('must provide submit when the view has input blocks [json-pointer:/view/submit]');
    }
  }
  for (const [key, max] of [
    ['private_metadata', 3000],
    ['callback_id', 255],
    ['external_id', 255],
  ] as const) {
    const value = view[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') errors.push(`must be a string [json-pointer:/view/${key}]`);
    else if (value.length > max)
      errors.push(`must be less than ${max + 1} characters [json-pointer:/view/${key}]`);
  }
  return errors;
}

function checkTitle(value: unknown, at: string, required: boolean): string[] {
  if (value == null) return required ? [`must provide an object [json-pointer:${at}]`] : [];
  if (!isBlock(value) || typeof value.text !== 'string')
    return [`must provide an object [json-pointer:${at}]`];
  if (value.type !== 'plain_text') return [`must be a plain_text text object [json-pointer:${at}/type]`];
  if (value.text.length === 0) return [`must be more than 0 characters [json-pointer:${at}/text]`];
  if (value.text.length > 24) return [`must be less than 25 characters [json-pointer:${at}/text]`];
  return [];
}

/** The view object Slack stores for an app's (already checked) view. */
function buildViewObject(
  store: SlackStore,
  view: Record<string, unknown>,
  ids: { id: string; rootViewId: string; previousViewId: string | null },
): ViewObject {
  const { workspace } = store;
  const str = (value: unknown) => (typeof value === 'string' ? value : '');
  return {
    id: ids.id,
    team_id: workspace.teamId,
    type: 'modal',
    title: withEmoji(view.title) as Block,
    submit: withEmoji(view.submit),
    close: withEmoji(view.close),
    blocks: withGeneratedIds(view.blocks as Block[]),
    private_metadata: str(view.private_metadata),
    callback_id: str(view.callback_id),
    state: { values: {} },
    hash: newHash(),
    clear_on_close: view.clear_on_close === true,
    notify_on_close: view.notify_on_close === true,
    root_view_id: ids.rootViewId,
    previous_view_id: ids.previousViewId,
    app_id: workspace.appId,
    external_id: str(view.external_id),
    app_installed_team_id: workspace.teamId,
    bot_id: workspace.botId,
    ...(typeof view.submit_disabled === 'boolean' ? { submit_disabled: view.submit_disabled } : {}),
  };
}

/** Slack returns a modal's title/submit/close with `emoji: true` added. */
function withEmoji(value: unknown): Block | null {
  if (!isBlock(value)) return null;
  return { ...structuredClone(value), emoji: value.emoji ?? true };
}

function newHash(): string {
  return `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`;
}

export function findView(store: SlackStore, id: string): SlackView | undefined {
  return store.views.find((v) => v.id === id);
}

/** The user's open views, root first, top of the stack last. */
export function openStack(store: SlackStore, userId: string): SlackView[] {
  return (store.viewStacks.get(userId) ?? []).flatMap((id) => findView(store, id) ?? []);
}

/** An open view by id, or by the app's external_id. */
export function findOpenView(
  store: SlackStore,
  { viewId, externalId }: { viewId?: string; externalId?: string },
): SlackView | undefined {
  return store.views.find(
    (v) =>
      v.closedAt === undefined &&
      ((viewId !== undefined && v.id === viewId) ||
        (externalId !== undefined && externalId !== '' && v.view.external_id === externalId)),
  );
}

/** external_ids are unique per app and team, closed views included. */
export function externalIdTaken(store: SlackStore, externalId: unknown, exceptViewId?: string): boolean {
  if (typeof externalId !== 'string' || externalId === '') return false;
  return store.views.some((v) => v.id !== exceptViewId && v.view.external_id === externalId);
}

/** views.open: a new stack on the user's screen (a modal already there is replaced). */
export function openView(store: SlackStore, userId: string, view: Record<string, unknown>): SlackView {
  for (const old of openStack(store, userId)) markClosed(old, 'replaced');
  const id = nextId(store, 'V');
  const record = newRecord(
    userId,
    buildViewObject(store, view, { id, rootViewId: id, previousViewId: null }),
  );
  store.views.push(record);
  store.viewStacks.set(userId, [id]);
  return record;
}

/** views.push / response_action push: a view on top of the user's stack. */
export function pushView(
  store: SlackStore,
  userId: string,
  view: Record<string, unknown>,
): SlackView | 'not_found' | 'push_limit_reached' {
  const stack = store.viewStacks.get(userId) ?? [];
  if (stack.length === 0) return 'not_found';
  if (stack.length >= maxStack) return 'push_limit_reached';
  const id = nextId(store, 'V');
  // Slack's own example answers show previous_view_id null on pushed views too.
  const object = buildViewObject(store, view, { id, rootViewId: stack[0], previousViewId: null });
  const record = newRecord(userId, object);
  store.views.push(record);
  stack.push(id);
  return record;
}

function newRecord(user: string, view: ViewObject): SlackView {
  const now = Date.now();
  return { id: view.id, user, view, hash: view.hash, openedAt: now, updatedAt: now };
}

/**
 * views.update / response_action update: the view's content is replaced (same id, new hash).
 * What the user entered in input blocks whose block_id and action_id (and element type) are
 * unchanged is kept, as Slack keeps it, even over a new initial_value; elements outside input
 * blocks show the new view's initial values.
 */
export function replaceView(store: SlackStore, record: SlackView, view: Record<string, unknown>): void {
  const old = record.view;
  const next = buildViewObject(store, view, {
    id: record.id,
    rootViewId: old.root_view_id,
    previousViewId: old.previous_view_id,
  });
  for (const { block, element, inInput } of statefulElements(next.blocks)) {
    const entry = old.state.values[block.block_id]?.[element.action_id];
    if (!inInput || entry?.type !== element.type) continue;
    next.state.values[block.block_id] ??= {};
    next.state.values[block.block_id][element.action_id] = entry;
  }
  record.view = next;
  record.hash = next.hash;
  record.updatedAt = Date.now();
  delete record.errors;
}

/** Takes views off the user's screen: this one (and whatever is pushed above it), or the stack. */
export function closeViews(
  store: SlackStore,
  record: SlackView,
  how: 'this' | 'stack',
  closedBy: NonNullable<SlackView['closedBy']>,
): SlackView[] {
  const stack = store.viewStacks.get(record.user) ?? [];
  const from = how === 'stack' ? 0 : stack.indexOf(record.id);
  if (from < 0) return [];
  const closed = stack
    .splice(from)
    .reverse()
    .flatMap((id) => findView(store, id) ?? []);
  for (const view of closed) markClosed(view, closedBy);
  if (stack.length === 0) store.viewStacks.delete(record.user);
  return closed;
}

function markClosed(record: SlackView, closedBy: NonNullable<SlackView['closedBy']>): void {
  record.closedAt = Date.now();
  record.closedBy = closedBy;
}

/** Every interactive element (buttons, selects, inputs…) with its block. */
export function allElements(blocks: Block[]): ElementMatch[] {
  return blocks.flatMap((block) =>
    interactiveElements(block).map((element) => ({
      block: block as ElementMatch['block'],
      element: element as ElementMatch['element'],
      inInput: block.type === 'input',
    })),
  );
}

/** The elements whose values Slack keeps in `state.values`. */
export function statefulElements(blocks: Block[]): ElementMatch[] {
  return allElements(blocks).filter((m) => stateful[m.element.type] !== undefined);
}

/**
 * The state Slack sends in payloads: every stateful element, with what the user entered, else
 * its initial value, else empty (`value: null`, `selected_option: null`, `selected_options: []`…).
 */
export function fullState(view: ViewObject): ViewStateValues {
  const values: ViewStateValues = {};
  for (const { block, element } of statefulElements(view.blocks)) {
    const entry = view.state.values[block.block_id]?.[element.action_id] ?? initialEntry(element);
    values[block.block_id] ??= {};
    values[block.block_id][element.action_id] = structuredClone(entry);
  }
  return values;
}

function initialEntry(element: Block): ViewStateValue {
  const spec = stateful[element.type];
  const initial = element[spec.initial];
  const empty = spec.kind === 'options' || spec.kind === 'ids' ? [] : null;
  return { type: element.type, [spec.field]: initial === undefined ? empty : structuredClone(initial) };
}

/** True when the entry holds nothing (what makes a required input block refuse to submit). */
export function isEmptyEntry(entry: ViewStateValue): boolean {
  const spec = stateful[entry.type];
  const value = spec ? entry[spec.field] : undefined;
  return value == null || value === '' || (Array.isArray(value) && value.length === 0);
}

/** The state entry for a value a test gives an element; throws when the element cannot take it. */
export function entryFor(element: Block, input: ViewInput, where: string): ViewStateValue {
  const spec = stateful[element.type];
  if (!spec) {
    const known = Object.keys(stateful).join(', ');
    throw new Error(`${where} is a ${element.type}; the stand-in fills only ${known}`);
  }
  const entry = (value: unknown): ViewStateValue => ({ type: element.type, [spec.field]: value });
  const list = input === null ? [] : Array.isArray(input) ? input : [String(input)];
  if (spec.kind === 'options') return entry(list.map((v) => findOption(element, v, where)));
  if (spec.kind === 'ids') return entry([...list]);
  if (Array.isArray(input)) throw new Error(`${where} (${element.type}) takes one value, not a list`);
  if (input === null) return entry(null);
  const value = String(input);
  if (spec.kind === 'option') return entry(findOption(element, value, where));
  if (spec.kind === 'date' && !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    throw new Error(`${where} (datepicker) takes a YYYY-MM-DD date, not "${value}"`);
  }
  if (spec.kind === 'time' && !/^\d{2}:\d{2}$/.test(value)) {
    throw new Error(`${where} (timepicker) takes an HH:mm time, not "${value}"`);
  }
  return entry(value);
}

/** An option of a select, radio group, checkbox group or overflow, by value (a copy of it). */
export function findOption(element: Block, value: string, where: string): Record<string, unknown> {
  const options = optionsOf(element);
  const found = options.find((o) => o.value === value);
  if (!found) {
    const values = options.map((o) => JSON.stringify(o.value)).join(', ');
    throw new Error(`${where} (${element.type}) has no option "${value}"; its options: ${values || 'none'}`);
  }
  return structuredClone(found);
}

function optionsOf(element: Block): Record<string, unknown>[] {
  const list = (value: unknown) =>
    Array.isArray(value) ? value.filter((o): o is Record<string, unknown> => isBlockLike(o)) : [];
  return [...list(element.options), ...list(element.option_groups).flatMap((g) => list(g.options))];
}

function isBlockLike(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Finds an interactive element by action_id (and block_id); throws, listing what there is, if none. */
export function findElement(
  view: ViewObject,
  actionId: string,
  blockId: string | undefined,
  filter: (m: ElementMatch) => boolean = () => true,
): ElementMatch {
  const candidates = allElements(view.blocks).filter(filter);
  const found = candidates.find(
    (m) => m.element.action_id === actionId && (blockId === undefined || m.block.block_id === blockId),
  );
  if (found) return found;
  const known = candidates.map((m) => `${m.block.block_id}/${m.element.action_id} (${m.element.type})`);
  const what =
    blockId === undefined ? `action_id "${actionId}"` : `block "${blockId}" / action "${actionId}"`;
  throw new Error(`view ${view.id} has no element with ${what}; it has: ${known.join(', ') || 'none'}`);
}

/** Writes a test's values into the view's state, as if the user had typed/picked them. */
export function applyValues(record: SlackView, values: ViewValues): void {
  const { view } = record;
  for (const [blockId, given] of Object.entries(values)) {
    const inBlock = statefulElements(view.blocks).filter((m) => m.block.block_id === blockId);
    if (inBlock.length === 0) {
      const blockIds = [...new Set(statefulElements(view.blocks).map((m) => m.block.block_id))];
      throw new Error(
        `view ${view.id} has no block "${blockId}" with an input element; blocks with inputs: ${blockIds.join(', ') || 'none'}`,
      );
    }
    for (const [actionId, input] of Object.entries(byActionId(blockId, given, inBlock))) {
      const match = findElement(view, actionId, blockId, (m) => stateful[m.element.type] !== undefined);
      setEntry(view, match, entryFor(match.element, input, `${blockId}/${actionId}`));
    }
  }
}

/** `{ action_id: value }` for a block; a bare value when the block has one stateful element. */
function byActionId(
  blockId: string,
  given: ViewValues[string],
  inBlock: ElementMatch[],
): Record<string, ViewInput> {
  if (isBlockLike(given)) return given as Record<string, ViewInput>;
  if (inBlock.length === 1) return { [inBlock[0].element.action_id]: given };
  const ids = inBlock.map((m) => m.element.action_id).join(', ');
  throw new Error(`block "${blockId}" has several elements (${ids}); give { action_id: value }`);
}

export function setEntry(view: ViewObject, match: ElementMatch, entry: ViewStateValue): void {
  view.state.values[match.block.block_id] ??= {};
  view.state.values[match.block.block_id][match.element.action_id] = entry;
}

/**
 * What the Slack client refuses before sending anything: required inputs left empty, text
 * outside min_length/max_length, numbers that are not numbers or out of range, bad emails/URLs.
 */
export function submitProblems(view: ViewObject, state: ViewStateValues): string[] {
  const problems: string[] = [];
  for (const { block, element, inInput } of statefulElements(view.blocks)) {
    if (!inInput) continue;
    const entry = state[block.block_id][element.action_id];
    const name = `"${labelOf(block)}" (${block.block_id}/${element.action_id})`;
    if (isEmptyEntry(entry)) {
      if (block.optional !== true) problems.push(`${name} is required`);
      continue;
    }
    const value = typeof entry.value === 'string' ? entry.value : undefined;
    if (value === undefined) continue;
    if (element.type === 'plain_text_input') {
      const min = typeof element.min_length === 'number' ? element.min_length : 0;
      const max = typeof element.max_length === 'number' ? element.max_length : 3000;
      if (value.length < min) problems.push(`${name} needs at least ${min} characters`);
      if (value.length > max) problems.push(`${name} takes at most ${max} characters`);
    }
    if (element.type === 'number_input') problems.push(...numberProblems(element, value, name));
    if (element.type === 'email_text_input' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
      problems.push(`${name} is not an email address`);
    }
    if (element.type === 'url_text_input' && !/^https?:\/\/\S+$/.test(value)) {
      problems.push(`${name} is not a URL`);
    }
  }
  return problems;
}

function numberProblems(element: Block, value: string, name: string): string[] {
  const decimal = element.is_decimal_allowed === true;
  if (!(decimal ? /^-?\d+(\.\d+)?$/ : /^-?\d+$/).test(value)) {
    return [`${name} is not ${decimal ? 'a number' : 'a whole number'}`];
  }
  const n = Number(value);
  if (element.min_value !== undefined && n < Number(element.min_value)) {
    return [`${name} is below ${String(element.min_value)}`];
  }
  if (element.max_value !== undefined && n > Number(element.max_value)) {
    return [`${name} is above ${String(element.max_value)}`];
  }
  return [];
}

export function labelOf(block: Block): string {
  return isBlock(block.label) && typeof block.label.text === 'string' ? block.label.text : block.type;
}
