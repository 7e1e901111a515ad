/** The CLI's progress: a bar redrawn in place on a terminal, plain throttled lines otherwise. */
import { ConsoleReporter } from '../../src/cli/console-reporter.ts';
import type { Config } from '../../src/config/load.ts';
import type { Operation } from '../../src/operations/model.ts';

/** Carriage return, then ANSI "erase the line": the bar is drawn again in place. */
const REDRAW = '\r\x1b[2K';
const operation = { id: 'op-1', cluster: 'prod', kind: 'backup' } as Operation;

function reporter(options: { tty: boolean; columns?: number }) {
  let written = '';
  // What the reporter uses of a stream: write, and a terminal's width.
  const out = {
    columns: options.columns,
    write: (text: string) => {
      written += text;
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  let now = 1_000_000;
  const console = new ConsoleReporter({
    out,
    config: {} as Config,
    tty: options.tty,
    now: () => now,
  });
  return {
    console,
    output: () => written,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('on a terminal', () => {
  test('progress is one line redrawn with \\r: bar, percent and the text; the next event replaces it', async () => {
    const { console, output, advance } = reporter({ tty: true });
    await console.phaseStarted(operation, 'mirror');
    console.phaseProgress(operation, 'mirror', '4,200 of 10,000 objects copied', 0.42);
    advance(250);
    console.phaseProgress(operation, 'mirror', '5,000 of 10,000 objects copied', 0.5);
    const lines = output().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/mirror {2}started$/);
    const draws = lines[1].split(REDRAW).filter(Boolean);
    expect(draws).toHaveLength(2);
    expect(draws[0]).toMatch(/^\[\d\d:\d\d:\d\d\] mirror {2}█{10}░{14} 42% 4,200 of 10,000 objects copied$/);
    expect(draws[1]).toMatch(/█{12}░{12} 50% 5,000 of 10,000 objects copied$/);

    await console.phaseSucceeded(operation, 'mirror', { summary: '10,000 objects' });
    // The bar's line is cleared and the event written over it.
    const redrawn = output().replaceAll(REDRAW, '⟲');
    expect(redrawn).toMatch(/objects copied⟲\[\d\d:\d\d:\d\d\] mirror {2}✓: 10,000 objects\n$/);
  });

  test('redraws at most every 200 ms, never wider than the terminal, and without a fraction no bar', () => {
    const { console, output, advance } = reporter({ tty: true, columns: 40 });
    console.phaseProgress(operation, 'pause', 'waiting: 3 pods of app=pachd still running');
    advance(50);
    console.phaseProgress(operation, 'pause', 'waiting: 2 pods');
    const draws = output().split(REDRAW).filter(Boolean);
    expect(draws).toHaveLength(1);
    expect(draws[0]).toHaveLength(39);
    expect(draws[0]).toMatch(/pause {3}… waiting: 3 pods/);
    expect(draws[0]).not.toMatch(/[█░%]/);
  });

  test('a fraction outside 0–1 is clamped', () => {
    const { console, output } = reporter({ tty: true });
    console.phaseProgress(operation, 'mirror', 'done', 1.3);
    expect(output()).toMatch(/█{24} 100% done$/);
  });
});

describe('not a terminal (CI logs, pipes)', () => {
  test('plain lines with the percent, at most every 2 s, no carriage returns', async () => {
    const { console, output, advance } = reporter({ tty: false });
    console.phaseProgress(operation, 'mirror', '100 copied', 0.01);
    advance(500);
    console.phaseProgress(operation, 'mirror', '600 copied', 0.06);
    advance(1600);
    console.phaseProgress(operation, 'mirror', '2,100 copied', 0.21);
    await console.phaseSucceeded(operation, 'mirror', { summary: 'all copied' });
    expect(output()).not.toContain('\r');
    const lines = output().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\] mirror {2}… 1% 100 copied$/);
    expect(lines[1]).toMatch(/mirror {2}… 21% 2,100 copied$/);
    expect(lines[2]).toMatch(/mirror {2}✓: all copied$/);
  });

  test('without a fraction the line is the text alone', () => {
    const { console, output } = reporter({ tty: false });
    console.phaseProgress(operation, 'pause', 'waiting: 2 pods');
    expect(output()).toMatch(/pause {3}… waiting: 2 pods\n$/);
  });
});

test('an aborted phase says who stopped it and where, with the ways out', async () => {
  const { console, output } = reporter({ tty: false });
  await console.phaseFailed(
    operation,
    'mirror',
    'aborted by U0APPROVER (last progress: 4,200 of 10,000 objects copied)',
    {
      retry: true,
      resume: true,
      abort: false,
      aborted: { by: 'U0APPROVER', at: new Date(), partial: '4,200 of 10,000 objects copied' },
    },
  );
  expect(output()).toMatch(
    /mirror {2}✗ aborted by U0APPROVER \(last progress: 4,200 of 10,000 objects copied\)\n.*THE CLUSTER IS PAUSED\. Retry: pachops retry op-1/,
  );
});

test('a notice reads as plain text: no emoji shortcode in front, mentions as user ids', async () => {
  const { console, output } = reporter({ tty: false });
  await console.notice(operation, ':no_entry: refused by <@U0APPROVER>: see :warning: above');
  expect(output()).toMatch(/refused by U0APPROVER: see :warning: above\n$/);
  expect(output()).not.toContain(':no_entry:');
});
