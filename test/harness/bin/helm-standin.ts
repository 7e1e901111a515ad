/**
 * The helm stand-in's command line: `upgrade --install REL CHART --version V --namespace NS --values FILE
 * [--wait] [--timeout 300s] [--kube-context X] [--kubeconfig F]` acting on the Kubernetes stand-in
 * (helm-standin-cluster.ts), and `version [--short]`, with Helm 3.16's output and exit codes.
 *
 * Test knobs: HELM_STANDIN_RECORD=<file> appends one JSON line per invocation (argv, and each values
 * file's path, mode and content, read before anything else happens); HELM_STANDIN_FAIL=<message> makes
 * `upgrade` print `Error: UPGRADE FAILED: <message>` and exit 1 without touching the cluster.
 */
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { parse } from 'yaml';
import { HelmError, loadHelmTarget, upgradeInstall } from './helm-standin-cluster.ts';
import { KubeHttpError } from './kube-rest.ts';

const HELM_VERSION = 'v3.16.0';
const GIT_COMMIT = '0de8e1b8c2a0f3e1c6c5d2a9f8b7e6d5c4b3a291';

type Tree = Record<string, unknown>;

interface Parsed {
  words: string[];
  install: boolean;
  version?: string;
  namespace?: string;
  values: string[];
  wait: boolean;
  timeoutMs: number;
  kubeContext?: string;
  kubeconfig?: string;
  short: boolean;
}

const VALUE_FLAGS: Record<string, keyof Parsed> = {
  '--version': 'version',
  '--namespace': 'namespace',
  '-n': 'namespace',
  '--kube-context': 'kubeContext',
  '--kubeconfig': 'kubeconfig',
};

/** Go's time.ParseDuration for what helm users write: `300s`, `5m`, `5m0s`, `1h`. */
function parseDuration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_m, n: string, unit: string) => {
    total += Number(n) * units[unit];
    return '';
  });
  if (rest !== '' || text === '')
    throw new HelmError(`invalid argument "${text}" for "--timeout" flag: time: invalid duration "${text}"`);
  return total;
}

function parseArgs(argv: string[]): Parsed {
  const parsed: Parsed = {
    words: [],
    install: false,
    values: [],
    wait: false,
    timeoutMs: 300_000,
    short: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const [name, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new HelmError(`flag needs an argument: ${name}`);
      return v;
    };
    if (name === '--install' || name === '-i') parsed.install = true;
    else if (name === '--wait') parsed.wait = true;
    else if (name === '--short') parsed.short = true;
    else if (name === '--values' || name === '-f') parsed.values.push(value());
    else if (name === '--timeout') parsed.timeoutMs = parseDuration(value());
    else if (name in VALUE_FLAGS) (parsed as unknown as Record<string, string>)[VALUE_FLAGS[name]] = value();
    else if (name.startsWith('-')) throw new HelmError(`unknown flag: ${name}`);
    else parsed.words.push(arg);
  }
  return parsed;
}

/** One JSON line per invocation, values files read as helm would see them (before it acts). */
function record(argv: string[]): void {
  const file = process.env.HELM_STANDIN_RECORD;
  if (!file) return;
  const paths: string[] = [];
  argv.forEach((arg, i) => {
    if ((arg === '--values' || arg === '-f') && argv[i + 1]) paths.push(argv[i + 1]);
    else if (arg.startsWith('--values=')) paths.push(arg.slice('--values='.length));
  });
  const values = paths.map((path) => {
    try {
      return { path, mode: statSync(path).mode & 0o777, content: readFileSync(path, 'utf8') };
    } catch (error) {
      return { path, error: (error as Error).message };
    }
  });
  const line = { time: new Date().toISOString(), argv, kubeconfig: process.env.KUBECONFIG, values };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    const bothTrees = [b, v].every((x) => x !== null && typeof x === 'object' && !Array.isArray(x));
    out[k] = bothTrees ? merge(b as Tree, v as Tree) : v;
  }
  return out;
}

function readValues(paths: string[]): Tree {
  let values: Tree = {};
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      throw new HelmError(`open ${path}: no such file or directory`);
    }
    let parsed: unknown;
    try {
      parsed = parse(text);
    } catch (error) {
      throw new HelmError(
        `failed to parse ${path}: error converting YAML to JSON: ${(error as Error).message.split('\n')[0]}`,
      );
    }
    if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed)))
      throw new HelmError(
        `failed to parse ${path}: error unmarshaling JSON: cannot unmarshal into Go value of type map[string]interface {}`,
      );
    values = merge(values, (parsed ?? {}) as Tree);
  }
  return values;
}

/** A chart reference and version the stand-in can "find": `<repo>/pachyderm` or a path, `X.Y.Z`. */
function checkChart(chart: string, version: string | undefined): string {
  const name = chart.replace(/\/+$/, '').split('/').pop() ?? '';
  const repo = chart.includes('/') && !/^[./]/.test(chart) ? chart.split('/')[0] : '';
  if (name !== 'pachyderm')
    throw new HelmError(
      `chart "${name}" not found in ${repo || 'local'} index. (try 'helm repo update'): no chart name found`,
    );
  const v = (version ?? '2.11.6').replace(/^v/, '');
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(v))
    throw new HelmError(
      `chart "pachyderm" matching ${version} not found in ${repo || 'local'} index. (try 'helm repo update'): no chart version found for pachyderm-${version}`,
    );
  return v;
}

/** Go's time.ANSIC in local time: `Mon Jan _2 15:04:05 2006`. */
function ansic(date: Date): string {
  const [day, mon] = [
    date.toLocaleString('en-US', { weekday: 'short' }),
    date.toLocaleString('en-US', { month: 'short' }),
  ];
  const time = [date.getHours(), date.getMinutes(), date.getSeconds()]
    .map((n) => String(n).padStart(2, '0'))
    .join(':');
  return `${day} ${mon} ${String(date.getDate()).padStart(2, ' ')} ${time} ${date.getFullYear()}`;
}

async function runUpgrade(p: Parsed, out: (s: string) => void): Promise<number> {
  if (p.words.length !== 3)
    throw new HelmError(
      `"helm upgrade" requires 2 arguments\n\nUsage:  helm upgrade [RELEASE] [CHART] [flags]`,
    );
  const [, release, chart] = p.words;
  const injected = process.env.HELM_STANDIN_FAIL;
  if (injected) throw new HelmError(`UPGRADE FAILED: ${injected}`);
  const chartVersion = checkChart(chart, p.version);
  const values = readValues(p.values);
  const target = loadHelmTarget(p.kubeconfig, p.kubeContext);
  if (p.namespace) target.namespace = p.namespace;
  const result = await upgradeInstall({
    target,
    release,
    chartVersion,
    values,
    install: p.install,
    wait: p.wait,
    timeoutMs: p.timeoutMs,
  }).catch((error: Error) => {
    if (error instanceof KubeHttpError && error.status === 0)
      throw new HelmError(`Kubernetes cluster unreachable: ${error.message}`);
    throw error;
  });
  out(
    result.installed
      ? `Release "${release}" does not exist. Installing it now.\n`
      : `Release "${release}" has been upgraded. Happy Helming!\n`,
  );
  out(`NAME: ${release}\nLAST DEPLOYED: ${ansic(new Date())}\nNAMESPACE: ${target.namespace}\n`);
  out(`STATUS: deployed\nREVISION: ${result.revision}\nTEST SUITE: None\nNOTES:\n${result.notes}`);
  return 0;
}

function runVersion(p: Parsed, out: (s: string) => void): number {
  if (p.short) out(`${HELM_VERSION}+g${GIT_COMMIT.slice(0, 7)}\n`);
  else
    out(
      `version.BuildInfo{Version:"${HELM_VERSION}", GitCommit:"${GIT_COMMIT}", GitTreeState:"clean", GoVersion:"go1.22.7"}\n`,
    );
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const write = (s: string) => void process.stdout.write(s);
  record(argv);
  let upgrading = false;
  try {
    const parsed = parseArgs(argv);
    upgrading = parsed.words[0] === 'upgrade';
    if (parsed.words[0] === 'version') return runVersion(parsed, write);
    if (upgrading) return await runUpgrade(parsed, write);
    throw new HelmError(
      `unknown command "${parsed.words[0] ?? ''}" for "helm"\nRun 'helm --help' for usage.`,
    );
  } catch (error) {
    const message = (error as Error).message;
    const prefixed = error instanceof KubeHttpError && upgrading ? `UPGRADE FAILED: ${message}` : message;
    process.stderr.write(`Error: ${prefixed}\n`);
    return 1;
  }
}
