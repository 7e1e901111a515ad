import { parseConfig } from '../../src/config/load.ts';
import { channelRefusal, clusterChannelRefusal, clusterChoice } from '../../src/slack/commands/channels.ts';
import { parsePachCommand } from '../../src/slack/commands/parse.ts';
import { twoClusters } from '../config/two-clusters.ts';

const config = parseConfig(twoClusters(), {});
const refusal = (text: string, channel: string) =>
  channelRefusal(config, channel) ?? clusterChannelRefusal(config, parsePachCommand(text), channel);

test("a cluster's commands are accepted in its own ops channels only", () => {
  expect(refusal('backup prod', 'C0OPS')).toBeUndefined();
  expect(refusal('backup staging', 'C0STAGE')).toBeUndefined();
  expect(refusal('backup staging', 'C0OPS')).toBe(
    '/pach is accepted in <#C0STAGE> only for staging (its ops channels).',
  );
  expect(refusal('backup prod', 'C0STAGE')).toBe(
    '/pach is accepted in <#C0OPS> only for prod (its ops channels).',
  );
  expect(refusal('resume staging', 'C0OPS')).toMatch(/<#C0STAGE> only for staging/);
  expect(refusal('schedule backup staging "0 3 * * *"', 'C0OPS')).toMatch(/<#C0STAGE> only for staging/);
  expect(refusal('list staging', 'C0OPS')).toMatch(/<#C0STAGE> only for staging/);
  expect(refusal('audit prod', 'C0STAGE')).toMatch(/<#C0OPS> only for prod/);
});

test('commands naming no cluster, or an unknown one, pass in any ops channel and nowhere else', () => {
  for (const channel of ['C0OPS', 'C0STAGE']) {
    for (const text of ['help', 'status', 'list', 'audit', 'backup', 'backup nosuch', 'schedule list'])
      expect({ text, channel, refused: refusal(text, channel) }).toEqual({
        text,
        channel,
        refused: undefined,
      });
  }
  expect(refusal('help', 'C0RANDOM')).toBe('/pach is accepted in <#C0OPS>, <#C0STAGE> only.');
  expect(refusal('backup staging', 'C0RANDOM')).toBe('/pach is accepted in <#C0OPS>, <#C0STAGE> only.');
});

test('with one cluster, a backup naming none is about that cluster', () => {
  const one = parseConfig(twoClusters().replace(/\n {2}staging:[\s\S]*$/, '\n'), {});
  expect(Object.keys(one.clusters)).toEqual(['prod']);
  expect(clusterChannelRefusal(one, parsePachCommand('backup'), 'C0OPS')).toBeUndefined();
  expect(clusterChannelRefusal(one, parsePachCommand('backup'), 'C0ELSE')).toMatch(/<#C0OPS> only for prod/);
});

test('a backup naming no cluster among several lists them, those accepted here first', () => {
  expect(clusterChoice(config, 'C0STAGE')).toBe(
    'Several clusters are configured: name one, `/pach backup <cluster>`. Here: `staging`. Elsewhere: `prod` (in <#C0OPS>).',
  );
  const anywhere = parseConfig(twoClusters('{ opsChannels: [] }'), {});
  expect(clusterChoice(anywhere, 'C0OPS')).toBe(
    'Several clusters are configured: name one, `/pach backup <cluster>`. Here: `prod`, `staging`.',
  );
});
