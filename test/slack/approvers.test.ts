import { Writable } from 'node:stream';
import { webApi } from '@slack/bolt';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger } from '../../src/log.ts';
import { createClusterRoles } from '../../src/slack/approvers.ts';
import { twoClusters } from '../config/two-clusters.ts';
import { type SlackStandin, startSlack } from '../harness/slack/slack-standin.ts';

let slack: SlackStandin;
const quiet = createLogger({
  name: 'test',
  level: 'silent',
  destination: new Writable({ write: (_c, _e, done) => done() }),
});

beforeAll(async () => {
  slack = await startSlack({
    users: { U0ALICE: 'alice', U0BOB: 'bob', U0GUS: 'gus', U0STEVE: 'steve', U0RITA: 'rita' },
    // S0SRE approves prod (global); S0STAGE approves staging; S0OPS may request anything.
    userGroups: { S0SRE: ['U0GUS'], S0STAGE: ['U0STEVE'], S0OPS: ['U0RITA'] },
  });
});
afterAll(() => slack?.close());

function roles(stagingSlack?: string) {
  const config = parseConfig(twoClusters(stagingSlack), {});
  const client = new webApi.WebClient(slack.botToken, { slackApiUrl: slack.apiUrl });
  return createClusterRoles(client, config, quiet);
}

test("approvers are each cluster's own, user groups resolved per cluster through the Slack API", async () => {
  const { isApprover } = roles();
  const cases: [cluster: string, user: string, expected: boolean][] = [
    ['prod', 'U0ALICE', true],
    ['prod', 'U0GUS', true],
    ['prod', 'U0BOB', false],
    ['prod', 'U0STEVE', false],
    ['staging', 'U0BOB', true],
    ['staging', 'U0STEVE', true],
    ['staging', 'U0ALICE', false],
    ['staging', 'U0GUS', false],
  ];
  for (const [cluster, user, expected] of cases)
    expect({ cluster, user, approver: await isApprover(cluster, user) }).toEqual({
      cluster,
      user,
      approver: expected,
    });
  const groupsRead = slack.callsTo('usergroups.users.list').map((c) => String(c.args.usergroup));
  expect(new Set(groupsRead)).toEqual(new Set(['S0SRE', 'S0STAGE']));
});

test("requesters are the cluster's own, else the global ones; an empty list lets anyone request", async () => {
  const { isRequester } = roles('{ requesters: [U0BOB] }');
  expect(await isRequester('prod', 'U0RITA')).toBe(true);
  expect(await isRequester('prod', 'U0BOB')).toBe(false);
  expect(await isRequester('staging', 'U0BOB')).toBe(true);
  expect(await isRequester('staging', 'U0RITA')).toBe(false);
  const open = roles('{ requesters: [] }');
  expect(await open.isRequester('staging', 'U0ANYONE')).toBe(true);
  expect(await open.isRequester('prod', 'U0ANYONE')).toBe(false);
});
