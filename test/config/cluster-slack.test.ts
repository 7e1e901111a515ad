import {
  acceptsChannel,
  anyOpsChannels,
  approversFor,
  mergeClusterSlack,
  slackFor,
} from '../../src/config/cluster-slack.ts';
import { parseConfig } from '../../src/config/load.ts';
import { twoClusters } from './two-clusters.ts';

test('a cluster without a slack section takes every global setting', () => {
  const config = parseConfig(twoClusters(), {});
  expect(config.clusters.prod.slack).toEqual({
    opsChannels: ['C0OPS'],
    announceChannels: ['C0USERS'],
    approvers: ['U0ALICE', 'S0SRE'],
    requesters: ['S0OPS'],
    allowSelfApproval: false,
  });
});

test("a cluster's own keys replace the global ones, key by key; the others stay global", () => {
  const config = parseConfig(
    twoClusters(
      '{ opsChannels: [C0STAGE], announceChannels: [], approvers: [U0BOB], allowSelfApproval: true }',
    ),
    {},
  );
  expect(config.clusters.staging.slack).toEqual({
    opsChannels: ['C0STAGE'],
    // An empty list is a setting of its own (no users' channel), not "take the global one".
    announceChannels: [],
    approvers: ['U0BOB'],
    requesters: ['S0OPS'],
    allowSelfApproval: true,
  });
  expect(approversFor(config, 'staging')).toEqual(['U0BOB']);
  expect(approversFor(config, 'prod')).toEqual(['U0ALICE', 'S0SRE']);
});

test('an operation of a cluster no longer configured falls back to the global settings', () => {
  const config = parseConfig(twoClusters(), {});
  expect(slackFor(config, 'gone')).toEqual(mergeClusterSlack(config.slack, {}));
  expect(approversFor(config, 'gone')).toEqual(['U0ALICE', 'S0SRE']);
});

test('bad cluster slack keys are refused naming the key', () => {
  const cases: [slack: string, error: RegExp][] = [
    ['{ approvers: [] }', /clusters\.staging\.slack\.approvers: name at least one approver/],
    ['{ opsChannels: [ops] }', /clusters\.staging\.slack\.opsChannels\.0: a Slack channel id/],
    ['{ requesters: [bob] }', /clusters\.staging\.slack\.requesters\.0: a Slack user/],
    ['{ approvalTimeoutMinutes: 5 }', /clusters\.staging\.slack: Unrecognized key: "approvalTimeoutMinutes"/],
  ];
  for (const [slack, error] of cases) expect(() => parseConfig(twoClusters(slack), {})).toThrow(error);
});

test('ops channels: [] accepts anywhere; commands naming no cluster go wherever some cluster is accepted', () => {
  expect(acceptsChannel({ opsChannels: [] }, 'C0ANY')).toBe(true);
  expect(acceptsChannel({ opsChannels: ['C0OPS'] }, 'C0ANY')).toBe(false);
  expect(anyOpsChannels(parseConfig(twoClusters(), {}))).toEqual(['C0OPS', 'C0STAGE']);
  expect(anyOpsChannels(parseConfig(twoClusters('{ opsChannels: [] }'), {}))).toBe('anywhere');
});
