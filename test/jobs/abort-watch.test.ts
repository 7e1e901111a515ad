/** The worker's side of [Abort]: polling for the request, aborting the phase's signal, cleaning up. */
import { setTimeout as sleep } from 'node:timers/promises';
import { PhaseAbortedError, watchForAbort } from '../../jobs/abort-watch.ts';
import { createLogger } from '../../src/log.ts';
import type { AbortRequest, AbortRequestStore } from '../../src/operations/abort-requests.ts';

const key = { operationId: 'op-1', phase: 'mirror' as const, run: 2 };
const log = createLogger({ name: 'test', level: 'silent' });

/** The store's one query, answered from memory: a request appears when the test says so. */
function requests() {
  let current: AbortRequest | undefined;
  let polls = 0;
  let failNext = false;
  const store = {
    find: async (asked: typeof key) => {
      polls++;
      if (failNext) {
        failNext = false;
        throw new Error('connection terminated');
      }
      return current && asked.run === current.run ? current : undefined;
    },
  } as unknown as AbortRequestStore;
  return {
    store,
    polls: () => polls,
    failOnce: () => {
      failNext = true;
    },
    request: (run = key.run) => {
      current = { ...key, run, requestedBy: 'U0APPROVER', requestedAt: new Date() };
    },
  };
}

test('a request for this run aborts the signal at the next poll, and polling stops', async () => {
  const db = requests();
  const watch = watchForAbort({ requests: db.store, key, log, intervalMs: 20 });
  await sleep(70);
  expect(watch.signal.aborted).toBe(false);
  db.failOnce(); // a lost connection is logged and the next poll tries again
  await sleep(30);
  db.request();
  await sleep(60);
  expect(watch.signal.aborted).toBe(true);
  expect(watch.request()?.requestedBy).toBe('U0APPROVER');
  const polls = db.polls();
  await sleep(60);
  expect(db.polls()).toBe(polls);
  await watch.stop();
});

test('a request for an earlier run (the one a Retry follows) does not abort this one', async () => {
  const db = requests();
  db.request(key.run - 1);
  const watch = watchForAbort({ requests: db.store, key, log, intervalMs: 20 });
  await sleep(80);
  expect(watch.signal.aborted).toBe(false);
  expect(await watch.stop({ lookAgain: true })).toBeUndefined();
});

test('stop ends polling; lookAgain finds a request made in the last moments', async () => {
  const db = requests();
  const watch = watchForAbort({ requests: db.store, key, log, intervalMs: 1000 });
  db.request();
  expect(watch.signal.aborted).toBe(false);
  expect((await watch.stop({ lookAgain: true }))?.requestedBy).toBe('U0APPROVER');
  const polls = db.polls();
  await sleep(1100);
  expect(db.polls()).toBe(polls);
  expect(watch.signal.aborted).toBe(false);
});

test("the parent signal (the CLI's Ctrl-C) aborts it too, without a request", async () => {
  const db = requests();
  const parent = new AbortController();
  const watch = watchForAbort({ requests: db.store, key, parent: parent.signal, log, intervalMs: 1000 });
  parent.abort(new Error('interrupted'));
  expect(watch.signal.aborted).toBe(true);
  expect((watch.signal.reason as Error).message).toBe('interrupted');
  expect(watch.request()).toBeUndefined();
  await watch.stop();
});

test('an aborted phase is a permanent ABORTED error naming who and how far', () => {
  const request = { ...key, requestedBy: 'U0APPROVER', requestedAt: new Date() };
  const error = new PhaseAbortedError(request, '4,200 of 10,000 objects copied', new Error('AbortError'));
  expect(error).toMatchObject({
    code: 'ABORTED',
    permanent: true,
    partial: '4,200 of 10,000 objects copied',
  });
  expect(error.message).toBe('aborted by U0APPROVER (last progress: 4,200 of 10,000 objects copied)');
});
