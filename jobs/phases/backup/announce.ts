import {
  DOWNTIME_PHASES,
  differsEnough,
  type Estimate,
  estimateDowntime,
  formatEstimate,
} from '../../../src/announce/estimate.ts';
import {
  allClear,
  formatExpectedEnd,
  type NoticeVars,
  outageNotice,
  updatedNotice,
} from '../../../src/announce/notice.ts';
import { requesterText } from '../../../src/operations/model.ts';
import type { Phase, PhaseContext } from '../types.ts';

/**
 * Tells the users' channels that Pachyderm will go down, and for about how long, as soon as the backup
 * is planned; the notice is replaced when the pause starts, when the estimate moves by more than a
 * fifth, and with an all-clear when the cluster is back.
 */
export const announcePhase: Phase = {
  name: 'announce',
  async run(ctx) {
    const estimate = await estimateNow(ctx, 0);
    await ctx.saveState({ estimate: { ...estimate, text: formatEstimate(estimate) } });
    await ctx.announcer.announce(
      ctx.operation,
      outageNotice(await noticeVars(ctx, estimate, 'soon'), ctx.cluster.announce.template),
    );
    const channels = ctx.cluster.slack.announceChannels.length;
    return {
      summary: `outage notice posted in ${channels} users' channel(s): downtime ${formatEstimate(estimate)}`,
      details:
        estimate.kind === 'history'
          ? [`estimated from ${estimate.samples} earlier backup(s) of ${ctx.cluster.name}`]
          : ['no earlier backup to learn from: the notice says so'],
    };
  },
};

/** The pause is starting: the notice says the cluster is down now and when it should be back. */
export async function announcePauseStarted(ctx: PhaseContext): Promise<void> {
  const estimate = ctx.operation.state.estimate;
  if (!estimate) return;
  await ctx.announcer.announce(
    ctx.operation,
    outageNotice(await noticeVars(ctx, estimate, 'now'), ctx.cluster.announce.template),
  );
}

/**
 * After a downtime phase: what is left of the downtime is estimated again from the time already spent;
 * the notice changes only when the total moves by more than a fifth.
 */
export async function refreshAnnouncement(ctx: PhaseContext, finished: 'dump' | 'mirror'): Promise<void> {
  const announced = ctx.operation.state.estimate;
  const pause = ctx.operation.state.pause;
  if (!announced || !pause) return;
  const next = await estimateNow(ctx, Date.now() - Date.parse(pause.startedAt), finished);
  if (!differsEnough(announced, next)) return;
  await ctx.saveState({ estimate: { ...next, text: formatEstimate(next) } });
  const vars = { ...(await noticeVars(ctx, next, 'now')), previousEstimate: announced.text };
  await ctx.announcer.announce(ctx.operation, updatedNotice(vars, ctx.cluster.announce.template));
}

/** The cluster is back: the notice becomes the all-clear with the actual downtime. */
export async function announceBack(ctx: PhaseContext, downtimeMs: number): Promise<void> {
  const estimate = ctx.operation.state.estimate;
  if (!estimate) return;
  const thread = await ctx.announcer.threadLink(ctx.operation);
  await ctx.announcer.announce(
    ctx.operation,
    allClear({ cluster: ctx.cluster.name, actualDowntimeMs: downtimeMs, estimate, thread }),
  );
}

/** The whole downtime: `spentMs` already down, plus the phases after `finished`, from this cluster's history. */
async function estimateNow(
  ctx: PhaseContext,
  spentMs: number,
  finished?: 'dump' | 'mirror',
): Promise<Estimate> {
  const plan = ctx.operation.state.plan;
  const base = estimateDowntime(await ctx.history(), {
    pauseMode: ctx.cluster.pause.mode,
    databaseBytes: (plan?.databases ?? []).reduce((sum, d) => sum + d.bytes, 0),
    objectsListed: plan?.objects,
  });
  if (base.kind === 'none' || !finished) return base;
  const left = DOWNTIME_PHASES.slice(DOWNTIME_PHASES.indexOf(finished) + 1);
  const sum = (key: 'expectedMs' | 'lowMs' | 'highMs') =>
    spentMs + left.reduce((total, p) => total + base.perPhase[p][key], 0);
  return { ...base, expectedMs: sum('expectedMs'), lowMs: sum('lowMs'), highMs: sum('highMs') };
}

async function noticeVars(ctx: PhaseContext, estimate: Estimate, when: string): Promise<NoticeVars> {
  const { operation, cluster } = ctx;
  const start = operation.state.pause ? new Date(operation.state.pause.startedAt) : new Date();
  return {
    cluster: cluster.name,
    when,
    estimate: formatEstimate(estimate),
    expectedEnd: when === 'now' ? formatExpectedEnd(start, estimate) : undefined,
    requester: operation.via === 'slack' ? operation.requestedBy : requesterText(operation),
    thread: await ctx.announcer.threadLink(operation),
    unavailable: cluster.announce.unavailable,
    note: operation.options.note,
  };
}
