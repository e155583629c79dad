/**
 * Remote configuration: one PUT per live remote tunnel whose ingress changed (the hash of the
 * last accepted one skips identical PUTs: a converged world gets no writes). A new tunnel without
 * routes needs none yet. The scheduler may put a PUT off while a burst of changes goes on.
 */
import { createHash } from 'node:crypto';
import { renderIngress, type IngressRule } from '../../domain/cloudflared-files.js';
import type { Route, Tunnel } from '../../domain/model.js';
import { mapLimit } from '../map-limit.js';
import type { StepContext } from '../context.js';
import { active, failTunnel, routeLive, type Work } from '../work.js';

export function configHash(ingress: unknown): string {
  return createHash('sha256').update(JSON.stringify(ingress)).digest('hex').slice(0, 32);
}

/** The ingress Cloudflare should hold for the tunnel, or null when it needs none yet. */
export function wantedIngress(tunnel: Pick<Tunnel, 'configVersion'>, routes: Route[]): IngressRule[] | null {
  const live = routes.filter((r) => !r.deleting);
  if (live.length === 0 && tunnel.configVersion === null) return null;
  return renderIngress(live);
}

/** Whether the tunnel's remote configuration is as its live routes want it. */
export function configCurrent(w: Work): boolean {
  if (w.tunnel.configMode !== 'remote' || w.tunnel.deleting) return true;
  const ingress = wantedIngress(
    w.tunnel,
    w.routes.filter((r) => routeLive(w, r)),
  );
  return ingress === null || configHash(ingress) === w.tunnel.configHash;
}

export function createConfigStep(ctx: StepContext) {
  return {
    /** `defer(w)`: whether the scheduler puts this tunnel's PUT off (a burst goes on). */
    async push(ws: Work[], defer: (w: Work) => boolean) {
      const targets = ws.filter(
        (w) => active(w) && !w.tunnel.deleting && w.tunnel.configMode === 'remote' && w.tunnel.cfTunnelId,
      );
      await mapLimit(targets, ctx.options.concurrency, (w) =>
        ctx.asOwner(w, async () => {
          const ingress = wantedIngress(w.tunnel, w.routes);
          if (!ingress) return;
          const hash = configHash(ingress);
          if (hash === w.tunnel.configHash) return;
          if (defer(w)) {
            w.deferred = true;
            return;
          }
          try {
            const { version } = await ctx.cloudflare.putConfiguration(w.tunnel.cfTunnelId!, ingress);
            await ctx.work.setConfig(w.tunnel.id, hash, version);
            w.tunnel.configHash = hash;
            w.tunnel.configVersion = version;
          } catch (err) {
            failTunnel(w, err);
          }
        }),
      );
    },
  };
}
