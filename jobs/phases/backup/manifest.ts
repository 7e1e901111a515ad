import type { ClusterConfig } from '../../../src/config/load.ts';
import { PachopsError } from '../../../src/errors.ts';
import type { Operation } from '../../../src/operations/model.ts';
import { dumpKey, objectListKey } from '../../../src/storage/layout.ts';
import type { Manifest } from '../../../src/storage/manifest.ts';

/** The manifest from what the phases recorded; refuses if any part of the backup is missing. */
export function buildManifest(operation: Operation, cluster: ClusterConfig): Manifest {
  const { state } = operation;
  if (!state.pause || !state.dumps || !state.mirror || !state.pachd) {
    throw new PachopsError(
      'BACKUP_INCOMPLETE',
      'cannot write the manifest: pause, dump or mirror has not completed',
      {
        permanent: true,
      },
    );
  }
  return {
    formatVersion: 1,
    backupId: operation.backupId,
    cluster: operation.cluster,
    note: operation.options.note,
    requestedBy: operation.requestedBy,
    createdAt: operation.createdAt.toISOString(),
    completedAt: new Date().toISOString(),
    pachd: state.pachd,
    helm: state.helm ?? null,
    databases: Object.entries(state.dumps).map(([name, dump]) => ({
      name,
      key: dumpKey(operation.backupId, name),
      bytes: dump.bytes,
      sha256: dump.sha256,
      ...(dump.encryption ? { encryption: dump.encryption } : {}),
      serverVersion: dump.serverVersion,
      pgDumpVersion: dump.pgDumpVersion,
      ...(dump.compression ? { compression: dump.compression } : {}),
      durationMs: dump.durationMs,
    })),
    objects: {
      listKey: objectListKey(operation.backupId),
      count: state.mirror.objects,
      bytes: state.mirror.bytes,
      copied: state.mirror.copied,
      copiedBytes: state.mirror.copiedBytes,
      changed: state.mirror.changed,
      ...(state.mirror.unverified ? { unverified: state.mirror.unverified } : {}),
    },
    source: { bucket: cluster.objectStore.bucket, endpoint: cluster.objectStore.endpoint },
    pause: { mode: state.pause.mode, startedAt: state.pause.startedAt, pausedAt: state.pause.pausedAt },
    consistency: state.mirror.consistency,
    downtimeMs: state.downtimeMs,
  };
}
