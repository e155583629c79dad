/**
 * Whether a route's protection is in place, from what the reconciler recorded: the hostname
 * goes public only once its Access application holds exactly the policies the route asks for
 * (domain/access-policies.ts). Pure.
 */
import {
  accessPolicies,
  appSettings,
  policiesHash,
  type AccessPolicySpec,
} from '../domain/access-policies.js';
import { isTcpLike, needsAccess, type Route } from '../domain/model.js';

export function desiredPolicies(r: Route): AccessPolicySpec[] {
  return accessPolicies(
    { tcpLike: isTcpLike(r), allowIps: r.allowIps, access: r.access },
    r.objects.serviceTokenId,
  );
}

/** The route may be public now: it needs no protection, or its application holds the policies it asks for. */
export function protectedNow(r: Route): boolean {
  if (!needsAccess(r)) return true;
  const o = r.objects;
  if (!o.accessAppId || o.accessUncertain) return false;
  if (isTcpLike(r) && !o.serviceTokenId) return false;
  return o.accessPoliciesHash === desiredAppHash(r);
}

/** The hash of the application the route asks for: its policies and its session length. */
export const desiredAppHash = (r: Route) => policiesHash(desiredPolicies(r), appSettings(r.access));

/** Some protection stands (an application, perhaps with older policies): an existing record may stay while it is brought up to date. */
export function protectionStands(r: Route, legacyFirewall: boolean): boolean {
  return (
    !needsAccess(r) ||
    !!r.objects.accessAppId ||
    (legacyFirewall && !!r.allowIps && !isTcpLike(r) && !r.access)
  );
}

/** Nothing of the route's Access objects is left, or might be. */
export const accessGone = (r: Route) =>
  !r.objects.accessAppId && !r.objects.serviceTokenId && !r.objects.accessUncertain;
