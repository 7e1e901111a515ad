import type { ClusterConfig } from '../config/load.ts';
import type { Operation, PhaseName } from './model.ts';

/** The databases a backup dumps: the configured ones minus `--skip-db`. */
export function backupDatabases(cluster: ClusterConfig, operation: Operation): string[] {
  return cluster.postgres.databases.filter((name) => !operation.options.skipDatabases.includes(name));
}

/** What each phase is called in a prompt, and what an approver should know before clicking. */
export function describePhase(
  cluster: ClusterConfig,
  operation: Operation,
  phase: PhaseName,
): { title: string; description: string } {
  const ns = cluster.kubernetes.namespace;
  switch (phase) {
    case 'plan':
      if (operation.kind === 'prune')
        return {
          title: 'Plan the prune',
          description: `Applies the retention rules to the backups in \`${cluster.backup.bucket}\` and counts the mirror objects no kept backup lists; changes nothing.`,
        };
      return {
        title: 'Estimate sizes',
        description: 'Reads database sizes and lists the bucket; changes nothing.',
      };
    case 'precopy':
      return {
        title: 'Copy the bucket while live',
        description: `Copies \`${cluster.objectStore.bucket}\` into \`${cluster.backup.bucket}\` while Pachyderm runs, so the paused mirror copies only the delta.`,
      };
    case 'announce':
      return {
        title: 'Announce the outage',
        description: `Posts the outage notice with the downtime estimate in the users' channels; it is updated when the pause starts and when ${cluster.name} is back.`,
      };
    case 'pause':
      return {
        title: 'Pause the cluster',
        description: `${
          cluster.pause.mode === 'scale'
            ? `Scales pachd, pachw and every pipeline worker in namespace \`${ns}\` to 0 (counts are recorded first).`
            : 'Runs `pachctl enterprise pause`.'
        } *Pachyderm is down from here until resume.*`,
      };
    case 'dump':
      return {
        title: 'Dump the databases',
        description: `pg_dump -Fc of ${backupDatabases(cluster, operation).join(', ')} straight into \`${cluster.backup.bucket}\`, plus the Helm values.`,
      };
    case 'mirror':
      return {
        title: 'Mirror the bucket',
        description: `Copies every object of \`${cluster.objectStore.bucket}\` that \`${cluster.backup.bucket}\` lacks, then writes the manifest.`,
      };
    case 'resume': {
      const counts = Object.entries(operation.state.pause?.replicas ?? {}).map(
        ([key, n]) => `${key.split('/')[1]} ${n}`,
      );
      return {
        title: 'Resume the cluster',
        description: counts.length
          ? `Scales back to the recorded counts: ${counts.join(', ')}.`
          : 'Brings Pachyderm back up.',
      };
    }
    case 'safety-backup':
    case 'restore-databases':
    case 'restore-bucket':
    case 'deploy':
    case 'health':
      return describeRestorePhase(cluster, operation, phase);
    case 'drill':
      return {
        title: 'Rehearse a restore',
        description: `Restores the dumps into scratch databases on ${cluster.postgres.host}, checks every chunk object they reference is in \`${cluster.backup.bucket}\`, drops them. Changes nothing else.`,
      };
    case 'prune': {
      const plan = operation.state.prune;
      const what = plan
        ? `${plan.plan.prune.length} backup(s) and ${plan.garbage.objects} mirror object(s) that no kept backup lists`
        : 'the backups the plan lists, and the mirror objects no kept backup lists';
      return {
        title: 'Delete pruned backups',
        description: `Deletes from \`${cluster.backup.bucket}\` ${what}; each backup's manifest goes first. Cannot be undone.`,
      };
    }
    case 'verify':
      return {
        title: 'Verify the backup',
        description: `Reads the manifest, every dump and the object list back from \`${cluster.backup.bucket}\`. Changes nothing.`,
      };
  }
}

function describeRestorePhase(cluster: ClusterConfig, operation: Operation, phase: PhaseName) {
  const restore = operation.options.restore!;
  const targets = restore.databases.map(
    (d) => `${d.source} → \`${d.target}\`${d.overwrite ? ' (*overwritten*)' : ''}`,
  );
  switch (phase) {
    case 'safety-backup':
      return {
        title: 'Back up what will be replaced',
        description: `A full backup of ${cluster.name} as it is now (databases, bucket, Helm values), so this restore can itself be undone.`,
      };
    case 'restore-databases':
      return {
        title: 'Restore the databases',
        description: `Checks each dump's sha256, then pg_restore: ${targets.join(', ')}.`,
      };
    case 'restore-bucket':
      return {
        title: 'Restore the bucket',
        description: restore.bucket.reuseBackupBucket
          ? `Nothing to copy: Pachyderm will use the backup bucket \`${restore.bucket.name}\` itself, *which then stops being a backup*.`
          : `Copies the backup's objects into \`${restore.bucket.name}\`.`,
      };
    case 'deploy':
      return {
        title: 'Redeploy Pachyderm',
        description: `\`helm upgrade --install ${cluster.helm.release}\` in \`${cluster.helm.namespace}\` with the saved values, pointed at the restored databases and bucket.`,
      };
    default:
      return {
        title: 'Check the restored cluster',
        description:
          'pachd ready and not paused, versions, and every chunk object the restored metadata references present in the bucket.',
      };
  }
}
