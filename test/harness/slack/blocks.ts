/** Block Kit handling: Slack's checks on incoming blocks, its generated ids, and button lookup. */
import { randomBytes } from 'node:crypto';
import type { Block } from './types.ts';

const blockTypes = new Set([
  'section',
  'context',
  'header',
  'actions',
  'divider',
  'image',
  'rich_text',
  'input',
  'file',
  'video',
  'markdown',
  'table',
]);

export interface ButtonMatch {
  blockId: string;
  element: Block & { action_id: string; value?: string };
}

/** The first button (in an actions block or a section accessory) with this action_id. */
export function findButton(message: { blocks?: Block[] }, actionId: string): ButtonMatch | undefined {
  for (const block of message.blocks ?? []) {
    for (const element of interactiveElements(block)) {
      if (element.type === 'button' && element.action_id === actionId) {
        return { blockId: String(block.block_id), element: element as ButtonMatch['element'] };
      }
    }
  }
  return undefined;
}

export function interactiveElements(block: Block): Block[] {
  if (block.type === 'actions') return asBlocks(block.elements);
  if (block.type === 'section' && isBlock(block.accessory)) return [block.accessory];
  if (block.type === 'input' && isBlock(block.element)) return [block.element];
  return [];
}

/** Decodes a `blocks` argument (JSON string in a form body, array in a JSON body). */
export function parseBlocksArg(value: unknown): Block[] | 'invalid_blocks_format' | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      return 'invalid_blocks_format';
    }
  }
  if (!Array.isArray(parsed) || !parsed.every(isBlock)) return 'invalid_blocks_format';
  return parsed as Block[];
}

/**
 * Slack's checks on blocks, reported the way Slack reports them:
 * `must be more than 0 characters [json-pointer:/blocks/0/text/text]`. Empty list = valid.
 * Messages take 50 blocks, modals 100 (pass `{ max: 100, at: '/view/blocks' }`).
 */
export function validateBlocks(blocks: Block[], { max = 50, at: base = '/blocks' } = {}): string[] {
  const errors: string[] = [];
  if (blocks.length > max) errors.push(`no more than ${max} items allowed [json-pointer:${base}]`);
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    const at = `${base}/${i}`;
    if (!blockTypes.has(block.type)) errors.push(`unsupported type: ${block.type} [json-pointer:${at}/type]`);
    if (block.block_id !== undefined) {
      if (blockIds.has(block.block_id)) errors.push(`duplicate block_id [json-pointer:${at}/block_id]`);
      blockIds.add(block.block_id);
    }
    errors.push(...validateBlock(block, at));
  });
  return errors;
}

function validateBlock(block: Block, at: string): string[] {
  const errors: string[] = [];
  if (block.type === 'section') {
    if (block.text === undefined && block.fields === undefined)
      errors.push(`must provide text or fields [json-pointer:${at}]`);
    if (block.text !== undefined) errors.push(...checkText(block.text, `${at}/text`, 3000));
    asBlocks(block.fields).forEach((f, j) => {
      errors.push(...checkText(f, `${at}/fields/${j}`, 2000));
    });
  }
  if (block.type === 'header') errors.push(...checkText(block.text, `${at}/text`, 150, 'plain_text'));
  if (block.type === 'context' || block.type === 'actions') {
    const elements = asBlocks(block.elements);
    const max = block.type === 'context' ? 10 : 25;
    if (elements.length === 0) errors.push(`must provide at least 1 item [json-pointer:${at}/elements]`);
    if (elements.length > max) errors.push(`no more than ${max} items allowed [json-pointer:${at}/elements]`);
  }
  if (block.type === 'input') {
    errors.push(...checkText(block.label, `${at}/label`, 2000, 'plain_text'));
    if (block.hint !== undefined) errors.push(...checkText(block.hint, `${at}/hint`, 2000, 'plain_text'));
    if (!isBlock(block.element)) errors.push(`must provide an object [json-pointer:${at}/element]`);
    else if (!inputElementTypes.has(block.element.type)) {
      errors.push(`unsupported type: ${block.element.type} [json-pointer:${at}/element/type]`);
    }
  }
  const actionIds = new Set<string>();
  for (const [j, element] of interactiveElements(block).entries()) {
    const where =
      block.type === 'actions'
        ? `${at}/elements/${j}`
        : block.type === 'input'
          ? `${at}/element`
          : `${at}/accessory`;
    if (typeof element.action_id === 'string') {
      if (actionIds.has(element.action_id))
        errors.push(`duplicate action_id [json-pointer:${where}/action_id]`);
      actionIds.add(element.action_id);
    }
    if (element.type === 'button') {
      errors.push(...checkText(element.text, `${where}/text`, 75, 'plain_text'));
      if (typeof element.value === 'string' && element.value.length > 2000) {
        errors.push(`must be less than 2001 characters [json-pointer:${where}/value]`);
      }
    }
    if (typeof element.action_id === 'string' && element.action_id.length > 255) {
      errors.push(`must be less than 256 characters [json-pointer:${where}/action_id]`);
    }
    if (element.placeholder !== undefined) {
      errors.push(...checkText(element.placeholder, `${where}/placeholder`, 150, 'plain_text'));
    }
    errors.push(...checkOptions(element, where));
  }
  return errors;
}

/** Element types an input block takes. */
const inputElementTypes = new Set([
  'plain_text_input',
  'email_text_input',
  'url_text_input',
  'number_input',
  'rich_text_input',
  'static_select',
  'external_select',
  'users_select',
  'conversations_select',
  'channels_select',
  'multi_static_select',
  'multi_external_select',
  'multi_users_select',
  'multi_conversations_select',
  'multi_channels_select',
  'checkboxes',
  'radio_buttons',
  'datepicker',
  'timepicker',
  'datetimepicker',
  'file_input',
]);

/** The most options each element with a static list takes. */
const maxOptions: Record<string, number> = {
  static_select: 100,
  multi_static_select: 100,
  overflow: 5,
  checkboxes: 10,
  radio_buttons: 10,
};

/** Options must be a non-empty list (or option_groups for selects) of {text, value}, values ≤150. */
function checkOptions(element: Block, where: string): string[] {
  const max = maxOptions[element.type];
  if (max === undefined) return [];
  const isSelect = element.type.endsWith('static_select');
  if (isSelect && element.option_groups !== undefined && element.options === undefined) {
    const groups = asBlockless(element.option_groups);
    if (groups.length === 0) return [`must provide at least 1 item [json-pointer:${where}/option_groups]`];
    return groups.flatMap((group, g) =>
      checkOptionList(asBlockless(group.options), `${where}/option_groups/${g}/options`, max),
    );
  }
  return checkOptionList(asBlockless(element.options), `${where}/options`, max);
}

function checkOptionList(options: Record<string, unknown>[], at: string, max: number): string[] {
  if (options.length === 0) return [`must provide at least 1 item [json-pointer:${at}]`];
  const errors: string[] = [];
  if (options.length > max) errors.push(`no more than ${max} items allowed [json-pointer:${at}]`);
  options.forEach((option, k) => {
    errors.push(...checkText(option.text, `${at}/${k}/text`, 75));
    if (typeof option.value !== 'string' || option.value === '') {
      errors.push(`must provide a string [json-pointer:${at}/${k}/value]`);
    } else if (option.value.length > 150) {
      errors.push(`must be less than 151 characters [json-pointer:${at}/${k}/value]`);
    }
  });
  return errors;
}

function asBlockless(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value)
    ? value.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object')
    : [];
}

function checkText(text: unknown, at: string, max: number, only?: string): string[] {
  if (!isBlock(text) || typeof text.text !== 'string') return [`must provide an object [json-pointer:${at}]`];
  if (text.type !== 'plain_text' && text.type !== 'mrkdwn')
    return [`invalid text type [json-pointer:${at}/type]`];
  if (only && text.type !== only) return [`must be a ${only} text object [json-pointer:${at}/type]`];
  if (text.text.length === 0) return [`must be more than 0 characters [json-pointer:${at}/text]`];
  if (text.text.length > max) return [`must be less than ${max + 1} characters [json-pointer:${at}/text]`];
  return [];
}

/**
 * What Slack stores: a deep copy in which every block has a block_id and every interactive
 * element an action_id (Slack generates short random ones when the app gave none).
 */
export function withGeneratedIds(blocks: Block[]): Block[] {
  const copy = structuredClone(blocks);
  for (const block of copy) {
    block.block_id ??= shortId();
    for (const element of interactiveElements(block)) {
      if (typeof element.action_id !== 'string') element.action_id = shortId();
    }
  }
  return copy;
}

/** All text in the blocks (every `text` string, nested ones too), one per line, for searching. */
export function blocksText(blocks: Block[] | undefined): string {
  const parts: string[] = [];
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'text' && typeof value === 'string') parts.push(value);
      else walk(value);
    }
  };
  walk(blocks ?? []);
  return parts.join('\n');
}

export function isBlock(value: unknown): value is Block {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    typeof (value as Block).type === 'string'
  );
}

function asBlocks(value: unknown): Block[] {
  return Array.isArray(value) ? value.filter(isBlock) : [];
}

function shortId(): string {
  return randomBytes(4).toString('base64url').slice(0, 5);
}
