import type { Estimate } from '../../src/announce/estimate.ts';
import {
  allClear,
  cancelledNotice,
  DEFAULT_NOTICE_TEMPLATE,
  formatExpectedEnd,
  formatWhen,
  NoticeTemplateSchema,
  type NoticeVars,
  outageNotice,
  renderNotice,
  updatedNotice,
  validateTemplate,
} from '../../src/announce/notice.ts';
import { ConfigError } from '../../src/errors.ts';

const THREAD = 'https://acme.slack.com/archives/C0OPS/p1732456789000100';
const vars: NoticeVars = {
  cluster: 'prod',
  when: 'now',
  estimate: 'about 12 min (9–16)',
  expectedEnd: '~14:12 UTC',
  requester: 'U0ALICE',
  thread: THREAD,
  note: 'before the 2.12 upgrade',
};
const estimate: Estimate = {
  kind: 'history',
  expectedMs: 12 * 60_000,
  lowMs: 9 * 60_000,
  highMs: 16 * 60_000,
  samples: 8,
  perPhase: {
    pause: { expectedMs: 30_000, lowMs: 25_000, highMs: 40_000 },
    dump: { expectedMs: 200_000, lowMs: 150_000, highMs: 260_000 },
    mirror: { expectedMs: 430_000, lowMs: 320_000, highMs: 580_000 },
    resume: { expectedMs: 60_000, lowMs: 45_000, highMs: 80_000 },
  },
};

test('the default outage notice says what, when, how long, who and where', () => {
  expect(outageNotice(vars)).toBe(
    [
      ':warning: *Pachyderm prod goes down now for a backup.*',
      'While it is down, ingest, pipelines and the S3 gateway will not work.',
      'Expected downtime: about 12 min (9–16).',
      'Expected back: ~14:12 UTC.',
      'Note: before the 2.12 upgrade',
      'Started by <@U0ALICE>. This message will say when it is back.',
      `Details: <${THREAD}|the ops thread>`,
    ].join('\n'),
  );
  expect(renderNotice(undefined, vars)).toBe(outageNotice(vars));
});

test('lines whose placeholder has no value are left out', () => {
  const text = outageNotice({
    cluster: 'prod',
    when: 'at 14:00 UTC',
    estimate: 'no history yet',
    requester: 'U0ALICE',
  });
  expect(text).toBe(
    [
      ':warning: *Pachyderm prod goes down at 14:00 UTC for a backup.*',
      'While it is down, ingest, pipelines and the S3 gateway will not work.',
      'Expected downtime: no history yet.',
      'Started by <@U0ALICE>. This message will say when it is back.',
    ].join('\n'),
  );
});

test('inserted text is escaped; the template keeps its own mrkdwn', () => {
  const text = renderNotice('*{cluster}* by {requester}: {note} <{thread}>', {
    ...vars,
    cluster: 'a&b',
    requester: 'bob <admin@example.com>',
    note: 'see <!channel> & <https://evil.example|this>\n> quoted',
    thread: 'https://x.example/?a=1&b=<2>|3',
  });
  expect(text).toBe(
    '*a&amp;b* by bob &lt;admin@example.com&gt;: see &lt;!channel&gt; &amp; &lt;https://evil.example|this&gt; &gt; quoted ' +
      '<<https://x.example/?a=1&amp;b=&lt;2&gt;%7C3|the ops thread>>',
  );
});

test('a custom template uses every placeholder', () => {
  const template =
    '{cluster} {when} {estimate} {expectedEnd} {requester} {thread} {unavailable} {note} {cluster}';
  expect(validateTemplate(template)).toEqual([]);
  expect(renderNotice(template, { ...vars, unavailable: 'everything' })).toBe(
    `prod now about 12 min (9–16) ~14:12 UTC <@U0ALICE> <${THREAD}|the ops thread> everything before the 2.12 upgrade prod`,
  );
});

test('unknown placeholders are named, refused by the config schema, and never rendered', () => {
  const template = 'Pachyderm {cluster} down {When}, back {eta} ({eta}); {} and { note } are text';
  expect(validateTemplate(template)).toEqual(['When', 'eta', '']);
  expect(validateTemplate(DEFAULT_NOTICE_TEMPLATE)).toEqual([]);
  const parsed = NoticeTemplateSchema.safeParse(template);
  expect(parsed.success).toBe(false);
  expect(parsed.error?.issues[0].message).toBe(
    'unknown placeholders {When}, {eta}, {}; known: {cluster}, {when}, {estimate}, {expectedEnd}, {requester}, {thread}, {unavailable}, {note}',
  );
  expect(NoticeTemplateSchema.safeParse('{cluster} is down').success).toBe(true);
  expect(() => renderNotice('{cluster} {eta}', vars)).toThrow(ConfigError);
  expect(() => renderNotice('{cluster} {eta}', vars)).toThrow(/unknown placeholder \{eta\}/);
});

test('an updated notice says what the estimate was', () => {
  const text = updatedNotice({
    ...vars,
    estimate: 'about 25 min (20–31)',
    previousEstimate: 'about 12 min (9–16)',
  });
  expect(text).toContain('Expected downtime: about 25 min (20–31).');
  expect(text.endsWith('\n_Estimate updated; it was about 12 min (9–16)._')).toBe(true);
  expect(updatedNotice({ ...vars, previousEstimate: 'x' }, 'Custom {cluster}')).toBe(
    'Custom prod\n_Estimate updated; it was x._',
  );
});

test('the all-clear gives the actual downtime beside the estimate', () => {
  expect(
    allClear({ cluster: 'prod', actualDowntimeMs: 11 * 60_000 + 10_000, estimate, thread: THREAD }),
  ).toBe(
    `:white_check_mark: *Pachyderm prod is back*: it was down 11 min (estimated 12 min). Details: <${THREAD}|the ops thread>`,
  );
  expect(
    allClear({
      cluster: 'prod',
      actualDowntimeMs: 95_000,
      estimate: { kind: 'none', reason: 'no history yet' },
    }),
  ).toBe(':white_check_mark: *Pachyderm prod is back*: it was down 95 s.');
});

test('a backup called off before the pause takes the notice back', () => {
  expect(cancelledNotice({ cluster: 'prod', thread: THREAD })).toBe(
    `:information_source: *Pachyderm prod will not go down after all*: the backup was called off before the pause. Details: <${THREAD}|the ops thread>`,
  );
  expect(cancelledNotice({ cluster: '<b>' })).toContain('*Pachyderm &lt;b&gt; will not go down after all*');
});

test('when it goes down and when it should be back', () => {
  const now = new Date('2025-11-24T13:58:30Z');
  expect(formatWhen(undefined, now)).toBe('now');
  expect(formatWhen(new Date('2025-11-24T13:59:00Z'), now)).toBe('now');
  expect(formatWhen(new Date('2025-11-24T14:00:00Z'), now)).toBe('at 14:00 UTC');
  expect(formatWhen(new Date('2025-11-25T14:00:00Z'), now)).toBe('on Tue 25 Nov at 14:00 UTC');
  expect(formatExpectedEnd(new Date('2025-11-24T14:00:00Z'), estimate)).toBe('~14:12 UTC');
  expect(formatExpectedEnd(new Date('2025-11-24T14:00:40Z'), estimate)).toBe('~14:13 UTC');
  expect(formatExpectedEnd(now, { kind: 'none', reason: 'no history yet' })).toBeUndefined();
});
