import type { types } from '@slack/bolt';

export type KnownBlock = types.KnownBlock;

/** Slack mrkdwn needs &, < and > escaped in text that did not come from us. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: text.slice(0, 3000) } };
}

export function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text: text.slice(0, 3000) }] };
}

export function header(text: string): KnownBlock {
  return { type: 'header', text: { type: 'plain_text', text: text.slice(0, 150) } };
}

export interface ButtonSpec {
  text: string;
  actionId: string;
  value: string;
  style?: 'primary' | 'danger';
  /** Slack asks "are you sure?" before sending the click (`text` is mrkdwn). */
  confirm?: { title: string; text: string; confirm: string; deny: string };
}

export function buttons(specs: ButtonSpec[]): KnownBlock {
  return {
    type: 'actions',
    elements: specs.map((b) => ({
      type: 'button',
      text: { type: 'plain_text', text: b.text },
      action_id: b.actionId,
      value: b.value,
      ...(b.style ? { style: b.style } : {}),
      ...(b.confirm ? { confirm: confirmDialog(b.confirm, b.style) } : {}),
    })),
  };
}

function confirmDialog(spec: NonNullable<ButtonSpec['confirm']>, style: ButtonSpec['style']) {
  return {
    title: { type: 'plain_text' as const, text: spec.title.slice(0, 100) },
    text: { type: 'mrkdwn' as const, text: spec.text.slice(0, 300) },
    confirm: { type: 'plain_text' as const, text: spec.confirm.slice(0, 30) },
    deny: { type: 'plain_text' as const, text: spec.deny.slice(0, 30) },
    ...(style ? { style } : {}),
  };
}

/** `12:04 UTC` — times in the thread are UTC so that every reader sees the same clock. */
export function clock(date: Date): string {
  return `${date.toISOString().slice(11, 16)} UTC`;
}
