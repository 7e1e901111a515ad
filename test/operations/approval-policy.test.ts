import { parseConfig } from '../../src/config/load.ts';
import { mayDecide, needsApproval } from '../../src/operations/approval-policy.ts';
import type { Operation } from '../../src/operations/model.ts';
import type { Decision } from '../../src/operations/prompts.ts';
import { twoClusters } from '../config/two-clusters.ts';

const config = parseConfig(
  `
slack: { approvers: [U0ALICE, S0SRE], allowSelfApproval: false }
redis: { url: redis://127.0.0.1:6379 }
stateDatabase: { url: postgres://x@127.0.0.1/pachops }
clusters:
  prod:
    kubernetes: { namespace: pachyderm }
    postgres: { host: 127.0.0.1, user: pachyderm }
    objectStore: { bucket: pach-data }
    backup: { bucket: pach-backup }
    helm: { release: pachyderm }
    approvals: { verify: auto }
`,
  {},
);
const operation = {
  cluster: 'prod',
  requestedBy: 'U0ALICE',
  options: { skipDatabases: [], dryRun: false },
} as unknown as Operation;

test('forward decisions need an approver who is not the requester', () => {
  expect(
    mayDecide({ config, operation, decision: 'approve', userId: 'U0BOB', isApprover: true }).allowed,
  ).toBe(true);
  expect(
    mayDecide({ config, operation, decision: 'approve', userId: 'U0ALICE', isApprover: true }),
  ).toMatchObject({
    allowed: false,
    reason: expect.stringMatching(/another approver/),
  });
  expect(
    mayDecide({ config, operation, decision: 'retry', userId: 'U0EVE', isApprover: false }).allowed,
  ).toBe(false);
});

test("a scheduled backup is its schedule's creator's request: they may stop it, not approve it", () => {
  const scheduled = {
    ...operation,
    requestedBy: 'schedule:sch-1',
    via: 'schedule',
    options: { ...operation.options, scheduledBy: 'U0CAROL' },
  } as Operation;
  expect(
    mayDecide({ config, operation: scheduled, decision: 'approve', userId: 'U0CAROL', isApprover: true }),
  ).toMatchObject({ allowed: false, reason: 'you created its schedule; another approver has to approve it' });
  expect(
    mayDecide({ config, operation: scheduled, decision: 'approve', userId: 'U0BOB', isApprover: true })
      .allowed,
  ).toBe(true);
  expect(
    mayDecide({ config, operation: scheduled, decision: 'abort', userId: 'U0CAROL', isApprover: false })
      .allowed,
  ).toBe(true);
});

test('the requester may stop their own operation or bring the cluster back', () => {
  for (const decision of ['reject', 'abort', 'resume'] as const) {
    expect(mayDecide({ config, operation, decision, userId: 'U0ALICE', isApprover: false }).allowed).toBe(
      true,
    );
    expect(mayDecide({ config, operation, decision, userId: 'U0EVE', isApprover: false }).allowed).toBe(
      false,
    );
  }
});

test('allowSelfApproval lets the requester approve', () => {
  const prod = config.clusters.prod;
  const relaxed = {
    ...config,
    clusters: { prod: { ...prod, slack: { ...prod.slack, allowSelfApproval: true } } },
  };
  expect(
    mayDecide({ config: relaxed, operation, decision: 'approve', userId: 'U0ALICE', isApprover: true })
      .allowed,
  ).toBe(true);
});

test("the operation's cluster decides: its own approvers are named and its own allowSelfApproval applies", () => {
  const two = parseConfig(twoClusters('{ approvers: [U0BOB], allowSelfApproval: true }'), {});
  const staging = { ...operation, cluster: 'staging', requestedBy: 'U0BOB' } as Operation;
  const prod = { ...operation, cluster: 'prod', requestedBy: 'U0BOB' } as Operation;
  const decide = (op: Operation, decision: Decision, userId: string, isApprover: boolean) =>
    mayDecide({ config: two, operation: op, decision, userId, isApprover });
  expect(decide(staging, 'approve', 'U0BOB', true)).toEqual({ allowed: true });
  expect(decide(prod, 'approve', 'U0BOB', true)).toMatchObject({
    allowed: false,
    reason: /another approver/,
  });
  expect(decide(staging, 'approve', 'U0ALICE', false)).toEqual({
    allowed: false,
    reason: 'only approvers can approve: <@U0BOB> (the approvers of staging)',
  });
  expect(decide(prod, 'abort', 'U0EVE', false)).toEqual({
    allowed: false,
    reason:
      'only approvers or the requester can abort: <@U0ALICE>, <!subteam^S0SRE>, the requester <@U0BOB> (for prod)',
  });
});

test('plan never waits; other phases wait unless configured auto', () => {
  const prod = config.clusters.prod;
  expect(needsApproval(prod, 'plan')).toBe(false);
  expect(needsApproval(prod, 'pause')).toBe(true);
  expect(needsApproval(prod, 'verify')).toBe(false);
});
