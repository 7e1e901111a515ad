import { parseConfig } from '../../src/config/load.ts';
import { mayDecide, needsApproval } from '../../src/operations/approval-policy.ts';
import type { Operation } from '../../src/operations/model.ts';

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
const operation = { requestedBy: 'U0ALICE' } as Operation;

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
  const relaxed = { ...config, slack: { ...config.slack, allowSelfApproval: true } };
  expect(
    mayDecide({ config: relaxed, operation, decision: 'approve', userId: 'U0ALICE', isApprover: true })
      .allowed,
  ).toBe(true);
});

test('plan never waits; other phases wait unless configured auto', () => {
  const prod = config.clusters.prod;
  expect(needsApproval(prod, 'plan')).toBe(false);
  expect(needsApproval(prod, 'pause')).toBe(true);
  expect(needsApproval(prod, 'verify')).toBe(false);
});
