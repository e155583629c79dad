/**
 * What a resync decides, as pure functions of what it listed outside and read from the store
 * (resync.ts lists, reads and writes; these only decide, and access-plan.ts's table-test shape
 * applies: resync-plan.test.ts).
 *
 * - A DNS record carrying our marker is the intact record of a live route, its record gone
 *   astray (`drifted`), a duplicate of a live route that has its own, the lost record of a route
 *   the pass will adopt, or an orphan candidate (tombstones decide in orphans.ts).
 * - A route is requeued when stuck on something outside, its service token nears expiry, or its
 *   objects are known gone (then the repair says which fields to forget); TCP routes' Kubernetes
 *   objects are applied again at every resync (apply is idempotent, and repairs hand edits).
 * - Cloudflare tunnels, Access objects and Kubernetes objects that no row names are candidates.
 */
import { tunnelCname, accessObjectName } from '../domain/names.js';
import { isTcpLike, needsAccess, type RouteObjects } from '../domain/model.js';
import { policiesHash } from '../domain/access-policies.js';
import type { Ownership } from '../domain/ownership.js';
import type { ResyncRoute, ResyncTunnel } from '../store/index.js';
import type { AccessApp, DnsRecord, ServiceToken } from '../providers/cloudflare/index.js';
import type { ManagedObject } from '../providers/kubernetes/index.js';
import { protectedNow } from './protection.js';
import { kubernetesName, kubernetesOwner, parseAccessName, type Orphan } from './orphans.js';

export interface ResyncResult {
  requeued: number;
  orphanRecords: number;
  orphanTunnels: number;
  orphanAccess: number;
  orphanKubernetes: number;
  /** Objects with our marker that nothing in this database vouches for: reported, never deleted. */
  unvouched: number;
  /** Provable orphans held back because there were too many to delete without a person. */
  held: number;
  legacyFirewallRemoved: boolean;
  expiringTokens: number;
  failed: number;
  /** Another replica (or a process that died holding it, until the lease runs out) holds the resync lease. */
  skipped: boolean;
}

export const emptyResyncResult = (): ResyncResult => ({
  requeued: 0,
  orphanRecords: 0,
  orphanTunnels: 0,
  orphanAccess: 0,
  orphanKubernetes: 0,
  unvouched: 0,
  held: 0,
  legacyFirewallRemoved: false,
  expiringTokens: 0,
  failed: 0,
  skipped: false,
});

/** Up to `n` items chosen at random (all of them when there are few). */
export function sample<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  const pool = [...items];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}

export type RecordVerdict =
  | { kind: 'orphan'; orphan: Orphan }
  | { kind: 'intact' }
  /** The route's own record, changed by hand: the route forgets it and the pass writes it again. */
  | { kind: 'drifted' }
  /** Ours, naming a live route that holds another record: collected once that one is intact. */
  | { kind: 'duplicate'; orphan: Orphan; recordId: string }
  /** The route lost its record and this is its own (or the route is uncertain): the pass adopts or decides. */
  | { kind: 'pass' };

const isLive = (at: ResyncRoute) => !at.route.deleting && !at.tunnel.deleting;

/** One listed record against the route at its name (if any). */
export function classifyRecord(
  rec: DnsRecord,
  at: ResyncRoute | undefined,
  own: Ownership,
  /** The zone it was listed in (an orphan is deleted there). */
  zone: string,
): RecordVerdict {
  const marker = own.parseDnsComment(rec.comment);
  const orphan: Orphan = {
    kind: 'dns',
    id: rec.id,
    name: rec.name,
    zone,
    tunnel: marker?.tunnel ?? null,
    route: marker?.route ?? null,
    createdAt: rec.createdAt,
  };
  if (!at) return { kind: 'orphan', orphan };
  const r = at.route;
  if (r.objects.dnsRecordId === rec.id) {
    const cf = at.tunnel.cfTunnelId;
    return cf && rec.type === 'CNAME' && rec.proxied && rec.content === tunnelCname(cf)
      ? { kind: 'intact' }
      : { kind: 'drifted' };
  }
  if (r.objects.dnsUncertain) return { kind: 'pass' };
  const itsOwn = marker?.tunnel === at.tunnel.name && marker.route === r.name;
  if (!itsOwn || !isLive(at)) return { kind: 'orphan', orphan };
  if (r.objects.dnsRecordId) return { kind: 'duplicate', orphan, recordId: r.objects.dnsRecordId };
  return { kind: 'pass' };
}

export interface RouteFacts {
  /** The zones whose records were all listed (a route's record is taken for gone only in one of them). */
  recordsListed: ReadonlySet<string>;
  /** Ids of the records found intact. */
  intact: ReadonlySet<string>;
  /** Service tokens' expiry as Cloudflare says (null when they could not be listed). */
  tokenExpiry: ReadonlyMap<string, string | null> | null;
  /** Epoch ms: a token expiring before this is renewed. */
  renewBefore: number;
  /** Kubernetes objects were listed (else TCP routes are left alone). */
  kubernetesListed: boolean;
}

export interface RouteCheck {
  requeue: boolean;
  /** Objects known gone (written with a new generation: resync.ts). */
  repair: Partial<RouteObjects> | null;
  /** What Cloudflare says of the route's token, when it differs from the row (no pass needed for it). */
  fact: Partial<RouteObjects> | null;
  expiring: boolean;
  unprotectedAllowList: boolean;
  /** The name of the Kubernetes objects this route wants (not orphans). */
  kubernetesWanted: string | null;
}

/** One route's checks, from one scan of the routes. */
export function checkRoute(at: ResyncRoute, f: RouteFacts): RouteCheck {
  const { route: r, tunnel: t } = at;
  const live = isLive(at);
  const o = r.objects;
  const repair: Partial<RouteObjects> = {};
  // Stuck on a foreign record or the zone's quota: try again (the record may be gone now).
  let requeue = r.phase === 'error' && (o.dnsUncertain || !o.dnsRecordId) && live;
  // A live route's record vanished or was changed by hand.
  if (f.recordsListed.has(r.zone) && live && o.dnsRecordId && t.cfTunnelId && !f.intact.has(o.dnsRecordId)) {
    repair.dnsRecordId = null;
    repair.dnsUncertain = true;
  }
  const listedExpiry =
    o.serviceTokenId && f.tokenExpiry?.has(o.serviceTokenId)
      ? f.tokenExpiry.get(o.serviceTokenId)!
      : undefined;
  const expiresAt = listedExpiry !== undefined ? listedExpiry : o.serviceTokenExpiresAt;
  const fact =
    listedExpiry !== undefined && listedExpiry !== o.serviceTokenExpiresAt
      ? { serviceTokenExpiresAt: listedExpiry }
      : null;
  const expiring = live && isTcpLike(r) && !!expiresAt && Date.parse(expiresAt) < f.renewBefore;
  if (expiring) requeue = true;
  let kubernetesWanted: string | null = null;
  if (f.kubernetesListed && live && isTcpLike(r)) {
    kubernetesWanted = accessObjectName(r.name, t.name);
    if (o.k8sHash) repair.k8sHash = null;
  }
  const hasRepair = Object.keys(repair).length > 0;
  return {
    requeue: requeue || hasRepair,
    repair: hasRepair ? repair : null,
    fact,
    expiring,
    unprotectedAllowList: live && !!r.allowIps && !isTcpLike(r) && !protectedNow(r),
    kubernetesWanted,
  };
}

export interface AccessListing {
  apps: ReadonlyMap<string, AccessApp>;
  tokenIds: ReadonlySet<string>;
}

/** What a live protected route's Access objects look like in the listing: missing ones are looked at again by id. */
export function accessSuspect(
  at: ResyncRoute,
  l: AccessListing,
): { lostApp: boolean; lostToken: boolean; editedPolicies: boolean } | null {
  const r = at.route;
  if (!isLive(at) || !needsAccess(r)) return null;
  const app = r.objects.accessAppId ? l.apps.get(r.objects.accessAppId) : undefined;
  const lostApp = !!r.objects.accessAppId && !app;
  const lostToken = !!r.objects.serviceTokenId && !l.tokenIds.has(r.objects.serviceTokenId);
  // Its policies or its domain changed by hand: the application is put back as the route wants it.
  const editedPolicies =
    !!app &&
    (policiesHash(app.policies, { sessionDuration: app.sessionDuration }) !== r.objects.accessPoliciesHash ||
      app.domain !== r.hostname);
  return lostApp || lostToken || editedPolicies ? { lostApp, lostToken, editedPolicies } : null;
}

/** The fields a route forgets when its application or token is gone for sure, or its policies were edited. */
export function accessRepair(gone: {
  app: boolean;
  token: boolean;
  editedPolicies: boolean;
}): Partial<RouteObjects> | null {
  if (!gone.app && !gone.token && !gone.editedPolicies) return null;
  return {
    ...(gone.app ? { accessAppId: null, accessAud: null } : {}),
    ...(gone.token
      ? {
          serviceTokenId: null,
          serviceTokenClientId: null,
          serviceTokenSealed: null,
          serviceTokenExpiresAt: null,
        }
      : {}),
    // A new token or edited policies: the application's policies are put again.
    accessPoliciesHash: null,
  };
}

/** Names and ids a route's row accounts for (its objects are never orphans, even when it is being deleted). */
export const accessClaims = (at: ResyncRoute, own: Ownership): string[] =>
  [
    at.route.objects.accessAppId,
    at.route.objects.serviceTokenId,
    own.accessName(at.tunnel.name, at.route.name),
  ].filter((x): x is string => !!x);

/** Live tunnels whose Cloudflare tunnel is not in the listing (looked at again by name before they are forgotten). */
export const missingTunnels = (tunnels: readonly ResyncTunnel[], listed: ReadonlySet<string>) =>
  tunnels.filter((t) => t.cfTunnelId && !t.deleting && !listed.has(t.cfTunnelId));

/** Remote-configured tunnels whose configuration can be compared (a sample of them is read). */
export const comparableConfigs = (tunnels: readonly ResyncTunnel[], listed: ReadonlySet<string>) =>
  tunnels.filter(
    (t) =>
      !t.deleting && t.configMode === 'remote' && t.cfTunnelId && listed.has(t.cfTunnelId) && t.configHash,
  );

/** Our Cloudflare tunnels that no row names, by id or by name. */
export function orphanTunnels(
  listed: ReadonlyArray<{ id: string; name: string; createdAt: string | null }>,
  tunnels: readonly ResyncTunnel[],
  own: Ownership,
): Orphan[] {
  const byCf = new Set(tunnels.flatMap((t) => (t.cfTunnelId ? [t.cfTunnelId] : [])));
  const byName = new Set(tunnels.map((t) => own.tunnelName(t.name)));
  return listed
    .filter((cf) => !byCf.has(cf.id) && !byName.has(cf.name))
    .map((cf) => ({
      kind: 'tunnel',
      id: cf.id,
      name: cf.name,
      tunnel: cf.name.slice(own.tunnelPrefix.length),
      route: null,
      createdAt: cf.createdAt,
    }));
}

/** Our Access applications and service tokens that no row accounts for. */
export function orphanAccess(
  apps: readonly AccessApp[],
  tokens: readonly ServiceToken[],
  claimed: ReadonlySet<string>,
  own: Ownership,
): Orphan[] {
  const one = (kind: Orphan['kind'], x: AccessApp | ServiceToken): Orphan => {
    const owner = parseAccessName(own, x.name);
    const { id, name, createdAt } = x;
    return { kind, id, name, tunnel: owner?.tunnel ?? null, route: owner?.route ?? null, createdAt };
  };
  const unclaimed = (x: { id: string; name: string }) => !claimed.has(x.id) && !claimed.has(x.name);
  return [
    ...apps.filter(unclaimed).map((a) => ({ ...one('access-app', a), domain: a.domain })),
    ...tokens.filter(unclaimed).map((t) => one('service-token', t)),
  ];
}

/** Our Kubernetes objects that no live TCP route wants. */
export function orphanKubernetes(objects: readonly ManagedObject[], wanted: ReadonlySet<string>): Orphan[] {
  return objects
    .filter((obj) => {
      const name = kubernetesName(obj);
      return !name || !wanted.has(name);
    })
    .map((obj) => {
      const owner = kubernetesOwner(obj);
      return {
        kind: 'kubernetes',
        id: obj.name,
        name: `${obj.kind}/${obj.name}`,
        tunnel: owner?.tunnel ?? null,
        route: owner?.route ?? null,
        objectKind: obj.kind,
        createdAt: obj.createdAt,
      };
    });
}
