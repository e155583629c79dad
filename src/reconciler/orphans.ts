/**
 * Orphans: objects outside that carry this installation's marker but match no row. Only those
 * this installation can prove it made and no longer wants are collected: a tombstone names the
 * tunnel or route whose row it deleted, and the object was made before that (a name used again
 * after the deletion, by a later copy of this database, is not vouched for). Anything else
 * carrying our marker (a database restored from a backup, a configuration copied to a second
 * installation) is reported, never deleted. An Access application is kept while a DNS record
 * still stands at its hostname: deleting it would leave the record's service unprotected.
 * And a resync never deletes many at once on its own: above the bound it holds them all and
 * waits for `tunnelplane gc --confirm`.
 */
import { LABEL_ROUTE, LABEL_TUNNEL } from '../domain/access-objects.js';
import { accessObjectName } from '../domain/names.js';
import type { Ownership } from '../domain/ownership.js';
import type { Zones } from '../domain/zones.js';
import { byZone } from './steps/dns-plan.js';
import type { ResyncRepository } from '../store/index.js';
import type { CloudflareApi } from '../providers/cloudflare/index.js';
import type { KubernetesApi, ManagedObject } from '../providers/kubernetes/index.js';

export type OrphanKind = 'dns' | 'tunnel' | 'access-app' | 'service-token' | 'kubernetes';

export interface Orphan {
  kind: OrphanKind;
  /** The Cloudflare id (or the Kubernetes object name). */
  id: string;
  /** What a person recognises: hostname, tunnel name, object name. */
  name: string;
  /** The tunnel (and route) its marker names. */
  tunnel: string | null;
  route: string | null;
  /** For Kubernetes objects: which kind to delete. */
  objectKind?: ManagedObject['kind'];
  /** When it was made, as its provider says (null: unknown, so never vouched for). */
  createdAt: string | null;
  /** For Access applications: the hostname they protect. */
  domain?: string;
  /** For DNS records: the zone (apex name) it was listed in, where it is deleted. */
  zone?: string;
}

export interface OrphanPlan {
  /** Provably ours and no longer wanted: a tombstone names it. */
  collectable: Orphan[];
  /** Carries our marker, but nothing this database holds vouches for it. */
  unvouched: Orphan[];
}

/** `<tunnel>-<route>` after the access prefix; route names hold no '-', so the last one splits. */
export function parseAccessName(
  ownership: Ownership,
  name: string,
): { tunnel: string; route: string } | null {
  if (!name.startsWith(ownership.accessPrefix)) return null;
  const rest = name.slice(ownership.accessPrefix.length);
  const cut = rest.lastIndexOf('-');
  if (cut <= 0 || cut === rest.length - 1) return null;
  return { tunnel: rest.slice(0, cut), route: rest.slice(cut + 1) };
}

export function kubernetesOwner(o: Pick<ManagedObject, 'labels'>): { tunnel: string; route: string } | null {
  const tunnel = o.labels[LABEL_TUNNEL];
  const route = o.labels[LABEL_ROUTE];
  return tunnel && route ? { tunnel, route } : null;
}

export const kubernetesName = (o: { labels: Record<string, string> }) => {
  const owner = kubernetesOwner(o);
  return owner ? accessObjectName(owner.route, owner.tunnel) : null;
};

/** Splits candidates into collectable and unvouched by the tombstones of their tunnel or route. */
export async function classify(
  candidates: readonly Orphan[],
  resync: Pick<ResyncRepository, 'tombstoned'>,
): Promise<OrphanPlan> {
  const routeKeys = candidates.flatMap((c) => (c.tunnel && c.route ? [`${c.tunnel}/${c.route}`] : []));
  const tunnelKeys = candidates.flatMap((c) => (c.tunnel ? [c.tunnel] : []));
  const routes = await resync.tombstoned('route', routeKeys);
  const tunnels = await resync.tombstoned('tunnel', tunnelKeys);
  const plan: OrphanPlan = { collectable: [], unvouched: [] };
  /** Deleted after this object was made (the same name made again later vouches for nothing). */
  const after = (deletedAt: string | undefined, c: Orphan) =>
    deletedAt !== undefined && c.createdAt !== null && Date.parse(c.createdAt) <= Date.parse(deletedAt);
  for (const c of candidates) {
    const vouched =
      (c.route !== null && after(routes.get(`${c.tunnel}/${c.route}`), c)) ||
      (c.tunnel !== null && after(tunnels.get(c.tunnel), c));
    (vouched ? plan.collectable : plan.unvouched).push(c);
  }
  return plan;
}

/** Whether deleting `n` of `ours` objects is more than a resync may do without a person. */
export function tooMany(
  n: number,
  ours: number,
  bound: { maxDeletes: number; maxDeletePercent: number },
): boolean {
  return n > Math.max(bound.maxDeletes, Math.floor((ours * bound.maxDeletePercent) / 100));
}

/** Deletes orphans; returns how many went and the failures (retried at the next resync). */
export async function deleteOrphans(
  orphans: readonly Orphan[],
  deps: { cloudflare: CloudflareApi; kubernetes: KubernetesApi | null; zones: Zones },
): Promise<{ deleted: number; failed: Array<{ orphan: Orphan; error: string }> }> {
  let deleted = 0;
  const failed: Array<{ orphan: Orphan; error: string }> = [];
  // Each record in the zone it was listed in, in chunks of that zone's batch limit.
  for (const [zoneName, records] of byZone(
    orphans.flatMap((o) => (o.kind === 'dns' ? [{ ...o, zone: o.zone ?? '' }] : [])),
  )) {
    const zone = deps.zones.byName(zoneName);
    if (!zone) {
      for (const orphan of records)
        failed.push({ orphan, error: `zone ${zoneName || '(none)'} is not configured` });
      continue;
    }
    for (let i = 0; i < records.length; i += zone.dnsBatchLimit) {
      const chunk = records.slice(i, i + zone.dnsBatchLimit);
      try {
        await deps.cloudflare.zone(zone.id).batch({ deletes: chunk.map((r) => r.id) });
        deleted += chunk.length;
      } catch (err) {
        for (const orphan of chunk) failed.push({ orphan, error: (err as Error).message });
      }
    }
  }
  for (const o of orphans) {
    if (o.kind === 'dns') continue;
    try {
      // An application is kept while a record (anyone's) stands at its hostname, in the zone the
      // name is under; and while that zone is not configured (its records cannot be looked at).
      if (o.kind === 'access-app' && o.domain) {
        const zone = deps.zones.forHostname(o.domain);
        if (!zone) {
          failed.push({ orphan: o, error: `kept: ${o.domain} is in no configured zone` });
          continue;
        }
        if ((await deps.cloudflare.zone(zone.id).listByName(o.domain)).length > 0) {
          failed.push({ orphan: o, error: `kept: a DNS record still stands at ${o.domain}` });
          continue;
        }
      }
      if (o.kind === 'tunnel') {
        await deps.cloudflare.cleanConnections(o.id);
        await deps.cloudflare.deleteTunnel(o.id);
      } else if (o.kind === 'access-app') await deps.cloudflare.deleteAccessApp(o.id);
      else if (o.kind === 'service-token') await deps.cloudflare.deleteServiceToken(o.id);
      else if (deps.kubernetes && o.objectKind) await deps.kubernetes.remove(o.objectKind, o.id);
      deleted++;
    } catch (err) {
      failed.push({ orphan: o, error: (err as Error).message });
    }
  }
  return { deleted, failed };
}

/** A short, readable list of orphans for logs, events and `tunnelplane gc`. */
export const describeOrphans = (orphans: readonly Orphan[], max = 20) =>
  orphans
    .slice(0, max)
    .map((o) => `${o.kind} ${o.name}${o.kind === 'dns' || o.kind === 'kubernetes' ? '' : ` (${o.id})`}`);
