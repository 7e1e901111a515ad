import { acceptsChannel, anyOpsChannels } from '../../config/cluster-slack.ts';
import type { Config } from '../../config/load.ts';
import type { PachCommand } from './parse.ts';

const link = (channels: string[]) => channels.map((c) => `<#${c}>`).join(', ');

/**
 * Whether `/pach` may be typed in this channel at all: in any configured ops channel (global or a
 * cluster's). Checked before the command is parsed, so that a stray channel gets this answer only.
 */
export function channelRefusal(config: Config, channel: string): string | undefined {
  const channels = anyOpsChannels(config);
  if (channels === 'anywhere' || channels.includes(channel)) return undefined;
  return `/pach is accepted in ${link(channels)} only.`;
}

/**
 * Whether a command about a cluster may be typed in this channel: only in that cluster's ops channels.
 * Commands naming no cluster, or an unknown one (the handler names the configured ones), pass.
 */
export function clusterChannelRefusal(
  config: Config,
  command: PachCommand,
  channel: string,
): string | undefined {
  const name = clusterOf(config, command);
  const cluster = name === undefined ? undefined : config.clusters[name];
  if (!cluster || acceptsChannel(cluster.slack, channel)) return undefined;
  return `/pach is accepted in ${link(cluster.slack.opsChannels)} only for ${cluster.name} (its ops channels).`;
}

/**
 * The cluster a command acts on or asks about by name; a backup, resume or schedule naming none is about
 * the only cluster when there is one.
 */
function clusterOf(config: Config, command: PachCommand): string | undefined {
  const names = Object.keys(config.clusters);
  switch (command.name) {
    case 'backup':
    case 'resume':
    case 'prune':
      return command.cluster ?? (names.length === 1 ? names[0] : undefined);
    case 'schedule-backup':
    case 'list':
    case 'audit':
      return command.cluster;
    default:
      return undefined;
  }
}

/**
 * `/pach backup` naming no cluster while several are configured: which to name, those accepted in this
 * channel first.
 */
export function clusterChoice(config: Config, channel: string): string {
  const clusters = Object.values(config.clusters);
  const here = clusters.filter((c) => acceptsChannel(c.slack, channel)).map((c) => `\`${c.name}\``);
  const elsewhere = clusters
    .filter((c) => !acceptsChannel(c.slack, channel))
    .map((c) => `\`${c.name}\` (in ${link(c.slack.opsChannels)})`);
  return [
    `Several clusters are configured: name one, \`/pach backup <cluster>\`.`,
    here.length ? `Here: ${here.join(', ')}.` : '',
    elsewhere.length ? `Elsewhere: ${elsewhere.join(', ')}.` : '',
  ]
    .filter(Boolean)
    .join(' ');
}
