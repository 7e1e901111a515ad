/**
 * Messages and modals as readable text, roughly as a Slack client shows them: blocks drawn line
 * by line, mrkdwn kept as typed, buttons as `[Approve] [Reject]`, inputs with what the user
 * entered. For test failures and the demo.
 */
import { isBlock } from './blocks.ts';
import type { Block, SlackView, ViewStateValue, ViewStateValues } from './types.ts';
import { fullState } from './views.ts';

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

/**
 * A modal: its title and id, the blocks with each input's current value (`[prod ▾]`, empty ones
 * show their placeholder in underscores `[_Pick a cluster_ ▾]`), the errors of the last
 * `response_action: 'errors'` under their inputs (`⚠ …`), and the close/submit buttons.
 */
export function renderViewText(record: SlackView): string {
  const { view } = record;
  const state = fullState(view);
  const status = record.closedAt === undefined ? '' : ` (closed: ${record.closedBy})`;
  const callback = view.callback_id ? ` · ${view.callback_id}` : '';
  const lines = [`▣ ${textOf(view.title)} · ${record.id}${callback}${status}`];
  for (const block of view.blocks) {
    const drawn = renderViewBlock(block, state);
    const error = record.errors?.[String(block.block_id)];
    lines.push(...drawn.map((line) => `│ ${line}`));
    if (error) lines.push(`│   ⚠ ${error}`);
  }
  const buttons = [`[${textOf(view.close) || 'Cancel'}]`];
  if (view.submit) buttons.push(`[${textOf(view.submit)}]`);
  lines.push(`└ ${buttons.join(' ')}`);
  return lines.join('\n');
}

function renderViewBlock(block: Block, state: ViewStateValues): string[] {
  const values = state[String(block.block_id)] ?? {};
  const drawElement = (element: Block) => {
    const entry = values[String(element.action_id)];
    return entry ? renderInput(element, entry) : renderElement(element);
  };
  if (block.type === 'input' && isBlock(block.element)) {
    const label = `${textOf(block.label)}${block.optional === true ? ' (optional)' : ''}`;
    const lines = [`${label}: ${drawElement(block.element)}`];
    if (block.hint !== undefined) lines.push(`  ${textOf(block.hint)}`);
    return lines;
  }
  if (block.type === 'actions') return [list(block.elements).map(drawElement).join(' ')];
  if (block.type === 'section' && isBlock(block.accessory) && values[String(block.accessory.action_id)]) {
    const lines = renderSection({ ...block, accessory: undefined });
    const drawn = drawElement(block.accessory);
    if (lines.length > 0) lines[lines.length - 1] += `  ${drawn}`;
    else lines.push(drawn);
    return lines;
  }
  return renderBlock(block);
}

/** A stateful element showing its current value. */
function renderInput(element: Block, entry: ViewStateValue): string {
  const placeholder = textOf(element.placeholder);
  const empty = placeholder ? `_${placeholder}_` : ' ';
  const optionText = (option: unknown) => textOf(optionList([option])[0]?.text);
  switch (element.type) {
    case 'checkboxes':
    case 'radio_buttons': {
      const picked = element.type === 'checkboxes' ? entry.selected_options : [entry.selected_option];
      const chosen = new Set(optionList(picked).map((o) => o.value));
      const [on, off] = element.type === 'checkboxes' ? ['☑', '☐'] : ['◉', '○'];
      return optionList(element.options)
        .map((o) => `${chosen.has(o.value) ? on : off} ${textOf(o.text)}`)
        .join('  ');
    }
    case 'static_select':
      return `[${entry.selected_option ? optionText(entry.selected_option) : empty} ▾]`;
    case 'multi_static_select': {
      const chosen = optionList(entry.selected_options).map((o) => textOf(o.text));
      return `[${chosen.join(', ') || empty} ▾]`;
    }
    case 'datepicker':
      return `[📅 ${String(entry.selected_date ?? empty)}]`;
    case 'timepicker':
      return `[🕒 ${String(entry.selected_time ?? empty)}]`;
    default: {
      const value = Object.entries(entry).find(([key]) => key !== 'type')?.[1];
      const shown = Array.isArray(value) ? value.join(', ') : value == null ? '' : String(value);
      const select = /select$/.test(element.type) ? ' ▾' : '';
      return `[${shown.replace(/\n/g, '⏎') || empty}${select}]`;
    }
  }
}

/** Options (which have no `type`, so `list` would drop them). */
function optionList(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value)
    ? value.filter(
        (o): o is Record<string, unknown> => o !== null && typeof o === 'object' && !Array.isArray(o),
      )
    : [];
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
