/**
 * A deleted tunnel goes last: once every route's outside objects are gone, its connections are
 * cleaned, the Cloudflare tunnel deleted, then its rows (the finalizer), leaving tombstones.
 * What to send is decided by the planner (deletions-plan.ts); this executor sends and records.
 */
import { mapLimit } from '../map-limit.js';
import type { StepContext } from '../context.js';
import { failTunnel, type Work } from '../work.js';
import { deletionTargets, planDeletion, type DeletionOp } from './deletions-plan.js';

export function createDeletionsStep(ctx: StepContext, kubernetesEnabled: boolean) {
  async function apply(w: Work, op: DeletionOp) {
    switch (op.kind) {
      case 'clean_connections':
        return ctx.cloudflare.cleanConnections(w.tunnel.cfTunnelId!);
      case 'delete_tunnel':
        return ctx.cloudflare.deleteTunnel(w.tunnel.cfTunnelId!);
      case 'delete_rows':
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
        return;
    }
  }

  return {
    async finish(ws: Work[]) {
      await mapLimit(deletionTargets(ws, kubernetesEnabled), ctx.options.concurrency, (w) =>
        ctx.asOwner(w, async () => {
          try {
            for (const op of planDeletion(w.tunnel)) await apply(w, op);
          } catch (err) {
            failTunnel(w, err);
          }
        }),
      );
    },
  };
}
