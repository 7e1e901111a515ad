import type { CustomRoute } from '@slack/bolt';

/**
 * The orchestrator's probes: `/healthz` (the process serves HTTP) and `/readyz` (it can take Slack's
 * requests now). `whyNotReady` resolves to undefined when ready, else to the reason the 503 gives.
 */
export function healthRoutes(whyNotReady: () => Promise<string | undefined>): CustomRoute[] {
  return [
    { path: '/healthz', method: 'GET', handler: (_req, res) => res.writeHead(200).end('ok') },
    {
      path: '/readyz',
      method: 'GET',
      handler: (_req, res) => {
        void whyNotReady().then((why) =>
          res.writeHead(why ? 503 : 200).end(why ? `not ready: ${why}` : 'ready'),
        );
      },
    },
  ];
}
