import { planNotices, removeScheduler, upsertScheduler } from '../../../jobs/schedules.ts';
import { slackFor } from '../../config/cluster-slack.ts';
import { resolveCluster } from '../../config/resolve-cluster.ts';
import { PachopsError } from '../../errors.ts';
import { nextOccurrence } from '../../operations/schedules.ts';
import type { BotDeps, CommandRequest, ScheduleDeps } from '../deps.ts';
import type { PachCommand } from './parse.ts';

async function requireApprover(
  deps: BotDeps,
  request: CommandRequest,
  cluster: string,
  what: string,
): Promise<void> {
  if (!(await deps.isApprover(cluster, request.userId)))
    throw new PachopsError('FORBIDDEN', `only approvers can ${what} (the approvers of ${cluster})`, {
      permanent: true,
    });
}

const when = (date: Date) => `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * `/pach schedule backup <cluster> "<cron>" [--tz Zone]`: a standing request, kept in the state database
 * and run by the queue's scheduler; its threads open in this channel, with the usual prompts.
 */
export async function handleScheduleBackup(
  deps: BotDeps & { schedules: ScheduleDeps },
  request: CommandRequest,
  command: Extract<PachCommand, { name: 'schedule-backup' }>,
): Promise<void> {
  const cluster = resolveCluster(deps.config, command.cluster);
  await requireApprover(deps, request, cluster.name, 'schedule backups');
  const schedule = await deps.schedules.store.create({
    cluster: cluster.name,
    cron: command.cron,
    tz: command.tz,
    channel: request.channelId,
    note: command.note,
    createdBy: request.userId,
  });
  await upsertScheduler(deps.schedules.queue, schedule);
  await planNotices(deps.schedules.queue, deps.config, schedule);
  await deps.store.audit({
    cluster: cluster.name,
    actor: request.userId,
    action: 'schedule.created',
    details: { id: schedule.id, cron: schedule.cron, tz: schedule.tz },
  });
  const leads = deps.config.schedules.noticeLeadMinutes
    .map((m) => (m >= 60 ? `${m / 60} h` : `${m} min`))
    .join(' and ');
  // The schedule is its creator's standing request: where they may not approve their own, someone else must.
  const others = slackFor(deps.config, cluster.name).allowSelfApproval
    ? ''
    : ' As the schedule is yours, another approver approves its runs.';
  await request.reply(
    `:calendar: Scheduled \`${schedule.id}\`: backup of ${cluster.name} at \`${schedule.cron}\` (${schedule.tz}); next ${when(nextOccurrence(schedule))}. The users' channels are told ${leads} ahead; each run opens a thread here and waits for the approvals it needs.${others}`,
  );
}

export async function handleScheduleList(
  deps: BotDeps & { schedules: ScheduleDeps },
  request: CommandRequest,
): Promise<void> {
  const schedules = await deps.schedules.store.list();
  if (!schedules.length) return request.reply('No scheduled backups.');
  const lines = schedules.map(
    (s) =>
      `• \`${s.id}\` ${s.cluster} at \`${s.cron}\` (${s.tz}), next ${when(nextOccurrence(s))}; threads in <#${s.channel}>, created by <@${s.createdBy}>`,
  );
  return request.reply(lines.join('\n'));
}

export async function handleScheduleDelete(
  deps: BotDeps & { schedules: ScheduleDeps },
  request: CommandRequest,
  id: string,
): Promise<void> {
  const schedule = await deps.schedules.store.get(id);
  const missing = () =>
    new PachopsError('BAD_REQUEST', `no schedule ${id}; \`/pach schedule list\` shows them`, {
      permanent: true,
    });
  if (!schedule) throw missing();
  await requireApprover(deps, request, schedule.cluster, 'delete schedules');
  if (!(await deps.schedules.store.delete(id))) throw missing();
  await removeScheduler(deps.schedules.queue, id);
  await deps.store.audit({
    cluster: schedule.cluster,
    actor: request.userId,
    action: 'schedule.deleted',
    details: { id },
  });
  await request.reply(
    `:wastebasket: Schedule \`${id}\` deleted; no more backups of ${schedule.cluster} from it.`,
  );
}
