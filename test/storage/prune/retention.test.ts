import { RetentionSchema } from '../../../src/config/schema.ts';
import { applyRetention, isoWeek } from '../../../src/storage/prune/retention.ts';

const b = (id: string, createdAt: string) => ({ id, createdAt });
const rules = (input: object) => RetentionSchema.parse(input);
const kept = (verdicts: ReturnType<typeof applyRetention>) =>
  Object.fromEntries(verdicts.filter((v) => v.keptBy.length).map((v) => [v.id, v.keptBy.join(', ')]));

const week = [
  b('mon-a', '2026-11-16T01:00:00Z'),
  b('mon-b', '2026-11-16T23:30:00Z'),
  b('tue', '2026-11-17T12:00:00Z'),
  b('sun', '2026-11-22T23:59:59Z'),
  b('next-mon', '2026-11-23T00:00:00Z'),
  b('next-wed', '2026-11-25T08:00:00Z'),
];

test('keepLast keeps the newest N, whatever order the backups come in', () => {
  const verdicts = applyRetention([...week].reverse(), rules({ keepLast: 2 }));
  expect(verdicts.map((v) => v.id)).toEqual(['next-wed', 'next-mon', 'sun', 'tue', 'mon-b', 'mon-a']);
  expect(kept(verdicts)).toEqual({ 'next-wed': 'last 1', 'next-mon': 'last 2' });
});

test('keepDaily keeps the newest of each of the last N UTC days that have a backup (a tie within a day: the later)', () => {
  expect(kept(applyRetention(week, rules({ keepLast: 1, keepDaily: 4 })))).toEqual({
    'next-wed': 'last 1, daily 2026-11-25',
    'next-mon': 'daily 2026-11-23',
    sun: 'daily 2026-11-22',
    tue: 'daily 2026-11-17',
  });
  // Days are UTC days: 23:30Z on the 16th is the 16th even where it is already the 17th locally.
  const verdicts = applyRetention(week, rules({ keepLast: 1, keepDaily: 10 }));
  expect(kept(verdicts)['mon-b']).toBe('daily 2026-11-16');
  expect(kept(verdicts)['mon-a']).toBeUndefined();
});

test('keepWeekly uses ISO weeks (Monday first) and combines with the other rules', () => {
  expect(isoWeek(new Date('2026-11-22T23:59:59Z'))).toBe('2026-W47');
  expect(isoWeek(new Date('2026-11-23T00:00:00Z'))).toBe('2026-W48');
  expect(isoWeek(new Date('2027-01-01T00:00:00Z'))).toBe('2026-W53');
  expect(isoWeek(new Date('2024-12-30T00:00:00Z'))).toBe('2025-W01');
  expect(kept(applyRetention(week, rules({ keepLast: 1, keepDaily: 1, keepWeekly: 2 })))).toEqual({
    'next-wed': 'last 1, daily 2026-11-25, weekly 2026-W48',
    sun: 'weekly 2026-W47',
  });
});

test('keepMonthly keeps the newest of each month; nothing else is kept without a rule', () => {
  const months = [
    b('oct', '2026-10-31T23:00:00Z'),
    b('sep-late', '2026-09-30T10:00:00Z'),
    b('sep', '2026-09-01T00:00:00Z'),
  ];
  const verdicts = applyRetention([...week, ...months], rules({ keepLast: 1, keepMonthly: 3 }));
  expect(kept(verdicts)).toEqual({
    'next-wed': 'last 1, monthly 2026-11',
    oct: 'monthly 2026-10',
    'sep-late': 'monthly 2026-09',
  });
  expect(verdicts.filter((v) => !v.keptBy.length)).toHaveLength(6);
});

test('never prunes to zero: keepLast below 1 is refused, and the newest is always kept', () => {
  expect(RetentionSchema.safeParse({ keepLast: 0 }).error?.issues[0]?.message).toMatch(/at least 1/);
  expect(rules({ keepDaily: 3 }).keepLast).toBe(1);
  expect(kept(applyRetention([b('only', '2020-01-01T00:00:00Z')], rules({})))).toEqual({ only: 'last 1' });
  expect(applyRetention([], rules({ keepLast: 3 }))).toEqual([]);
});

test('the newest verified backup is kept even when newer ones that failed verification fill every rule', () => {
  const failed = (id: string, at: string) => ({ ...b(id, at), verified: false });
  const backups = [
    { ...b('good-old', '2026-11-10T00:00:00Z'), verified: true },
    { ...b('good', '2026-11-16T00:00:00Z'), verified: true },
    failed('bad-1', '2026-11-17T00:00:00Z'),
    failed('bad-2', '2026-11-18T00:00:00Z'),
  ];
  expect(kept(applyRetention(backups, rules({ keepLast: 2 })))).toEqual({
    'bad-2': 'last 1',
    'bad-1': 'last 2',
    good: 'newest verified',
  });
  // kept by a rule already: no second reason, nothing more kept
  expect(kept(applyRetention(backups, rules({ keepLast: 3 })))).toEqual({
    'bad-2': 'last 1',
    'bad-1': 'last 2',
    good: 'last 3',
  });
  // none verified (never verified, or all failed): the rules alone decide
  expect(kept(applyRetention(backups.slice(2), rules({ keepLast: 1 })))).toEqual({ 'bad-2': 'last 1' });
});
