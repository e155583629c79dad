/**
 * Remote configuration: one PUT per live remote tunnel whose ingress changed (the hash of the
 * last accepted one skips identical PUTs: a converged world gets no writes). A new tunnel without
 * routes needs none yet. The scheduler may put a PUT off while a burst of changes goes on. What
 * to send is decided by the planner (config-plan.ts); this executor sends and records.
 */
import { mapLimit } from '../map-limit.js';
import type { StepContext } from '../context.js';
import { failTunnel, type Work } from '../work.js';
import { configTargets, planConfig, type ConfigOp } from './config-plan.js';

// Outcome and resync compare with the same rules.
export { configCurrent, configHash, wantedIngress } from './config-plan.js';

export function createConfigStep(ctx: StepContext) {
  async function apply(w: Work, op: ConfigOp) {
    switch (op.kind) {
      case 'defer':
        w.deferred = true;
        return;
      case 'put': {
        const { version } = await ctx.cloudflare.putConfiguration(w.tunnel.cfTunnelId!, op.ingress);
        await ctx.work.setConfig(w.tunnel.id, op.hash, version);
        w.tunnel.configHash = op.hash;
        w.tunnel.configVersion = version;
        return;
      }
    }
  }

  return {
    /** `defer(w)`: whether the scheduler puts this tunnel's PUT off (a burst goes on). */
    async push(ws: Work[], defer: (w: Work) => boolean) {
      await mapLimit(configTargets(ws), ctx.options.concurrency, (w) =>
        ctx.asOwner(w, async () => {
          const ops = planConfig(w, defer);
          try {
            for (const op of ops) await apply(w, op);
          } catch (err) {
            failTunnel(w, err);
          }
        }),
      );
    },
  };
}
