/**
 * A prune of one cluster and a restore from its backups into another hold different clusters' locks:
 * crossClusterConflict (src/operations/prune-request.ts) keeps them apart, on the run's real PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import type { BackupOptions, OperationKind, RestoreOptions } from '../../src/operations/model.ts';
import { crossClusterConflict, pruneTag } from '../../src/operations/prune-request.ts';
import { StateStore } from '../../src/operations/store.ts';
import { stackEnv, uniqueName } from '../harness/stack-env.ts';

let store: StateStore;

beforeAll(async () => {
  store = new StateStore(await stackEnv().postgres.createDatabase(uniqueName('pachops-prune')));
  await store.migrate();
});
afterAll(async () => {
  await store?.close();
});

const restoreFrom = (fromCluster: string): RestoreOptions => ({
  backupId: `${fromCluster}-20261101t000000z-ab12`,
  fromCluster,
  databases: [{ source: 'pachyderm', target: 'pachyderm_restored', overwrite: false }],
  bucket: { name: 'restored', reuseBackupBucket: false },
  deploy: false,
  pauseCluster: false,
  safetyBackup: false,
});

function record(kind: OperationKind, cluster: string, options: Partial<BackupOptions> = {}) {
  const id = randomUUID();
  return store.createOperation({
    id,
    kind,
    cluster,
    requestedBy: 'U0ALICE',
    via: 'slack',
    options: { skipDatabases: [], dryRun: false, ...options },
    backupId: kind === 'restore' ? options.restore!.backupId : pruneTag(cluster),
  });
}

test('a prune is refused while a restore reads its backups into another cluster, and the other way round', async () => {
  const restore = await record('restore', 'staging', { restore: restoreFrom('prod') });
  const prune = await record('prune', 'prod');
  expect(await crossClusterConflict(store, prune)).toMatch(
    new RegExp(`a restore of staging from prod's backup .* is in progress \\(operation ${restore.id}\\)`),
  );
  // The restore, looking second, sees the prune too: both may be refused, never both run.
  expect(await crossClusterConflict(store, restore)).toMatch(/a prune of prod's backups is in progress/);
  await store.setStatus(restore.id, 'aborted', { finished: true });
  expect(await crossClusterConflict(store, prune)).toBeUndefined();
  await store.setStatus(prune.id, 'aborted', { finished: true });
});

test('dry runs, restores within one cluster and other clusters do not conflict', async () => {
  const dry = await record('prune', 'prod', { dryRun: true });
  const sameCluster = await record('restore', 'prod', { restore: restoreFrom('prod') });
  expect(await crossClusterConflict(store, dry)).toBeUndefined();
  expect(await crossClusterConflict(store, sameCluster)).toBeUndefined();
  await store.setStatus(sameCluster.id, 'aborted', { finished: true });
  const otherPrune = await record('prune', 'dev');
  const restore = await record('restore', 'staging', { restore: restoreFrom('prod') });
  expect(await crossClusterConflict(store, restore)).toBeUndefined();
  expect(await crossClusterConflict(store, otherPrune)).toBeUndefined();
});
