/**
 * One pass: claim dirty tunnels with a lease, load their routes, run the steps in dependency
 * order for all of them together, and record each tunnel's outcome (outcome.ts decides it from
 * the state). Order: Cloudflare tunnels → deleted routes' pods → Access (protection before any
 * record) → DNS → remote configuration → pods of live routes → deleted routes' Access objects →
 * deleted tunnels.
 */
import type { ResyncRepository } from '../store/index.js';
import type { StepContext } from './context.js';
import { backoffMs } from './options.js';
import { decide } from './outcome.js';
import { newWork, type Work } from './work.js';
import { createTunnelsStep } from './steps/tunnels.js';
import { createAccessStep } from './steps/access.js';
import { createDnsStep } from './steps/dns.js';
import { createConfigStep } from './steps/config.js';
import { configTargets, planConfig } from './steps/config-plan.js';
import { createKubernetesStep } from './steps/kubernetes.js';
import { createDeletionsStep } from './steps/deletions.js';

export interface PassStats {
  tunnels: number;
  ms: number;
  failed: number;
}

/** Set while installations still carry allow-list WAF rules from before per-route Access (see resync). */
export const LEGACY_FIREWALL_KEY = 'firewall_hash';

export function createPass(ctx: StepContext, resync: Pick<ResyncRepository, 'appliedAccessRoutes'>) {
  const o = ctx.options;
  const tunnels = createTunnelsStep(ctx);
  const access = createAccessStep(ctx);
  const dns = createDnsStep(ctx);
  const config = createConfigStep(ctx);
  const kubernetes = createKubernetesStep(ctx, resync);
  const deletions = createDeletionsStep(ctx, kubernetes.enabled);

  async function record(ws: Work[]) {
    for (const w of ws) {
      const d = decide(w, kubernetes.enabled, (retryAfterMs) =>
        backoffMs(w.tunnel.attempts, o.backoffBaseMs, o.backoffMaxMs, retryAfterMs),
      );
      if (!d.outcome) continue;
      await ctx.work.record(d.outcome);
      if (d.outcome.kind === 'converged') {
        if (w.tunnel.observedGeneration === 0) {
          await ctx.events.append({
            ownerId: w.tunnel.ownerId,
            actor: 'reconciler',
            action: 'tunnel.ready',
            target: w.tunnel.name,
            outcome: 'ok',
            details: { cloudflareId: w.tunnel.cfTunnelId },
          });
        }
        continue;
      }
      if (d.outcome.kind !== 'failed') continue;
      const e = d.outcome.error!;
      if (d.unfinished.length > 0 && !w.failure && w.routeFailures.size === 0) {
        // A step left work undone without saying why: a defect, made visible, and retried.
        ctx.logger.error(
          { tunnel: w.tunnel.name, unfinished: d.unfinished },
          'pass left a tunnel unfinished without an error',
        );
      }
      if (w.tunnel.attempts === 0 || d.terminal) {
        await ctx.events.append({
          ownerId: w.tunnel.ownerId,
          actor: 'reconciler',
          action: w.tunnel.deleting ? 'tunnel.delete' : 'tunnel.reconcile',
          target: w.tunnel.name,
          outcome: 'error',
          details: { error: e.message, code: e.code, retryInMs: e.retryInMs },
        });
      }
      const entry = {
        tunnel: w.tunnel.name,
        attempts: w.tunnel.attempts + 1,
        retryInMs: e.retryInMs,
        err: e.message,
        code: e.code,
      };
      if (d.terminal) ctx.logger.error(entry, 'reconcile failed');
      else ctx.logger.warn(entry, 'reconcile failed');
    }
  }

  return {
    kubernetes,
    /**
     * One pass over whatever is claimable now; returns the claimed tunnels' work (put-off ones
     * too, so the loop keeps passing until they are pushed). `defer`: whether a remote tunnel's
     * configuration PUT is put off (the scheduler's decision; never for `drain`).
     */
    async run(defer: (w: Work) => boolean): Promise<{ work: Work[]; stats: PassStats }> {
      const claimed = await ctx.work.claim(o.owner, o.claimLimit, o.leaseMs, o.claimPerOwner);
      if (claimed.length === 0) return { work: [], stats: { tunnels: 0, ms: 0, failed: 0 } };
      const started = performance.now();
      const routes = await ctx.work.routesOf(claimed.map((t) => t.id));
      const ws = claimed.map((t) => newWork(t, routes.get(t.id) ?? []));
      const ids = claimed.map((t) => t.id);
      // Keep the claim alive while the pass runs (rate-limit waits can be long).
      const keepAlive = setInterval(
        () => ctx.work.extend(ids, o.owner, o.leaseMs).catch(() => undefined),
        Math.max(50, o.leaseMs / 3),
      );
      try {
        const legacyFirewall = (await ctx.settings.get(LEGACY_FIREWALL_KEY)) !== null;
        await tunnels.ensure(ws);
        await kubernetes.remove(ws);
        await dns.claimNames(ws);
        await access.ensure(ws);
        // A remote tunnel whose PUT this pass puts off gets no new DNS records yet either: they
        // would not make its routes live (its ingress does), and its burst's end sends them in
        // full batches.
        const putOff = new Set(
          configTargets(ws)
            .filter((w) => planConfig(w, defer)[0]?.kind === 'defer')
            .map((w) => w.tunnel.id),
        );
        await dns.sync(ws, legacyFirewall, (w) => putOff.has(w.tunnel.id));
        await config.push(ws, defer);
        await kubernetes.apply(ws);
        await access.remove(ws);
        await deletions.finish(ws);
        await record(ws);
      } finally {
        clearInterval(keepAlive);
        await ctx.work.release(
          ws.filter((w) => !w.done).map((w) => w.tunnel.id),
          o.owner,
        );
      }
      const failed = ws.filter((w) => w.failure || w.routeFailures.size > 0).length;
      return { work: ws, stats: { tunnels: ws.length, ms: performance.now() - started, failed } };
    },
  };
}
