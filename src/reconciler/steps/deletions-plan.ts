/**
 * The deletions planner: whether a deleted tunnel may go now — every route's outside objects are
 * gone and nothing of it failed in this pass — and in which order: its connections cleaned and
 * the Cloudflare tunnel deleted (when it has one), then its rows (the finalizer, leaving
 * tombstones). Pure: every case is a row of a table test (deletions-plan.test.ts). The step
 * (deletions.ts) sends and records.
 */
import type { Tunnel } from '../../domain/model.js';
import { routeGone } from '../outcome.js';
import { active, type Work } from '../work.js';

export type DeletionOp =
  /** cloudflared connections still registered would keep the tunnel from being deleted. */
  | { kind: 'clean_connections' }
  | { kind: 'delete_tunnel' }
  /** The finalizer: the tunnel's and its routes' rows go, tombstones name them; audited. */
  | { kind: 'delete_rows' };

/** Deleted tunnels still worked on in this pass whose routes are all gone outside. */
export const deletionTargets = (ws: Work[], kubernetesEnabled: boolean) =>
  ws.filter(
    (w) =>
      active(w) &&
      w.tunnel.deleting &&
      w.routeFailures.size === 0 &&
      w.routes.every((r) => routeGone(r, kubernetesEnabled)),
  );

/** What a deleted tunnel, once its routes are gone, needs sent. */
export function planDeletion(t: Pick<Tunnel, 'cfTunnelId'>): DeletionOp[] {
  return [
    ...(t.cfTunnelId ? [{ kind: 'clean_connections' } as const, { kind: 'delete_tunnel' } as const] : []),
    { kind: 'delete_rows' },
  ];
}
