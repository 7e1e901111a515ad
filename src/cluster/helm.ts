/**
 * The helm binary, run with execa (no shell). Values go to helm in a private temporary file, never on
 * its command line, and whatever helm prints is scrubbed of the values' secrets before pachops shows it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Result } from 'execa';
import { stringify } from 'yaml';
import { clusterToolEnv } from '../child-env.ts';
import { PachopsError } from '../errors.ts';
import { collectSecrets, redactText } from './values-secrets.ts';

export interface HelmOptions {
  binary: string;
  /** Handed to helm as KUBECONFIG; absent = helm's own default (in-cluster or ~/.kube/config). */
  kubeconfig?: string;
  context?: string;
}

export interface UpgradeInstallOptions {
  release: string;
  namespace: string;
  /** A chart reference helm understands: `pachyderm/pachyderm`, an OCI or https URL, a path. */
  chart: string;
  version: string;
  values: Record<string, unknown>;
  /** helm's --timeout (each Kubernetes operation, and --wait). */
  timeoutSeconds: number;
  /** --wait: helm returns once the release's workloads are ready. Default true. */
  wait?: boolean;
  signal?: AbortSignal;
}

export interface Helm {
  upgradeInstall(options: UpgradeInstallOptions): Promise<{ output: string }>;
  /** `helm version --short`, e.g. `v3.16.0+g…`. */
  version(): Promise<string>;
}

/** helm's complaints about the chart, its version, the values or the release: retrying will not help. */
const PERMANENT =
  /chart ".*" (version ".*" )?not found|no chart version found|no chart name found|repo .* not found|not a valid chart repository|invalid chart|Chart\.yaml file is missing|chart requires kubeVersion|failed to download|404 Not Found|YAML parse error|error converting YAML to JSON|failed to parse|execution error at|template: |values don't meet the specifications|unknown flag|unknown command|invalid argument|non-absolute URLs|cannot re-use a name|another operation \(install\/upgrade\/rollback\) is in progress|has no deployed releases|already exists|field is immutable|is invalid|is forbidden|Unauthorized/i;

/** Network and cluster trouble, even inside an otherwise permanent-looking message (a chart download). */
const TRANSIENT =
  /i\/o timeout|connection refused|connection reset|TLS handshake timeout|no such host|Client\.Timeout|context deadline exceeded|Kubernetes cluster unreachable|server is currently unable|too many requests|etcdserver|unexpected EOF/i;

/** The last few lines helm printed, for an error message. */
function lastLines(text: string, count = 5): string {
  const lines = text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  return lines.slice(-count).join('\n').slice(-1500);
}

function failure(args: readonly string[], result: Result, secrets: readonly string[]): PachopsError {
  const what = `helm ${args.slice(0, 3).join(' ')}`;
  if (result.isCanceled) {
    return new PachopsError('ABORTED', `${what} was cancelled`, {
      permanent: true,
      hint: 'the release may be left pending; check `helm history` before running it again',
    });
  }
  if (result.code === 'ENOENT') {
    return new PachopsError('HELM_FAILED', `helm not found: ${result.command.split(' ')[0]}`, {
      permanent: true,
      hint: 'install helm 3 on the worker or set tools.helm',
    });
  }
  if (result.timedOut) {
    return new PachopsError('HELM_FAILED', `${what} did not finish in time and was stopped`, {
      hint: 'the release may be left pending; check `helm history`',
    });
  }
  const said = redactText(lastLines(String(result.stderr || result.stdout || '')), secrets);
  const permanent = PERMANENT.test(said) && !TRANSIENT.test(said);
  return new PachopsError('HELM_FAILED', `${what} failed: ${said || result.shortMessage || 'no output'}`, {
    permanent,
    hint: permanent ? 'fix the chart reference, version or values and retry' : undefined,
  });
}

async function withValuesFile<T>(
  values: Record<string, unknown>,
  use: (file: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'pachops-helm-'));
  try {
    const file = join(dir, 'values.yaml');
    await writeFile(file, stringify(values, { lineWidth: 0 }), { mode: 0o600, flag: 'wx' });
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function createHelm(options: HelmOptions): Helm {
  const contextArgs = options.context ? ['--kube-context', options.context] : [];
  const run = async (
    args: string[],
    extra: { timeoutMs: number; signal?: AbortSignal; secrets?: readonly string[] },
  ): Promise<string> => {
    const result = await execa(options.binary, args, {
      reject: false,
      ...clusterToolEnv(options.kubeconfig ? { KUBECONFIG: options.kubeconfig } : {}),
      timeout: extra.timeoutMs,
      cancelSignal: extra.signal,
      forceKillAfterDelay: 10_000,
      stdin: 'ignore',
    });
    const secrets = extra.secrets ?? [];
    if (result.failed) throw failure(args, result, secrets);
    return redactText(String(result.stdout).trim(), secrets);
  };

  return {
    async upgradeInstall(upgrade) {
      const wait = upgrade.wait ?? true;
      const secrets = collectSecrets(upgrade.values);
      const output = await withValuesFile(upgrade.values, (file) => {
        const args = [
          'upgrade',
          '--install',
          upgrade.release,
          upgrade.chart,
          '--version',
          upgrade.version,
          '--namespace',
          upgrade.namespace,
          '--values',
          file,
          ...(wait ? ['--wait'] : []),
          '--timeout',
          `${upgrade.timeoutSeconds}s`,
          ...contextArgs,
        ];
        // helm stops itself at --timeout; this only catches a helm that hangs past it.
        const timeoutMs = (upgrade.timeoutSeconds + 120) * 1000;
        return run(args, { timeoutMs, signal: upgrade.signal, secrets });
      });
      return { output };
    },
    version: () => run(['version', '--short'], { timeoutMs: 30_000 }),
  };
}
