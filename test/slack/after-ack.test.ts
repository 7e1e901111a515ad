/**
 * The bot's follow-up scheduler: acks first. Follow-ups wait while requests keep arriving, start once
 * the burst is over (or after their longest wait), and run a few at a time. Jest's fake clock drives it.
 */
import { jest } from '@jest/globals';
import { createAfterAck } from '../../src/slack/after-ack.ts';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

/** Lets the scheduler's promises and timers run for `ms` of fake time. */
async function pass(ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
}

test('a follow-up waits while requests keep arriving and starts once they stop', async () => {
  const { arrived, afterAck } = createAfterAck({ quietMs: 20, maxWaitMs: 1000 });
  const started: number[] = [];
  arrived();
  const done = afterAck(async () => void started.push(Date.now()));
  const t0 = Date.now();
  for (let i = 0; i < 10; i++) {
    await pass(10);
    arrived();
  }
  expect(started).toEqual([]);
  await pass(25);
  await done;
  expect(started).toHaveLength(1);
  expect(started[0]! - t0).toBeGreaterThanOrEqual(100 + 20);
});

test('under requests that never stop, a follow-up still starts after its longest wait', async () => {
  const { arrived, afterAck } = createAfterAck({ quietMs: 20, maxWaitMs: 200 });
  let started = false;
  const done = afterAck(async () => {
    started = true;
  });
  for (let i = 0; i < 15; i++) {
    arrived();
    await pass(10);
  }
  expect(started).toBe(false);
  for (let i = 0; i < 10; i++) {
    arrived();
    await pass(10);
  }
  expect(started).toBe(true);
  await done;
});

test('with no request arriving, a follow-up starts at once; at most `limit` run together and each gets its result', async () => {
  const { afterAck } = createAfterAck({ limit: 2, quietMs: 20 });
  let running = 0;
  let most = 0;
  const results = Promise.all(
    [1, 2, 3, 4, 5].map((n) =>
      afterAck(async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 50));
        running -= 1;
        return n * 10;
      }),
    ),
  );
  await pass(1);
  expect(running).toBe(2);
  await pass(200);
  await expect(results).resolves.toEqual([10, 20, 30, 40, 50]);
  expect(most).toBe(2);
});

test('a failing follow-up rejects its own promise only', async () => {
  const { afterAck } = createAfterAck();
  const failing = afterAck(async () => {
    throw new Error('chat.update failed');
  });
  const fine = afterAck(async () => 'ok');
  const checked = Promise.all([
    expect(failing).rejects.toThrow('chat.update failed'),
    expect(fine).resolves.toBe('ok'),
  ]);
  await pass(1);
  await checked;
});
