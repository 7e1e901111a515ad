/** AbortRequestStore (src/operations/abort-requests.ts) on a fresh database of the run's real PostgreSQL. */
import { randomUUID } from 'node:crypto';
import { AbortRequestStore } from '../../src/operations/abort-requests.ts';
import { StateStore } from '../../src/operations/store.ts';
import { stackEnv, uniqueName } from '../harness/stack-env.ts';

let store: StateStore;
let requests: AbortRequestStore;
let operationId: string;

beforeAll(async () => {
  store = new StateStore(await stackEnv().postgres.createDatabase(uniqueName('pachops-abort')));
  await store.migrate();
  requests = new AbortRequestStore(store.pool);
  operationId = randomUUID();
  await store.createOperation({
    id: operationId,
    kind: 'backup',
    cluster: 'prod',
    requestedBy: 'U0ALICE',
    via: 'slack',
    options: { skipDatabases: [], dryRun: false },
    backupId: `prod-20260101t000000z-${operationId.slice(0, 4)}`,
  });
});

afterAll(async () => {
  await store?.close();
});

test('the first request for a run is kept; a second changes nothing and names the first', async () => {
  const first = await requests.request({ operationId, phase: 'mirror', run: 1, requestedBy: 'U0ALICE' });
  expect(first).toMatchObject({
    created: true,
    request: { phase: 'mirror', run: 1, requestedBy: 'U0ALICE' },
  });
  const second = await requests.request({ operationId, phase: 'mirror', run: 1, requestedBy: 'U0BOB' });
  expect(second).toMatchObject({ created: false, request: { requestedBy: 'U0ALICE' } });
  expect(second.request.requestedAt).toEqual(first.request.requestedAt);
});

test('a request holds for its run and phase only: a Retry (the next run) finds none', async () => {
  await requests.request({ operationId, phase: 'dump', run: 1, requestedBy: 'U0ALICE' });
  expect(await requests.find({ operationId, phase: 'dump', run: 1 })).toMatchObject({
    requestedBy: 'U0ALICE',
  });
  expect(await requests.find({ operationId, phase: 'dump', run: 2 })).toBeUndefined();
  expect(await requests.find({ operationId, phase: 'pause', run: 1 })).toBeUndefined();
});
