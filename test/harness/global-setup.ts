/** Jest globalSetup: one Redis, one PostgreSQL (ssl on) and, unless PACHOPS_TEST_RGW=0, one RGW per run. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeHarnessDir } from './harness-dir.ts';
import { guardStack, type Stack, startStack } from './stack.ts';
import { STACK_FILE_ENV } from './stack-env.ts';

/** What globalTeardown needs (globalSetup and globalTeardown share globalThis). */
export interface RunState {
  stack: Stack;
  stackDir: string;
  /** Removes the exit/signal handlers that kill the stack if the run is cut short. */
  unguard: () => void;
}

const stateKey = '__pachopsTestStack';

export function readRunState(): RunState | undefined {
  return (globalThis as Record<string, unknown>)[stateKey] as RunState | undefined;
}

export default async function globalSetup(): Promise<void> {
  const stack = await startStack({
    rgw: process.env.PACHOPS_TEST_RGW !== '0',
    s3rver: false,
    postgresSsl: true,
  });
  const stackDir = await makeHarnessDir('stack');
  const file = join(stackDir, 'stack.json');
  writeFileSync(file, `${JSON.stringify(stack.info, null, 2)}\n`, { mode: 0o600 });
  // workers are forked after globalSetup and inherit this
  process.env[STACK_FILE_ENV] = file;
  // an interrupted run (Ctrl-C) skips globalTeardown: kill the daemons on the way out at least
  const unguard = guardStack(stack.info, [stackDir]);
  (globalThis as Record<string, unknown>)[stateKey] = { stack, stackDir, unguard } satisfies RunState;
}
