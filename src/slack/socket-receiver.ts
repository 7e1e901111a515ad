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
 * The Socket Mode receiver, made here rather than inside Bolt so that readiness can follow its socket: a
 * bot whose socket is down (still connecting, or reconnecting after Slack's `disconnect`) receives no
 * command, and `/readyz` says so; a rolling update then keeps the old pod until the new one is connected.
 * `routes` (`/healthz`, `/readyz`, `/metrics`) are served on `port` as in HTTP mode.
 */
export function createSocketReceiver(options: {
  appToken: string;
  port: number;
  routes: CustomRoute[];
  slackApiUrl?: string;
  log: Logger;
}): SocketReceiver {
  const log = options.log.child({ component: 'socket-mode' });
  const receiver = new SocketModeReceiver({
    appToken: options.appToken,
    logger: toBoltLogger(log),
    customRoutes: options.routes,
    installerOptions: {
      port: options.port,
      clientOptions: options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : undefined,
    },
  });
  let connected = false;
  receiver.client.on('connected', () => {
    connected = true;
    log.info('Slack socket connected');
  });
  const down = (state: string) => () => {
    if (connected) log.warn({ state }, 'Slack socket down; Bolt reconnects');
    connected = false;
  };
  for (const state of ['close', 'disconnecting', 'disconnected', 'reconnecting'])
    receiver.client.on(state, down(state));
  return { receiver, connected: () => connected };
}
