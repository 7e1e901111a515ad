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
 * Slack's checks on message blocks, reported the way Slack reports them:
 * `must be more than 0 characters [json-pointer:/blocks/0/text/text]`. Empty list = valid.
 */
export function validateBlocks(blocks: Block[]): string[] {
  const errors: string[] = [];
  if (blocks.length > 50) errors.push('no more than 50 items allowed [json-pointer:/blocks]');
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    const at = `/blocks/${i}`;
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
  const actionIds = new Set<string>();
  for (const [j, element] of interactiveElements(block).entries()) {
    const where = block.type === 'actions' ? `${at}/elements/${j}` : `${at}/accessory`;
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
  }
  return errors;
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
