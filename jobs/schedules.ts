import { type Job, Queue, Worker } from 'bullmq';
import { estimateDowntime, formatEstimate } from '../src/announce/estimate.ts';
import { formatWhen, outageNotice } from '../src/announce/notice.ts';
import type { Config } from '../src/config/load.ts';
import { loadPhaseHistory } from '../src/operations/history.ts';
import { requesterText } from '../src/operations/model.ts';
import { nextOccurrence, occurrences, type Schedule, ScheduleStore } from '../src/operations/schedules.ts';
import { startOperation } from '../src/operations/start.ts';
import type { RunnerDeps } from './run-phase.ts';

export const SCHEDULE_QUEUE = 'pachops-schedules';

export function createScheduleQueue(redis: Config['redis']): Queue {
  return new Queue(SCHEDULE_QUEUE, {
    prefix: redis.prefix,
    connection: { url: redis.url, maxRetriesPerRequest: null, enableOfflineQueue: false },
  });
}

/** One BullMQ job scheduler per schedule, firing `fire` jobs at each cron occurrence in its time zone. */
export async function upsertScheduler(queue: Queue, schedule: Schedule): Promise<void> {
  await queue.upsertJobScheduler(
    schedule.id,
    { pattern: schedule.cron, tz: schedule.tz },
    { name: 'fire', data: { scheduleId: schedule.id }, opts: { removeOnComplete: 100, removeOnFail: 100 } },
  );
}

export async function removeScheduler(queue: Queue, id: string): Promise<void> {
  await queue.removeJobScheduler(id);
}

/** The advance notices of a schedule's next occurrence, as delayed jobs (one per lead time still ahead). */
export async function planNotices(
  queue: Queue,
  config: Config,
  schedule: Schedule,
  now = new Date(),
): Promise<void> {
  const next = nextOccurrence(schedule, now);
  for (const lead of config.schedules.noticeLeadMinutes) {
    const at = next.getTime() - lead * 60_000;
    if (at <= now.getTime()) continue;
    await queue.add(
      'notice',
      { scheduleId: schedule.id, occurrence: next.toISOString() },
      {
        delay: at - now.getTime(),
        jobId: `${schedule.id}.notice.${next.getTime()}.${lead}`,
        removeOnComplete: 100,
      },
    );
  }
}

export interface ScheduleDeps extends RunnerDeps {
  /** Posts a message in a channel (the schedule's ops channel, or a users' channel). */
  post(channel: string, text: string): Promise<void>;
}

/** The worker's side: schedulers kept in step with the state database, and fire / notice jobs run. */
export async function startScheduleWorker(
  deps: ScheduleDeps,
): Promise<{ queue: Queue; close(): Promise<void> }> {
  const queue = createScheduleQueue(deps.config.redis);
  const schedules = new ScheduleStore(deps.store.pool);
  // Redis may have lost its schedulers (a restart without persistence): the state database is the truth.
  for (const schedule of await schedules.list()) {
    await upsertScheduler(queue, schedule);
    await planNotices(queue, deps.config, schedule);
  }
  const worker = new Worker(
    SCHEDULE_QUEUE,
    (job: Job) => (job.name === 'fire' ? fire(deps, queue, schedules, job) : notify(deps, schedules, job)),
    {
      prefix: deps.config.redis.prefix,
      connection: { url: deps.config.redis.url, maxRetriesPerRequest: null },
      concurrency: 1,
    },
  );
  worker.on('failed', (_job, error) => deps.log.warn({ err: error }, 'schedule job failed'));
  return {
    queue,
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}

/**
 * A schedule's occurrence: start the backup (its thread in the schedule's channel; `auto` phases run by
 * themselves), unless it comes too late (pachops was down) or the cluster is busy: both are reported.
 */
async function fire(deps: ScheduleDeps, queue: Queue, schedules: ScheduleStore, job: Job): Promise<void> {
  const schedule = await schedules.get(String(job.data.scheduleId));
  if (!schedule) return removeScheduler(queue, String(job.data.scheduleId));
  // The occurrence this job is for: the scheduler records it as prevMillis (job.delay is 0 by now).
  const due = new Date(job.opts.prevMillis ?? job.timestamp + (job.opts.delay ?? 0));
  const missed = schedule.lastFiredFor
    ? occurrences(schedule, schedule.lastFiredFor, new Date(due.getTime() - 1))
    : [];
  if (!(await schedules.markFired(schedule.id, due))) return;
  await planNotices(queue, deps.config, schedule);
  const label = `Scheduled backup \`${schedule.id}\` of ${schedule.cluster}`;
  const audit = (action: string, details: object) =>
    deps.store.audit({ cluster: schedule.cluster, actor: `schedule:${schedule.id}`, action, details });
  if (missed.length) {
    await audit('schedule.missed', { missed: missed.map((d) => d.toISOString()) });
    await deps.post(
      schedule.channel,
      `:warning: ${label}: ${missed.length} occurrence(s) were missed while pachops was down (the last was due ${missed.at(-1)!.toISOString().slice(0, 16)} UTC). They were not run.`,
    );
  }
  const lateMs = Date.now() - due.getTime();
  if (lateMs > deps.config.schedules.missedGraceMinutes * 60_000) {
    await audit('schedule.missed', { missed: [due.toISOString()] });
    await deps.post(
      schedule.channel,
      `:warning: ${label} was due at ${due.toISOString().slice(11, 16)} UTC but pachops was down; it was not run now, unannounced. \`/pach backup ${schedule.cluster}\` runs one.`,
    );
    return;
  }
  const active = await deps.store.activeOperation(schedule.cluster);
  if (active) {
    await audit('schedule.skipped', { active: active.id });
    await deps.post(
      schedule.channel,
      `:information_source: ${label} skipped: ${active.kind} \`${active.backupId}\` is still ${active.status}.`,
    );
    return;
  }
  await audit('schedule.fired', { due: due.toISOString() });
  await startOperation(deps, {
    kind: 'backup',
    cluster: schedule.cluster,
    requestedBy: `schedule:${schedule.id}`,
    via: 'schedule',
    channel: schedule.channel,
    options: {
      note: schedule.note ?? `scheduled backup ${schedule.id}`,
      skipDatabases: [],
      dryRun: false,
      scheduledBy: schedule.createdBy,
    },
  });
}

/** An advance notice in the users' channels: when, and for about how long, from the cluster's history. */
async function notify(deps: ScheduleDeps, schedules: ScheduleStore, job: Job): Promise<void> {
  const schedule = await schedules.get(String(job.data.scheduleId));
  const cluster = schedule && deps.config.clusters[schedule.cluster];
  if (!schedule || !cluster) return;
  const occurrence = new Date(String(job.data.occurrence));
  const history = await loadPhaseHistory(deps.store.pool, schedule.cluster);
  const latest = history.find((s) => s.databaseBytes !== undefined);
  const estimate = estimateDowntime(history, {
    pauseMode: cluster.pause.mode,
    databaseBytes: latest?.databaseBytes ?? 0,
    objectsListed: latest?.objectsListed,
  });
  const text = outageNotice(
    {
      cluster: schedule.cluster,
      when: formatWhen(occurrence, new Date()),
      estimate: formatEstimate(estimate),
      requester: requesterText({ via: 'schedule', requestedBy: `schedule:${schedule.id}` }),
      unavailable: cluster.announce.unavailable,
      note: schedule.note,
    },
    cluster.announce.template,
  );
  for (const channel of cluster.slack.announceChannels) await deps.post(channel, text);
}
