/**
 * The pachctl stand-in's command line: `enterprise pause|unpause|pause-status`, `version`,
 * `inspect cluster`, with Pachyderm 2.11's output formats and exit codes. It finds pachd through the
 * KUBECONFIG's current context (PACHCTL_STANDIN_NAMESPACE overrides the namespace).
 *
 * Test knobs: PACHCTL_STANDIN_FAIL="<command>:<message>" (one per line; <command> is the full
 * command such as `enterprise pause`, its last word, or `*`) prints the message to stderr and exits 1;
 * PACHCTL_STANDIN_VERSION sets pachctl's own version (default 2.11.6); PACHCTL_STANDIN_DELAY_MS
 * sleeps before doing anything.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { createKubeRest, KubeHttpError, type KubeRest, loadKubeTarget } from './kube-rest.ts';
import {
  clusterInfo,
  connectedPachd,
  type Pod,
  pachdVersion,
  pauseStatus,
  rollPachd,
} from './pachd-standin.ts';

class CliError extends Error {}

interface Flags {
  raw: boolean;
  output: string;
  clientOnly: boolean;
  compare: boolean;
}

const unreachable =
  'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:30650: connect: connection refused"';

const commands = [
  'enterprise pause',
  'enterprise unpause',
  'enterprise pause-status',
  'version',
  'inspect cluster',
];

function parseArgs(argv: string[]): { command: string; flags: Flags } {
  const flags: Flags = { raw: false, output: '', clientOnly: false, compare: false };
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [name, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = () => inline ?? argv[++i] ?? '';
    if (name === '--raw') flags.raw = true;
    else if (name === '--client-only') flags.clientOnly = true;
    else if (name === '--compare') flags.compare = true;
    else if (name === '-o' || name === '--output') flags.output = value();
    else if (name.startsWith('-o') && name.length > 2 && !name.startsWith('--')) flags.output = name.slice(2);
    else if (['--timeout', '--rpc-timeout'].includes(name)) value();
    else if (['-v', '--verbose', '--no-color', '--enterprise'].includes(name)) continue;
    else if (name.startsWith('-')) throw new CliError(`unknown flag: ${name}`);
    else words.push(arg);
  }
  return { command: words.join(' '), flags };
}

function injectedFailure(command: string): string | undefined {
  for (const line of (process.env.PACHCTL_STANDIN_FAIL ?? '').split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    if (key === '*' || key === command || key === command.split(' ').at(-1))
      return line.slice(colon + 1).trim();
  }
  return undefined;
}

function versionProto(version: string): Record<string, unknown> {
  const m = /^(\d+)\.(\d+)\.(\d+)(.*)$/.exec(version) ?? [version, '0', '0', '0', ''];
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    micro: Number(m[3]),
    ...(m[4] ? { additional: m[4] } : {}),
    git_commit: 'c5a0f3b3a2c4d1e0f9a8b7c6d5e4f3a2b1c0d9e8',
    git_tree_modified: 'false',
    build_date: '2024-10-01T00:00:00Z',
    go_version: 'go1.22.8',
    platform: 'amd64',
  };
}

/** cmdutil.Encoder(format).EncodeProto: protojson with a 2-space indent and no trailing newline; or YAML. */
function encode(value: unknown, format: string): string {
  const f = (format || 'json').toLowerCase();
  if (f === 'json') return JSON.stringify(value, null, 2);
  if (f === 'yaml') return stringify(value);
  throw new CliError(`unrecognized encoding: ${format}`);
}

/** ansiterm.NewTabWriter(os.Stdout, 20, 1, 3, ' ', 0) on `COMPONENT\tVERSION\t` rows. */
function tabRow(...cells: string[]): string {
  return `${cells.map((c) => c.padEnd(Math.max(20, c.length + 3))).join('')}\n`;
}

async function requirePachd(kube: KubeRest, prefix: string): Promise<Pod> {
  const pod = await connectedPachd(kube).catch((error: Error) => {
    throw new CliError(`${prefix}${unreachable} (${error.message})`);
  });
  if (!pod) throw new CliError(`${prefix}${unreachable}`);
  return pod;
}

async function runVersion(flags: Flags, out: (s: string) => void): Promise<number> {
  if (!flags.raw && flags.output) throw new CliError('cannot set --output (-o) without --raw');
  const client = process.env.PACHCTL_STANDIN_VERSION ?? '2.11.6';
  if (flags.clientOnly) {
    out(flags.raw ? encode(versionProto(client), flags.output) : `${client}\n`);
    return 0;
  }
  out(
    flags.raw
      ? encode(versionProto(client), flags.output)
      : tabRow('COMPONENT', 'VERSION') + tabRow('pachctl', client),
  );
  const kube = createKubeRest(loadKubeTarget());
  const pod = await connectedPachd(kube).catch(() => undefined);
  if (!pod) {
    const message = `${tabRow('pachd', '(version unknown) : error connecting to pachd server at address (grpc://localhost:30650): ')}`;
    throw new CliError(
      `${message.trimEnd()}${unreachable}\n\nplease make sure pachd is up (\`kubectl get all\`) and portforwarding is enabled\n`,
    );
  }
  const server = await pachdVersion(kube);
  out(flags.raw ? encode(versionProto(server), flags.output) : tabRow('pachd', server));
  return flags.compare && server !== client ? 1 : 0;
}

async function run(command: string, flags: Flags, out: (s: string) => void): Promise<number> {
  if (command === 'version') return runVersion(flags, out);
  const kube = createKubeRest(loadKubeTarget());
  switch (command) {
    case 'enterprise pause':
    case 'enterprise unpause': {
      const pausing = command === 'enterprise pause';
      await requirePachd(kube, 'could not connect: ');
      await rollPachd(kube, pausing).catch((error: Error) => {
        throw new CliError(`could not ${pausing ? 'pause' : 'unpause'} cluster: ${error.message}`);
      });
      return 0;
    }
    case 'enterprise pause-status': {
      await requirePachd(kube, 'could not connect: ');
      const status = await pauseStatus(kube).catch((error: Error) => {
        throw new CliError(`could not get pause status: ${error.message}`);
      });
      out(`${status}\n`);
      return 0;
    }
    case 'inspect cluster': {
      if (!flags.raw && flags.output) throw new CliError('cannot set --output (-o) without --raw');
      const pod = await requirePachd(kube, '');
      const info = await clusterInfo(kube, pod, await pachdVersion(kube));
      out(flags.raw ? encode(info, flags.output) : `${info.id}\n`);
      return 0;
    }
    default:
      throw new CliError(`unknown command "${command}" for "pachctl"\nRun 'pachctl --help' for usage.`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const write = (s: string) => void process.stdout.write(s);
  try {
    const { command, flags } = parseArgs(argv);
    if (command === '' || command === 'help' || argv.includes('--help') || argv.includes('-h')) {
      write(`Usage (pachctl stand-in):\n${commands.map((c) => `  pachctl ${c}`).join('\n')}\n`);
      return 0;
    }
    const delay = Number(process.env.PACHCTL_STANDIN_DELAY_MS ?? 0);
    if (delay > 0) await sleep(delay);
    const failure = injectedFailure(command);
    if (failure !== undefined) throw new CliError(failure);
    return await run(command, flags, write);
  } catch (error) {
    if (error instanceof CliError) process.stderr.write(`${error.message.replace(/\n?$/, '\n')}`);
    else if (error instanceof KubeHttpError) process.stderr.write(`${unreachable} (${error.message})\n`);
    else process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
}
