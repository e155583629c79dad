/**
 * The tunnels planner: whether a claimed tunnel needs its Cloudflare tunnel created, or — being
 * deleted before its id was ever recorded — looked up by name so that it is deleted as well; and
 * what a create refused with a name conflict means (a create whose answer was lost: ours exists,
 * adopt it). Pure: every case is a row of a table test (tunnels-plan.test.ts). The step
 * (tunnels.ts) sends and records the id at once.
 */
import type { Tunnel } from '../../domain/model.js';
import { active, type Work } from '../work.js';

export type TunnelOp =
  /** Deleted before its id was recorded: find it by name (if it exists) so the deletion takes it too. */
  | { kind: 'look_up' }
  /** With the secret we generated, so a tunnel adopted later has the same credentials. */
  | { kind: 'create'; configSource: 'cloudflare' | 'local' }
  /** Ours exists under its name (found after a conflict): record its id. */
  | { kind: 'adopt'; id: string };

/** Tunnels still worked on in this pass that have no Cloudflare id yet. */
export const tunnelTargets = (ws: Work[]) => ws.filter((w) => active(w) && !w.tunnel.cfTunnelId);

/** What a tunnel without a Cloudflare id needs sent. */
export function planTunnel(t: Pick<Tunnel, 'cfTunnelId' | 'deleting' | 'configMode'>): TunnelOp[] {
  if (t.cfTunnelId) return [];
  if (t.deleting) return [{ kind: 'look_up' }];
  return [{ kind: 'create', configSource: t.configMode === 'remote' ? 'cloudflare' : 'local' }];
}

/**
 * A create refused because the name is taken, and what a look by name found there: ours (a
 * previous create succeeded unseen), adopted; nothing, and the conflict stands (no operation:
 * the refusal is the tunnel's failure).
 */
export function planAfterConflict(found: { id: string } | null): TunnelOp[] {
  return found ? [{ kind: 'adopt', id: found.id }] : [];
}
