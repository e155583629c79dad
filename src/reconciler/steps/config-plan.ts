/**
 * The remote-configuration planner: whether a claimed remote tunnel's ingress must be PUT (its
 * live routes' ingress hashes differently from the last accepted one), put off (the scheduler
 * holds it back while a burst goes on), or left alone (unchanged, or a new tunnel without routes
 * needs none yet). Pure but for the scheduler's answer, which is asked only when a PUT would
 * go out (asking starts its put-off clock: gathering.ts); every case is a row of a table test
 * (config-plan.test.ts). The step (config.ts) sends and records.
 */
import { createHash } from 'node:crypto';
import { renderIngress, type IngressRule } from '../../domain/cloudflared-files.js';
import type { Route, Tunnel } from '../../domain/model.js';
import { active, routeLive, type Work } from '../work.js';

export type ConfigOp =
  /** The ingress to send, and its hash (recorded once accepted: an identical PUT is skipped). */
  | { kind: 'put'; ingress: IngressRule[]; hash: string }
  /** The scheduler puts the PUT off: the tunnel is neither converged nor failed. */
  | { kind: 'defer' };

export function configHash(ingress: unknown): string {
  return createHash('sha256').update(JSON.stringify(ingress)).digest('hex').slice(0, 32);
}

/** The ingress Cloudflare should hold for the tunnel, or null when it needs none yet. */
export function wantedIngress(tunnel: Pick<Tunnel, 'configVersion'>, routes: Route[]): IngressRule[] | null {
  const live = routes.filter((r) => !r.deleting);
  if (live.length === 0 && tunnel.configVersion === null) return null;
  return renderIngress(
    live.map((r) => ({
      hostname: r.hostname,
      service: r.service,
      originRequest: r.originRequest,
      accessAud: r.objects.accessAud,
    })),
    'json',
  );
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

/** Live remote tunnels still worked on in this pass whose Cloudflare tunnel exists. */
export const configTargets = (ws: Work[]) =>
  ws.filter(
    (w) => active(w) && !w.tunnel.deleting && w.tunnel.configMode === 'remote' && w.tunnel.cfTunnelId,
  );

/** What a target's configuration needs. `defer`: the scheduler's answer, asked only for a PUT that would go out. */
export function planConfig(w: Work, defer: (w: Work) => boolean): ConfigOp[] {
  const ingress = wantedIngress(w.tunnel, w.routes);
  if (!ingress) return [];
  const hash = configHash(ingress);
  if (hash === w.tunnel.configHash) return [];
  if (defer(w)) return [{ kind: 'defer' }];
  return [{ kind: 'put', ingress, hash }];
}
