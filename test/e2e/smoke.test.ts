import { approvePhases, requestBackup, waitForFinish } from '../harness/drive.ts';
import { CHANNELS, type Scenario, startScenario, USERS } from '../harness/scenario.ts';
import { stackEnv } from '../harness/stack-env.ts';

let scenario: Scenario;

beforeAll(async () => {
  const stack = stackEnv();
  scenario = await startScenario({ redisUrl: stack.redis.url, postgres: stack.postgres, s3: stack.rgw! });
  await scenario.startBot();
  await scenario.startWorker();
}, 120_000);

afterAll(async () => {
  await scenario?.stop();
});

test('smoke', async () => {
  const parent = await requestBackup(scenario, USERS.requester);
  try {
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause', 'dump', 'mirror', 'resume', 'verify']);
    await waitForFinish(scenario, parent.ts);
  } finally {
    console.log(scenario.slack.renderThread(CHANNELS.ops, parent.ts));
  }
}, 180_000);
