/**
 * A deleted tunnel goes last: once every route's outside objects are gone, its connections are
 * cleaned, the Cloudflare tunnel deleted, then its rows (the finalizer), leaving tombstones.
 */
import { mapLimit } from '../map-limit.js';
import type { StepContext } from '../context.js';
import { routeGone } from '../outcome.js';
import { active, failTunnel, type Work } from '../work.js';

export function createDeletionsStep(ctx: StepContext, kubernetesEnabled: boolean) {
  return {
    async finish(ws: Work[]) {
      const targets = ws.filter(
        (w) =>
          active(w) &&
          w.tunnel.deleting &&
          w.routeFailures.size === 0 &&
          w.routes.every((r) => routeGone(r, kubernetesEnabled)),
      );
      await mapLimit(targets, ctx.options.concurrency, (w) =>
        ctx.asOwner(w, async () => {
          try {
            if (w.tunnel.cfTunnelId) {
              await ctx.cloudflare.cleanConnections(w.tunnel.cfTunnelId);
              await ctx.cloudflare.deleteTunnel(w.tunnel.cfTunnelId);
            }
            await ctx.work.deleteTunnel(
              w.tunnel,
              w.routes.map((r) => r.name),
            );
            await ctx.events.append({
              ownerId: w.tunnel.ownerId,
              actor: 'reconciler',
              action: 'tunnel.deleted',
              target: w.tunnel.name,
              outcome: 'ok',
              details: { cloudflareId: w.tunnel.cfTunnelId },
            });
            w.done = true;
          } catch (err) {
            failTunnel(w, err);
          }
        }),
      );
    },
  };
}
