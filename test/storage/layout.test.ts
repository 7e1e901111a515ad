import { clusterOfBackup, isBackupId, makeBackupId } from '../../src/storage/layout.ts';

const at = new Date('2026-11-24T12:00:00.123Z');

test('a backup id: the cluster, the UTC start time and a suffix', () => {
  expect(makeBackupId('prod-eu', at, 'ab12')).toBe('prod-eu-20261124t120000z-ab12');
  expect(isBackupId('prod-eu-20261124t120000z-ab12')).toBe(true);
  expect(isBackupId('prod-eu-20261124t120000z')).toBe(true);
  for (const bad of [
    'prod',
    'Prod-20261124t120000z-ab12',
    'prod-20261124t1200z-ab12',
    '../x-20261124t120000z',
  ])
    expect(isBackupId(bad)).toBe(false);
});

test('clusterOfBackup names the cluster before the timestamp, not the first whose name is a prefix', () => {
  const prod = { name: 'prod' };
  const prodEu = { name: 'prod-eu' };
  for (const clusters of [
    { prod, 'prod-eu': prodEu },
    { 'prod-eu': prodEu, prod },
  ]) {
    expect(clusterOfBackup(clusters, 'prod-eu-20261124t120000z-ab12')).toBe(prodEu);
    expect(clusterOfBackup(clusters, 'prod-20261124t120000z-ab12')).toBe(prod);
    expect(clusterOfBackup(clusters, 'prod-us-20261124t120000z-ab12')).toBeUndefined();
    expect(clusterOfBackup(clusters, 'prod-eu')).toBeUndefined();
  }
  // an object's inherited properties are not clusters
  expect(clusterOfBackup({ prod }, 'constructor-20261124t120000z-ab12')).toBeUndefined();
});
