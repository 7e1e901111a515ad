import { formatBytes, formatCount } from '../../../src/format.ts';
import { backupDatabases } from '../../../src/operations/phase-info.ts';
import { checkDumpTools } from '../../../src/postgres/dump.ts';
import { databaseSizes } from '../../../src/postgres/inspect.ts';
import { listObjects } from '../../../src/storage/listing.ts';
import type { Phase } from '../types.ts';

/** Estimates what the backup will move: database sizes and the source bucket's objects. Read-only. */
export const planPhase: Phase = {
  name: 'plan',
  async run({ operation, cluster, config, services, saveState, progress }) {
    const names = backupDatabases(cluster, operation);
    // pg_dump and its settings are checked now, while refusing leaves the cluster running
    const dump = await checkDumpTools(cluster.postgres, names[0]!, config.tools.pgBin);
    const databases = await databaseSizes(cluster.postgres, names);
    let objects = 0;
    let objectBytes = 0;
    for await (const object of listObjects(services.source)) {
      objects++;
      objectBytes += object.size;
      if (objects % 10_000 === 0)
        progress(`listed ${formatCount(objects)} objects (${formatBytes(objectBytes)})`);
    }
    await saveState({ plan: { databases, objects, objectBytes } });
    const dbText = databases.map((d) => `${d.name} ${formatBytes(d.bytes)}`).join(', ');
    return {
      summary: `databases ${dbText} (pg_dump ${dump.tool.version}, --compress=${dump.compression}); bucket ${services.source.name}: ${formatCount(objects)} objects, ${formatBytes(objectBytes)}`,
    };
  },
};
