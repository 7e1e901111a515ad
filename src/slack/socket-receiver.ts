import { createServer, type Server } from 'node:http';
import { type CustomRoute, SocketModeReceiver } from '@slack/bolt';
import type { Logger } from '../log.ts';
import { toBoltLogger } from './bolt-logger.ts';

/** Socket Mode's receiver, and whether its socket is up now. */
export interface SocketReceiver {
  receiver: SocketModeReceiver;
  /** True from Slack's `hello` until the socket closes (it is down while Bolt reconnects). */
  connected(): boolean;
}

/**
 * Bolt's Socket Mode receiver, with `routes` (`/healthz`, `/readyz`, `/metrics`) on `port` served by a
 * server of ours: Bolt's own listens without an error handler, so a port in use crashed the process
 * with a stack trace; here `start()` fails with the port named, as Bolt's HTTP receiver does.
 */
class RoutedSocketModeReceiver extends SocketModeReceiver {
  private readonly server: Server;
  private readonly port: number;
  private readonly paths: string;
  private readonly log: Logger;

  constructor(
    options: ConstructorParameters<typeof SocketModeReceiver>[0] & {
      port: number;
      routes: CustomRoute[];
      log: Logger;
    },
  ) {
    const { port, routes, log, ...bolt } = options;
    super(bolt);
    this.port = port;
    this.paths = routes.map((route) => route.path).join(', ');
    this.log = log;
    this.server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const route = routes.find((r) => r.path === path && [r.method].flat().includes(req.method ?? 'GET'));
      if (route) route.handler(req, res);
      else res.writeHead(404).end();
    });
  }

  override async start(): Promise<Awaited<ReturnType<SocketModeReceiver['start']>>> {
    await new Promise<void>((resolve, reject) => {
      const failed = (error: Error) =>
        reject(new Error(`cannot serve ${this.paths} on port ${this.port}: ${error.message}`));
      this.server.once('error', failed);
      this.server.listen(this.port, () => {
        this.server.off('error', failed);
        // once listening, a failure to accept is logged, not thrown out of the process
        this.server.on('error', (error) => this.log.error({ err: error }, 'the probes’ HTTP server failed'));
        resolve();
      });
    });
    try {
      return await super.start();
    } catch (error) {
      this.server.close(); // Slack refused the socket: the bot stops, and its port with it
      throw error;
    }
  }

  override async stop(): Promise<void> {
    await super.stop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * The Socket Mode receiver, made here rather than inside Bolt so that readiness can follow its socket: a
 * bot whose socket is down (still connecting, or reconnecting after Slack's `disconnect`) receives no
 * command, and `/readyz` says so; a rolling update then keeps the old pod until the new one is connected.
 */
export function createSocketReceiver(options: {
  appToken: string;
  port: number;
  routes: CustomRoute[];
  slackApiUrl?: string;
  log: Logger;
}): SocketReceiver {
  const log = options.log.child({ component: 'socket-mode' });
  const receiver = new RoutedSocketModeReceiver({
    appToken: options.appToken,
    logger: toBoltLogger(log),
    log,
    port: options.port,
    routes: options.routes,
    installerOptions: {
      clientOptions: options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : undefined,
    },
  });
  let connected = false;
  let stopping = false;
  receiver.client.on('connected', () => {
    connected = true;
    log.info('Slack socket connected');
  });
  // only the bot's own stop disconnects on purpose; any other loss is Bolt's to reconnect
  receiver.client.on('disconnecting', () => {
    stopping = true;
  });
  const down = (state: string) => () => {
    if (connected && !stopping) log.warn({ state }, 'Slack socket down; Bolt reconnects');
    connected = false;
  };
  for (const state of ['close', 'disconnected', 'reconnecting']) receiver.client.on(state, down(state));
  return { receiver, connected: () => connected };
}
