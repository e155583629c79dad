/**
 * The Access planner: from what a route asks for (its protection) and what we recorded of its
 * Access objects (after a look by name when a create's answer was lost), the operations to
 * send, in order. Pure: the clock is an argument, and every case is a row of a table test
 * (access-plan.test.ts). The step (access.ts) reads, applies and records.
 */
import { isTcpLike, needsAccess, type Route } from '../../domain/model.js';
import { desiredAppHash } from '../protection.js';
import { routeActive, routeLive, type Work } from '../work.js';

export type AccessOp =
  /** Before a create whose answer could be lost: a later pass looks before creating again. */
  | { kind: 'mark_uncertain' }
  | { kind: 'create_token' }
  /** The token nears its expiry: a new expiry, then a new secret (the access pods roll). */
  | { kind: 'renew_token' }
  /** An admin asked for a new secret. */
  | { kind: 'rotate_token' }
  /** The application with the policies the route asks for (computed when sent: they name the token). */
  | { kind: 'create_app' }
  | { kind: 'update_app' }
  | { kind: 'delete_app' }
  | { kind: 'delete_token' }
  /** Everything the mark was about is settled. */
  | { kind: 'clear_uncertain' };

export interface AccessPlanOptions {
  /** Milliseconds since the epoch. */
  now: number;
  /** A token expiring sooner than this is renewed. */
  renewBeforeMs: number;
}

/** Live, active routes that need protection get it; active ones deleted (once their record is gone) or no longer protected lose it. */
export function accessTargets(w: Work): { ensure: Route[]; remove: Route[] } {
  const ensure: Route[] = [];
  const remove: Route[] = [];
  for (const r of w.routes) {
    const hasObjects = !!(r.objects.accessAppId || r.objects.serviceTokenId || r.objects.accessUncertain);
    // Someone else's record holds the name: our application must not cover their site.
    if (
      w.blocked.get(r.id)?.code === 'dns.foreign_record' &&
      !r.objects.dnsRecordId &&
      hasObjects &&
      !w.failure
    ) {
      remove.push(r);
      continue;
    }
    if (!routeActive(w, r)) continue;
    const live = routeLive(w, r);
    if (live && needsAccess(r)) ensure.push(r);
    else if ((live || (!r.objects.dnsRecordId && !r.objects.dnsUncertain)) && hasObjects) remove.push(r);
  }
  return { ensure, remove };
}

export const tokenExpiring = (r: Route, o: AccessPlanOptions) => {
  const at = r.objects.serviceTokenExpiresAt;
  return at !== null && Date.parse(at) - o.now < o.renewBeforeMs;
};

/** What a protected live route needs sent. Run after the look by name when `accessUncertain`. */
export function planAccess(r: Route, o: AccessPlanOptions): AccessOp[] {
  const ops: AccessOp[] = [];
  const obj = r.objects;
  const tcp = isTcpLike(r);
  const newToken = tcp && !obj.serviceTokenId;
  if ((newToken || !obj.accessAppId) && !obj.accessUncertain) ops.push({ kind: 'mark_uncertain' });
  if (newToken) ops.push({ kind: 'create_token' });
  else if (tcp && tokenExpiring(r, o)) ops.push({ kind: 'renew_token' });
  else if (tcp && obj.rotateRequested) ops.push({ kind: 'rotate_token' });
  if (!obj.accessAppId) ops.push({ kind: 'create_app' });
  // A new token changes the policies that name it.
  else if (newToken || obj.accessPoliciesHash !== desiredAppHash(r)) ops.push({ kind: 'update_app' });
  if (obj.accessUncertain || ops[0]?.kind === 'mark_uncertain') ops.push({ kind: 'clear_uncertain' });
  return ops;
}

/** What a deleted or no longer protected route needs sent: the application (its policies go with it), then the token. */
export function planAccessRemoval(r: Route): AccessOp[] {
  const ops: AccessOp[] = [];
  if (r.objects.accessAppId) ops.push({ kind: 'delete_app' });
  if (r.objects.serviceTokenId) ops.push({ kind: 'delete_token' });
  if (r.objects.accessUncertain) ops.push({ kind: 'clear_uncertain' });
  return ops;
}
