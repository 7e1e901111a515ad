import { parsePachCommand, UsageError } from '../../src/slack/commands/parse.ts';

test('backup with a quoted note (typographic quotes from Slack), skipped db and dry run', () => {
  expect(
    parsePachCommand('backup prod --note \u201Cbefore the 2.12 upgrade\u201D --skip-db dex --dry-run'),
  ).toEqual({
    name: 'backup',
    cluster: 'prod',
    note: 'before the 2.12 upgrade',
    skipDatabases: ['dex'],
    dryRun: true,
  });
});

test('backup without a cluster leaves it to the single configured one', () => {
  expect(parsePachCommand('backup')).toMatchObject({ name: 'backup', cluster: undefined, dryRun: false });
});

test('prune with and without a cluster, dry run or not', () => {
  expect(parsePachCommand('prune prod --dry-run')).toEqual({ name: 'prune', cluster: 'prod', dryRun: true });
  expect(parsePachCommand('prune')).toEqual({ name: 'prune', cluster: undefined, dryRun: false });
});

test.each([
  ['prune prod staging', /does not take `staging`/],
  ['prune --yes', /Unknown option '--yes'/],
  ['frobnicate', /unknown command/],
  ['backup --bogus', /Unknown option '--bogus'/],
  ['backup a b', /does not take `b`/],
  ['show', /one backup id/],
  ['status now', /does not take/],
  ['backup --note', /argument missing|--note/],
])('%s is refused with a usage message', (text, message) => {
  expect(() => parsePachCommand(text)).toThrow(UsageError);
  expect(() => parsePachCommand(text)).toThrow(message);
});

test('empty text and help give help', () => {
  expect(parsePachCommand('')).toEqual({ name: 'help' });
  expect(parsePachCommand('help')).toEqual({ name: 'help' });
});
