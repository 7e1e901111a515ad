import { execa } from 'execa';
import { clusterToolEnv } from '../child-env.ts';
import { PachopsError } from '../errors.ts';

export type PauseStatus = 'unpaused' | 'partially-paused' | 'paused';

/** `pachctl`, run with execa; never through a shell, never with a secret in its arguments. */
export interface Pachctl {
  /** `signal` stops the command (an abort, or a resume ending the operation). */
  pause(signal?: AbortSignal): Promise<void>;
  unpause(): Promise<void>;
  pauseStatus(): Promise<PauseStatus>;
  /** `pachctl version`: the client's and the server's versions. */
  version(): Promise<{ pachctl: string; pachd: string }>;
  /** `pachctl inspect cluster --raw`: its id and whether it is paused (absent in the JSON = false). */
  inspectCluster(): Promise<{ id: string; paused: boolean }>;
}

export function createPachctl(options: { binary: string; timeoutMs?: number }): Pachctl {
  const run = async (args: string[], signal?: AbortSignal): Promise<string> => {
    const result = await execa(options.binary, args, {
      reject: false,
      cancelSignal: signal,
      ...clusterToolEnv(),
      timeout: options.timeoutMs ?? 120_000,
    });
    signal?.throwIfAborted();
    if (result.failed) {
      const reason = String(result.stderr || result.stdout || result.shortMessage || 'no output')
        .trim()
        .split('\n')
        .slice(-3)
        .join(' ');
      const permanent = /not authorized|permission denied|unauthenticated|ENOENT/i.test(
        reason + (result.shortMessage ?? ''),
      );
      throw new PachopsError('PACHCTL_FAILED', `pachctl ${args.join(' ')} failed: ${reason}`, {
        permanent,
        hint: permanent
          ? 'pause and unpause need clusterAdmin; check the pachctl context the worker uses'
          : undefined,
      });
    }
    return String(result.stdout).trim();
  };
  return {
    pause: async (signal) => void (await run(['enterprise', 'pause'], signal)),
    unpause: async () => void (await run(['enterprise', 'unpause'])),
    pauseStatus: async () => {
      const out = await run(['enterprise', 'pause-status']);
      const status = out
        .split(/\s+/)
        .find((word) => ['unpaused', 'partially-paused', 'paused'].includes(word));
      if (!status)
        throw new PachopsError(
          'PACHCTL_FAILED',
          `pachctl enterprise pause-status printed something unexpected: ${out.slice(0, 200)}`,
        );
      return status as PauseStatus;
    },
    version: async () => {
      const out = await run(['version']);
      const find = (component: string) => new RegExp(`^${component}\\s+(\\S+)`, 'm').exec(out)?.[1];
      const pachd = find('pachd');
      if (!pachd)
        throw new PachopsError(
          'PACHCTL_FAILED',
          `pachctl version printed no pachd version: ${out.slice(0, 200)}`,
        );
      return { pachctl: find('pachctl') ?? 'unknown', pachd };
    },
    inspectCluster: async () => {
      const out = await run(['inspect', 'cluster', '--raw']);
      try {
        const info = JSON.parse(out) as { id?: string; paused?: boolean };
        return { id: info.id ?? '', paused: info.paused === true };
      } catch {
        throw new PachopsError(
          'PACHCTL_FAILED',
          `pachctl inspect cluster --raw printed no JSON: ${out.slice(0, 200)}`,
        );
      }
    },
  };
}
