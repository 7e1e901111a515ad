/**
 * Messages as readable text, roughly as a Slack client shows them: blocks drawn line by line,
 * mrkdwn kept as typed, buttons as `[Approve] [Reject]`. For test failures and the demo.
 */
import { isBlock } from './blocks.ts';
import type { Block } from './types.ts';

interface Renderable {
  user?: string;
  ts: string;
  text: string;
  blocks?: Block[];
  attachments?: Record<string, unknown>[];
  edited?: unknown;
}

/** A thread: the parent, then each reply indented under it. */
export function renderThreadText(messages: Renderable[], names: Map<string, string>): string {
  const [parent, ...replies] = messages;
  if (!parent) return '(no such thread)';
  const lines = renderMessage(parent, names);
  for (const reply of replies) {
    const [head, ...body] = renderMessage(reply, names);
    lines.push(`  ↳ ${head}`, ...body.map((line) => `  ${line}`));
  }
  return lines.join('\n');
}

/** One message: a heading line (author, ts, edited) and its content indented below. */
export function renderMessage(message: Renderable, names: Map<string, string> = new Map()): string[] {
  const author = message.user ? `@${names.get(message.user) ?? message.user}` : '@slack';
  const head = `${author} · ${message.ts}${message.edited ? ' (edited)' : ''}`;
  const body = message.blocks?.length ? renderBlocks(message.blocks) : message.text.split('\n');
  for (const attachment of message.attachments ?? [])
    body.push(...renderAttachment(attachment).map((l) => `▌ ${l}`));
  return [head, ...body.map((line) => `    ${line}`)];
}

export function renderBlocks(blocks: Block[]): string[] {
  return blocks.flatMap((block) => renderBlock(block));
}

function renderBlock(block: Block): string[] {
  switch (block.type) {
    case 'header':
      return [`# ${textOf(block.text)}`];
    case 'section':
      return renderSection(block);
    case 'context':
      return [`› ${list(block.elements).map(renderContextElement).join('  ·  ')}`];
    case 'actions':
      return [list(block.elements).map(renderElement).join(' ')];
    case 'divider':
      return ['──────────'];
    case 'image':
      return [`[image: ${String(block.alt_text ?? '')}]`];
    case 'rich_text':
      return richText(block.elements).split('\n');
    case 'markdown':
      return String(block.text ?? '').split('\n');
    case 'input':
      return [`${textOf(block.label)}: ${isBlock(block.element) ? renderElement(block.element) : '[input]'}`];
    default:
      return [`[${block.type}]`];
  }
}

function renderSection(block: Block): string[] {
  const lines = block.text !== undefined ? textOf(block.text).split('\n') : [];
  const fields = list(block.fields).map((field) => textOf(field).replace(/\n/g, ' '));
  if (fields.length > 0) lines.push(fields.join('  |  '));
  if (isBlock(block.accessory) && block.accessory.type !== 'image') {
    const accessory = renderElement(block.accessory);
    if (lines.length > 0) lines[lines.length - 1] += `  ${accessory}`;
    else lines.push(accessory);
  }
  return lines;
}

function renderElement(element: Block): string {
  if (element.type === 'button') return `[${textOf(element.text)}]`;
  if (element.type === 'overflow') return '[⋯]';
  if (/select$/.test(element.type)) {
    return `[${textOf(element.placeholder) || 'Select'} ▾]`;
  }
  return `[${element.type}]`;
}

function renderContextElement(element: Block): string {
  if (element.type === 'image') return `(${String(element.alt_text ?? 'image')})`;
  return textOf(element);
}

function renderAttachment(attachment: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const key of ['pretext', 'title', 'text'] as const) {
    if (typeof attachment[key] === 'string' && attachment[key])
      lines.push(...String(attachment[key]).split('\n'));
  }
  for (const field of Array.isArray(attachment.fields) ? attachment.fields : []) {
    const f = field as { title?: string; value?: string };
    lines.push(`${f.title ?? ''}: ${f.value ?? ''}`);
  }
  if (Array.isArray(attachment.blocks)) lines.push(...renderBlocks(attachment.blocks.filter(isBlock)));
  return lines;
}

/** Flattens rich_text sections, lists and quotes into lines. */
function richText(elements: unknown): string {
  return list(elements)
    .map((element) => {
      const inner = list(element.elements);
      if (element.type === 'rich_text_list')
        return inner.map((item) => `• ${inlineText(list(item.elements))}`).join('\n');
      if (element.type === 'rich_text_quote') return `> ${inlineText(inner)}`;
      if (element.type === 'rich_text_preformatted') return `\`\`\`${inlineText(inner)}\`\`\``;
      return inlineText(inner);
    })
    .join('\n');
}

function inlineText(elements: Block[]): string {
  return elements
    .map((e) => {
      if (e.type === 'user') return `<@${String(e.user_id)}>`;
      if (e.type === 'channel') return `<#${String(e.channel_id)}>`;
      if (e.type === 'usergroup') return `<!subteam^${String(e.usergroup_id)}>`;
      if (e.type === 'link') return String(e.text ?? e.url);
      if (e.type === 'emoji') return `:${String(e.name)}:`;
      return String(e.text ?? '');
    })
    .join('');
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (isBlock(value) && typeof value.text === 'string') return value.text;
  return '';
}

function list(value: unknown): Block[] {
  return Array.isArray(value) ? value.filter(isBlock) : [];
}
