/** Jest globalTeardown: stops what global-setup.ts started and deletes its directories. */
import { readRunState } from './global-setup.ts';
import { removeHarnessDir } from './harness-dir.ts';
import { stopStack } from './stack.ts';
import { STACK_FILE_ENV } from './stack-env.ts';

export default async function globalTeardown(): Promise<void> {
  const state = readRunState();
  if (!state) return;
  state.unguard();
  try {
    await stopStack(state.stack);
  } finally {
    await removeHarnessDir(state.stackDir);
    delete process.env[STACK_FILE_ENV];
  }
}
