/**
 * The notice's life within a backup: it is replaced when the estimate of what is left moves by more than
 * a fifth, left alone otherwise, and becomes the all-clear. The phases' context is built here from plain
 * data (a recorded history, a capturing announcer); nothing of pachops is mocked.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { announceBack, refreshAnnouncement } from '../../jobs/phases/backup/announce.ts';
import type { PhaseContext } from '../../jobs/phases/types.ts';
import {
  estimateDowntime,
  formatEstimate,
  type PhaseSample,
  PhaseSampleSchema,
} from '../../src/announce/estimate.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Operation, OperationState } from '../../src/operations/model.ts';

const history: PhaseSample[] = z
  .object({ samples: z.array(PhaseSampleSchema) })
  .parse(
    JSON.parse(readFileSync(new URL('../announce/fixtures/small-steady.json', import.meta.url), 'utf8')),
  ).samples;

const config = parseConfig(
  `
slack: { approvers: [U0ALICE], announceChannels: [C0USERS] }
redis: { url: redis://127.0.0.1:6379 }
stateDatabase: { url: postgres://x@127.0.0.1/pachops }
clusters:
  prod:
    kubernetes: { namespace: pachyderm }
    postgres: { host: 127.0.0.1, user: pachyderm }
    objectStore: { bucket: pach-data }
    backup: { bucket: pach-backup }
    helm: { release: pachyderm }
`,
  {},
);

function contextFor(pausedForMs: number) {
  const latest = history.find((s) => s.phase === 'dump')!;
  const objects = history.find((s) => s.phase === 'mirror')?.objectsListed ?? 1000;
  const plan = {
    databases: [{ name: 'pachyderm', bytes: latest.databaseBytes ?? latest.bytes ?? 0 }],
    objects,
    objectBytes: 1,
  };
  // What the announce phase computed from the same plan.
  const estimate = estimateDowntime(history, {
    pauseMode: config.clusters.prod.pause.mode,
    databaseBytes: plan.databases[0].bytes,
    objectsListed: objects,
  });
  if (estimate.kind === 'none') throw new Error('the fixture should give an estimate');
  const state: OperationState = {
    plan,
    estimate: { ...estimate, text: formatEstimate(estimate) },
    pause: {
      mode: latest.pauseMode,
      startedAt: new Date(Date.now() - pausedForMs).toISOString(),
      replicas: {},
    },
  };
  const posted: string[] = [];
  const ctx = {
    operation: {
      id: 'op',
      cluster: 'prod',
      requestedBy: 'U0BOB',
      via: 'slack',
      options: { skipDatabases: [], dryRun: false },
      state,
    } as unknown as Operation,
    cluster: config.clusters.prod,
    config,
    announcer: {
      announce: async (_o: Operation, text: string) => void posted.push(text),
      threadLink: async () => 'https://slack/thread',
    },
    history: async () => history,
    saveState: async (patch: Partial<OperationState>) => {
      ctx.operation = { ...ctx.operation, state: { ...ctx.operation.state, ...patch } };
    },
  };
  return { ctx: ctx as unknown as PhaseContext, posted, estimate };
}

test('a dump that took as long as expected leaves the notice alone', async () => {
  const { ctx, posted, estimate } = contextFor(0);
  const spent = estimate.perPhase.pause.expectedMs + estimate.perPhase.dump.expectedMs;
  (ctx.operation.state.pause as { startedAt: string }).startedAt = new Date(Date.now() - spent).toISOString();
  await refreshAnnouncement(ctx, 'dump');
  expect(posted).toEqual([]);
});

test('a dump that took three times as long replaces the notice, saying what the estimate was', async () => {
  const { ctx, posted, estimate } = contextFor(0);
  const spent =
    3 * (estimate.perPhase.pause.expectedMs + estimate.perPhase.dump.expectedMs) + estimate.expectedMs;
  (ctx.operation.state.pause as { startedAt: string }).startedAt = new Date(Date.now() - spent).toISOString();
  await refreshAnnouncement(ctx, 'dump');
  expect(posted).toHaveLength(1);
  expect(posted[0]).toMatch(/goes down now for a backup/);
  expect(posted[0]).toContain(`Estimate updated; it was ${formatEstimate(estimate)}`);
  expect(
    ctx.operation.state.estimate!.kind === 'history' && ctx.operation.state.estimate!.expectedMs,
  ).toBeGreaterThan(estimate.expectedMs * 1.2);
});

test('once the cluster is back the notice becomes the all-clear, with the estimate beside the actual downtime', async () => {
  const { ctx, posted } = contextFor(60_000);
  await announceBack(ctx, 11 * 60_000);
  expect(posted).toEqual([
    expect.stringMatching(
      /Pachyderm prod is back\*: it was down 11 min \(estimated .+\)\. Details: <https:\/\/slack\/thread\|the ops thread>/,
    ),
  ]);
});
