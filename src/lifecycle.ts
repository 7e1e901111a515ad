import { ConfigError, describeError } from './errors.ts';

/** Runs an entry until SIGTERM/SIGINT, then stops it gracefully; a bad configuration exits 2 with its message. */
export async function runUntilSignalled(
  name: string,
  start: () => Promise<{ stop(): Promise<void> }>,
): Promise<void> {
  let running: { stop(): Promise<void> };
  try {
    running = await start();
  } catch (error) {
    process.stderr.write(`${name}: ${describeError(error)}\n`);
    process.exit(error instanceof ConfigError ? 2 : 1);
  }
  const shutdown = async (signal: string) => {
    process.stderr.write(`${name}: ${signal}, shutting down\n`);
    await running.stop().catch((error) => process.stderr.write(`${name}: ${describeError(error)}\n`));
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}
