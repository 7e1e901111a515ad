/**
 * `npm run demo`: the whole job on an embedded default. Starts Redis, PostgreSQL and an S3 server
 * (s3rver) on free ports, a simulated Pachyderm (Kubernetes stand-in, live writes to its database and
 * bucket), the Slack stand-in, and the real bot and worker; types `/pach backup` as an SRE, clicks each
 * approval as an approver, prints the Slack thread and where the backup is; then restores it through the
 * `/pach restore` form into new databases and a new bucket, redeploys with Helm, and prints that thread.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { approvePhases, requestBackup, waitForFinish } from '../test/harness/drive.ts';
import { CHANNELS, type Scenario, startScenario, USERS } from '../test/harness/scenario.ts';
import { guardStack, startStack, stopStack } from '../test/harness/stack.ts';

/** The restore half: the form, each approval, the thread, and the users' all-clear. */
async function restore(scenario: Scenario, backupId: string): Promise<void> {
  say(`@rita types \`/pach restore ${backupId}\`; the form opens pre-filled and she submits it`);
  await scenario.slack.command(scenario.bot!.url, {
    userId: USERS.requester,
    channelId: CHANNELS.ops,
    text: `restore ${backupId}`,
  });
  const view = await scenario.slack.waitForView(USERS.requester, /Plan the restore/);
  process.stdout.write(`${scenario.slack.renderView(view.id)}\n`);
  await scenario.slack.submitView(scenario.bot!.url, { userId: USERS.requester });
  const parent = await scenario.slack.waitForMessage(CHANNELS.ops, /^Restore of prod from/);
  say('@alice approves each restore phase');
  await approvePhases(scenario, parent.ts, USERS.approver, [
    'pause',
    'restore-databases',
    'restore-bucket',
    'deploy',
    'resume',
    'health',
  ]);
  await waitForFinish(scenario, parent.ts);
  say('the restore thread (#ops)');
  process.stdout.write(`${scenario.slack.renderThread(CHANNELS.ops, parent.ts)}\n`);
  say('what the users saw (#pachyderm-users)');
  for (const message of scenario.slack.messages(CHANNELS.users)) process.stdout.write(`${message.text}\n`);
}

const say = (text: string) => process.stdout.write(`\n\u001b[1m== ${text}\u001b[0m\n`);

say('starting Redis, PostgreSQL and s3rver on free ports');
const stack = await startStack({ rgw: false, s3rver: true });
const unguard = guardStack(stack.info);
let failed = false;
try {
  const scenario = await startScenario({
    redisUrl: stack.redis.url,
    postgres: stack.postgres,
    s3: stack.s3rver!,
    objects: 200,
  });
  try {
    say(
      `simulated Pachyderm 2.11.6: ${scenario.seed.live.length} chunk objects, pachd + pachw + 2 pipelines, writing live`,
    );
    await scenario.startBot();
    await scenario.startWorker();
    say('bot and worker started; @rita types `/pach backup prod --note "demo"` in #ops');
    const parent = await requestBackup(scenario, USERS.requester, 'backup prod --note "demo"');
    say('@alice (an approver) approves each phase as its prompt appears');
    await approvePhases(scenario, parent.ts, USERS.approver, ['pause', 'dump', 'mirror', 'resume', 'verify']);
    await waitForFinish(scenario, parent.ts);
    say('the Slack thread (#ops)');
    process.stdout.write(`${scenario.slack.renderThread(CHANNELS.ops, parent.ts)}\n`);
    say('`pachops list` and `pachops show` (the CLI reads the backup bucket)');
    // Not execFileSync: s3rver runs in this process and must keep answering while the CLI asks it.
    const cli = async (args: string[]) =>
      (
        await promisify(execFile)(process.execPath, ['src/cli.ts', ...args], {
          env: scenario.env,
          encoding: 'utf8',
        })
      ).stdout;
    process.stdout.write(await cli(['list']));
    const backupId = /Backup `([^`]+)` is complete/.exec(
      scenario.slack.thread(CHANNELS.ops, parent.ts).at(-1)!.text,
    )![1];
    process.stdout.write(await cli(['show', backupId]));
    await restore(scenario, backupId);
  } finally {
    await scenario.stop();
  }
} catch (error) {
  failed = true;
  process.stderr.write(`demo failed: ${(error as Error).stack ?? error}\n`);
} finally {
  await stopStack(stack);
  unguard();
}
process.exit(failed ? 1 : 0);
