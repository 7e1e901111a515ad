/**
 * stopPhasesUnderWay (src/operations/abort-phase.ts), which a resume ending an operation runs first: it asks
 * every phase under way to stop, waits while one runs or is queued, and gives up at its deadline.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopPhasesUnderWay } from '../../src/operations/abort-phase.ts';
import { AbortRequestStore } from '../../src/operations/abort-requests.ts';
import type { Operation } from '../../src/operations/model.ts';
import { StateStore } from '../../src/operations/store.ts';
import { stackEnv, uniqueName } from '../harness/stack-env.ts';

const env = stackEnv();
let store: StateStore;

beforeAll(async () => {
  store = new StateStore(await env.postgres.createDatabase(uniqueName('pachops-stop')));
  await store.migrate();
});
afterAll(() => store?.close());

/** A backup with `dump` running (run 1) and `mirror` queued (run 1), as when an end is asked mid-way. */
async function operationMidWay(): Promise<Operation> {
  const id = randomUUID();
  const operation = await store.createOperation({
    id,
    kind: 'backup',
    cluster: uniqueName('prod'),
    requestedBy: 'U0ALICE',
    via: 'slack',
    options: { skipDatabases: [], dryRun: false },
    backupId: `prod-20260101t000000z-${id.slice(0, 4)}`,
  });
  await store.queuePhase(id, 'dump', 'U0BOB');
  await store.updatePhase(id, 'dump', { status: 'running' });
  await store.queuePhase(id, 'mirror', 'U0BOB');
  return operation;
}

test('asks each phase under way to stop, and returns once none runs or waits to run', async () => {
  const operation = await operationMidWay();
  const announced: string[][] = [];
  const stopping = stopPhasesUnderWay(store, operation, {
    requestedBy: 'U0CAROL',
    waitMs: 10_000,
    pollMs: 20,
    onStopping: async (phases) => void announced.push(phases),
  });
  // The phases do what a worker does on seeing the request: the running one fails, the queued one is skipped.
  const requests = new AbortRequestStore(store.pool);
  while (!(await requests.find({ operationId: operation.id, phase: 'mirror', run: 1 }))) await sleep(20);
  expect(await requests.find({ operationId: operation.id, phase: 'dump', run: 1 })).toMatchObject({
    requestedBy: 'U0CAROL',
  });
  await store.updatePhase(operation.id, 'dump', { status: 'failed', error: 'aborted' });
  await sleep(100);
  await store.updatePhase(operation.id, 'mirror', { status: 'skipped' });
  expect(await stopping).toEqual([]);
  expect(announced).toEqual([['dump', 'mirror']]);
});

test('gives up at its deadline and names what is still under way', async () => {
  const operation = await operationMidWay();
  const started = Date.now();
  const still = await stopPhasesUnderWay(store, operation, {
    requestedBy: 'U0CAROL',
    waitMs: 300,
    pollMs: 20,
  });
  expect(still).toEqual(['dump', 'mirror']);
  expect(Date.now() - started).toBeGreaterThanOrEqual(300);
});
