/**
 * Full resync: the outside compared with the store, under a named lease (one replica at a
 * time; renewed while it runs, released when it ends). The outside is read before the store it
 * is compared with, so nothing created meanwhile looks orphaned. It repairs drift (a deleted or
 * edited record comes back, a tunnel deleted by hand is recreated with the same secret, a remote
 * configuration or an Access application edited by hand is put back, pods are re-applied),
 * requeues routes stuck on something outside, renews service tokens nearing expiry, and collects
 * orphans that are provably ours (orphans.ts) — holding them all when there are too many.
 * Anything without our marker is never touched. One scan of the routes serves every check.
 */
import { tunnelCname } from '../domain/names.js';
import { isTcpLike, needsAccess } from '../domain/model.js';
import type { ResyncRepository, ResyncRoute } from '../store/index.js';
import type { AccessApp, ServiceToken } from '../providers/cloudflare/index.js';
import type { ManagedObject } from '../providers/kubernetes/index.js';
import type { StepContext } from './context.js';
import { policiesHash } from '../domain/access-policies.js';
import { configHash } from './steps/config.js';
import { LEGACY_FIREWALL_KEY } from './pass.js';
import { protectedNow } from './protection.js';
import {
  classify,
  deleteOrphans,
  describeOrphans,
  kubernetesName,
  kubernetesOwner,
  parseAccessName,
  tooMany,
  type Orphan,
  type OrphanPlan,
} from './orphans.js';

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

export interface ResyncHooks {
  /** After each resync, with its result (metrics). */
  resynced?(result: ResyncResult): void;
}

/** Up to `n` items chosen at random (all of them when there are few). */
function sample<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  const pool = [...items];
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n);
}

const LOOKUP_CHUNK = 500;

export function createResync(ctx: StepContext, repo: ResyncRepository, hooks: ResyncHooks = {}) {
  const { cloudflare, kubernetes, ownership, logger, options: o } = ctx;

  /** Every orphan candidate (ours by marker, no row), from one listing of each kind. */
  async function survey(result: ResyncResult, requeue: Set<string>, checkConfigs: boolean) {
    const candidates: Orphan[] = [];
    const fail = (what: string, err: unknown) => {
      result.failed++;
      logger.warn({ err: (err as Error).message }, `resync: ${what} failed; will try again`);
    };

    // Outside first: tunnels, then records page by page (each compared with the routes at its names).
    let cfTunnels: Array<{ id: string; name: string }> | null = null;
    try {
      cfTunnels = (await cloudflare.listTunnels(ownership.tunnelPrefix)).map(({ id, name }) => ({
        id,
        name,
      }));
    } catch (err) {
      fail('listing tunnels', err);
    }
    const intact = new Set<string>();
    /** Our records at a live route's name, with its marker, that are not its record: duplicates once its own is intact. */
    const duplicates: Array<{ orphan: Orphan; recordId: string }> = [];
    let recordsListed = false;
    try {
      const orphanRecords = new Map<string, Orphan>();
      for await (const page of cloudflare.pagesByComment(
        ownership.dnsCommentPrefix,
        o.resyncRecordsPerPage,
      )) {
        while (page.length > 0) {
          const chunk = page.splice(0, LOOKUP_CHUNK);
          const byHost = new Map(
            (await repo.routesAtHostnames([...new Set(chunk.map((rec) => rec.name))])).map((r) => [
              r.route.hostname,
              r,
            ]),
          );
          for (const rec of chunk) {
            const at = byHost.get(rec.name);
            const r = at?.route;
            const marker = ownership.parseDnsComment(rec.comment);
            const orphan: Orphan = {
              kind: 'dns',
              id: rec.id,
              name: rec.name,
              tunnel: marker?.tunnel ?? null,
              route: marker?.route ?? null,
            };
            if (!r) {
              orphanRecords.set(rec.id, orphan);
            } else if (r.objects.dnsRecordId === rec.id) {
              if (
                at!.tunnel.cfTunnelId &&
                rec.type === 'CNAME' &&
                rec.proxied &&
                rec.content === tunnelCname(at!.tunnel.cfTunnelId)
              )
                intact.add(rec.id);
            } else if (!r.objects.dnsUncertain) {
              const itsOwn = marker?.tunnel === at!.tunnel.name && marker.route === r.name;
              if (itsOwn && r.objects.dnsRecordId && !r.deleting && !at!.tunnel.deleting)
                duplicates.push({ orphan, recordId: r.objects.dnsRecordId });
              else if (!itsOwn || r.deleting || at!.tunnel.deleting) orphanRecords.set(rec.id, orphan);
              // Else the route lost its record and this one is its own: the pass adopts it.
            }
          }
        }
      }
      candidates.push(...orphanRecords.values());
      recordsListed = true;
    } catch (err) {
      fail('listing DNS records', err);
    }
    let apps: AccessApp[] | null = null;
    let tokens: ServiceToken[] | null = null;
    let objects: ManagedObject[] | null = null;
    try {
      apps = await cloudflare.listAccessApps(ownership.accessPrefix);
      tokens = await cloudflare.listServiceTokens(ownership.accessPrefix);
    } catch (err) {
      fail('listing Access objects', err);
    }
    if (kubernetes) {
      try {
        objects = await kubernetes.listManaged(ownership.kubernetesSelector);
      } catch (err) {
        fail('listing Kubernetes objects', err);
      }
    }

    // Then the store.
    const tunnels = await repo.tunnels();
    const liveCf = cfTunnels ? new Set(cfTunnels.map((t) => t.id)) : null;
    const appById = new Map((apps ?? []).map((a) => [a.id, a]));
    const tokenIds = new Set((tokens ?? []).map((t) => t.id));
    const tokenExpiry = new Map((tokens ?? []).map((t) => [t.id, t.expiresAt]));
    const listedAccessNames = new Set([...(apps ?? []), ...(tokens ?? [])].map((x) => x.name));
    const claimedAccess = new Set<string>();
    const k8sListed = new Set((objects ?? []).map(kubernetesName).filter((n): n is string => n !== null));
    const k8sWanted = new Set<string>();
    let unprotectedAllowLists = 0;
    const renewBefore = Date.now() + o.tokenRenewBeforeMs;
    const pendingAccess: Parameters<typeof ctx.work.patchRoutes>[0] = [];
    const suspects: Array<{
      r: ResyncRoute['route'];
      lostApp: boolean;
      lostToken: boolean;
      editedPolicies: boolean;
    }> = [];

    for await (const page of repo.routePages(o.resyncRoutesPerPage)) {
      for (const at of page) {
        const { route: r, tunnel: t } = at;
        const live = !r.deleting && !t.deleting;
        // Routes stuck on a foreign record or the zone's quota: try again (the record may be gone now).
        if (r.phase === 'error' && (r.objects.dnsUncertain || !r.objects.dnsRecordId) && live)
          requeue.add(r.tunnelId);
        // Drift: a live route's record vanished or was changed by hand.
        if (
          recordsListed &&
          live &&
          r.objects.dnsRecordId &&
          t.cfTunnelId &&
          !intact.has(r.objects.dnsRecordId)
        ) {
          await ctx.work.patchRoutes([
            { tunnelId: r.tunnelId, routeId: r.id, objects: { dnsRecordId: null, dnsUncertain: true } },
          ]);
          requeue.add(r.tunnelId);
        }
        accessDrift(at, live);
        if (live && r.allowIps && !isTcpLike(r) && !protectedNow(r)) unprotectedAllowLists++;
        // Cloudflare says when a token expires (it may have been changed there): that is what counts.
        const tokenId = r.objects.serviceTokenId;
        const expiresAt =
          tokenId && tokenExpiry.has(tokenId) ? tokenExpiry.get(tokenId)! : r.objects.serviceTokenExpiresAt;
        if (tokenId && tokenExpiry.has(tokenId) && expiresAt !== r.objects.serviceTokenExpiresAt) {
          await ctx.work.patchRoutes([
            { tunnelId: r.tunnelId, routeId: r.id, objects: { serviceTokenExpiresAt: expiresAt } },
          ]);
        }
        if (live && isTcpLike(r) && expiresAt && Date.parse(expiresAt) < renewBefore) {
          result.expiringTokens++;
          requeue.add(r.tunnelId);
        }
        if (objects && isTcpLike(r) && live) {
          const name = `tunnel-access-${r.name}-${t.name}`;
          if (k8sListed.has(name)) k8sWanted.add(name);
          // Re-apply every live route's objects: repairs hand edits and deletions (apply is idempotent).
          if (r.objects.k8sHash) {
            await ctx.work.patchRoutes([{ tunnelId: r.tunnelId, routeId: r.id, objects: { k8sHash: null } }]);
            requeue.add(r.tunnelId);
          }
        }
      }
    }

    /** Access objects a route names are never orphans; a live route's vanished or edited ones come back. */
    function accessDrift({ route: r, tunnel: t }: ResyncRoute, live: boolean) {
      if (!apps || !tokens) return;
      for (const id of [r.objects.accessAppId, r.objects.serviceTokenId]) if (id) claimedAccess.add(id);
      const name = ownership.accessName(t.name, r.name);
      if (listedAccessNames.has(name)) claimedAccess.add(name);
      if (!live || !needsAccess(r)) return;
      const app = r.objects.accessAppId ? appById.get(r.objects.accessAppId) : undefined;
      const lostApp = !!r.objects.accessAppId && !app;
      const lostToken = !!r.objects.serviceTokenId && !tokenIds.has(r.objects.serviceTokenId);
      const editedPolicies = !!app && policiesHash(app.policies) !== r.objects.accessPoliciesHash;
      if (lostApp || lostToken || editedPolicies) suspects.push({ r, lostApp, lostToken, editedPolicies });
    }
    // An object missing from the listing may have been made after it (the listing came first):
    // each is looked at once more, by id, before it is taken for lost.
    for (const { r, lostApp, lostToken, editedPolicies } of suspects) {
      const appGone = lostApp && !(await cloudflare.getAccessApp(r.objects.accessAppId!).catch(() => true));
      const tokenGone =
        lostToken && !(await cloudflare.getServiceToken(r.objects.serviceTokenId!).catch(() => true));
      if (!appGone && !tokenGone && !editedPolicies) continue;
      pendingAccess.push({
        tunnelId: r.tunnelId,
        routeId: r.id,
        objects: {
          ...(appGone ? { accessAppId: null, accessAud: null } : {}),
          ...(tokenGone
            ? {
                serviceTokenId: null,
                serviceTokenClientId: null,
                serviceTokenSealed: null,
                serviceTokenExpiresAt: null,
              }
            : {}),
          // A new token or edited policies: the application's policies are put again.
          accessPoliciesHash: null,
        },
      });
      requeue.add(r.tunnelId);
    }
    await ctx.work.patchRoutes(pendingAccess);

    if (cfTunnels && liveCf) {
      // Drift: a tunnel deleted by hand is created again (with the same secret).
      for (const t of tunnels) {
        if (!t.cfTunnelId || t.deleting || liveCf.has(t.cfTunnelId)) continue;
        // Made after the listing? Look once more, by name.
        const found = await cloudflare.findTunnel(ownership.tunnelName(t.name)).catch(() => undefined);
        if (found === undefined || found?.id === t.cfTunnelId) continue;
        await repo.forgetCloudflareTunnel(t.id);
        requeue.add(t.id);
        await ctx.events.append({
          ownerId: t.ownerId,
          actor: 'reconciler',
          action: 'tunnel.recreate',
          target: t.name,
          outcome: 'ok',
          details: { missingCloudflareId: t.cfTunnelId },
        });
      }
      const byCf = new Set(tunnels.flatMap((t) => (t.cfTunnelId ? [t.cfTunnelId] : [])));
      const byName = new Set(tunnels.map((t) => ownership.tunnelName(t.name)));
      for (const cf of cfTunnels) {
        if (byCf.has(cf.id) || byName.has(cf.name)) continue;
        candidates.push({
          kind: 'tunnel',
          id: cf.id,
          name: cf.name,
          tunnel: cf.name.slice(ownership.tunnelPrefix.length),
          route: null,
        });
      }
      // Drift: a remote configuration edited by hand. Reading one costs a call, so each resync
      // checks a random sample within its budget; over a few resyncs every tunnel is seen.
      if (checkConfigs) {
        const remote = tunnels.filter(
          (t) =>
            !t.deleting &&
            t.configMode === 'remote' &&
            t.cfTunnelId &&
            liveCf.has(t.cfTunnelId) &&
            t.configHash,
        );
        for (const t of sample(remote, o.resyncConfigChecks)) {
          try {
            const cfg = await cloudflare.getConfiguration(t.cfTunnelId!);
            const seen = cfg?.ingress.map((i) =>
              i.hostname ? { hostname: i.hostname, service: i.service } : { service: i.service },
            );
            if (!seen || configHash(seen) !== t.configHash) {
              // Keep a version so the next pass pushes ours back even when the tunnel has no routes.
              await ctx.work.setConfig(t.id, null, cfg?.version ?? 0);
              requeue.add(t.id);
            }
          } catch (err) {
            fail(`reading the configuration of ${t.name}`, err);
          }
        }
      }
    }
    if (apps && tokens) {
      for (const a of apps) {
        if (claimedAccess.has(a.id) || claimedAccess.has(a.name)) continue;
        const owner = parseAccessName(ownership, a.name);
        candidates.push({
          kind: 'access-app',
          id: a.id,
          name: a.name,
          tunnel: owner?.tunnel ?? null,
          route: owner?.route ?? null,
        });
      }
      for (const t of tokens) {
        if (claimedAccess.has(t.id) || claimedAccess.has(t.name)) continue;
        const owner = parseAccessName(ownership, t.name);
        candidates.push({
          kind: 'service-token',
          id: t.id,
          name: t.name,
          tunnel: owner?.tunnel ?? null,
          route: owner?.route ?? null,
        });
      }
    }
    for (const obj of objects ?? []) {
      const name = kubernetesName(obj);
      if (name && k8sWanted.has(name)) continue;
      const owner = kubernetesOwner(obj);
      candidates.push({
        kind: 'kubernetes',
        id: obj.name,
        name: `${obj.kind}/${obj.name}`,
        tunnel: owner?.tunnel ?? null,
        route: owner?.route ?? null,
        objectKind: obj.kind,
      });
    }
    // A duplicate is ours beyond doubt (our marker, naming a route we hold) once that route's own record is intact.
    const vouched = duplicates.filter((d) => intact.has(d.recordId)).map((d) => d.orphan);
    const ours =
      (cfTunnels?.length ?? 0) +
      intact.size +
      (apps?.length ?? 0) +
      (tokens?.length ?? 0) +
      (objects?.length ?? 0) +
      candidates.length +
      vouched.length;
    return { candidates, vouched, ours, unprotectedAllowLists };
  }

  /** Removes the allow-list WAF rules of installations from before per-route Access, once every allow-list is in Access. */
  async function retireLegacyFirewall(unprotectedAllowLists: number): Promise<boolean> {
    if ((await ctx.settings.get(LEGACY_FIREWALL_KEY)) === null || unprotectedAllowLists > 0) return false;
    const entry = await cloudflare.getFirewallEntrypoint();
    for (const rule of entry?.rules ?? [])
      if (rule.ref.startsWith(ownership.firewallRefPrefix))
        await cloudflare.deleteFirewallRule(entry!.id, rule.id!);
    await ctx.settings.set(LEGACY_FIREWALL_KEY, null);
    logger.info({}, 'allow-lists are all in Access now: removed the WAF rules that held them before');
    return true;
  }

  /** The orphan plan now, without deleting anything (`tunnelplane gc` shows it). */
  async function plan(): Promise<OrphanPlan & { ours: number }> {
    const scratch = emptyResult();
    const { candidates, vouched, ours } = await survey(scratch, new Set(), false);
    const plan = await classify(candidates, repo);
    return { collectable: [...vouched, ...plan.collectable], unvouched: plan.unvouched, ours };
  }

  const emptyResult = (): ResyncResult => ({
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

  async function collect(orphans: Orphan[], result: ResyncResult) {
    const { failed } = await deleteOrphans(orphans, {
      cloudflare,
      kubernetes,
      dnsBatchLimit: o.dnsBatchLimit,
    });
    const failedIds = new Set(failed.map((f) => f.orphan.id));
    for (const orphan of orphans) {
      if (failedIds.has(orphan.id)) continue;
      if (orphan.kind === 'dns') result.orphanRecords++;
      else if (orphan.kind === 'tunnel') result.orphanTunnels++;
      else if (orphan.kind === 'kubernetes') result.orphanKubernetes++;
      else result.orphanAccess++;
    }
    result.failed += failed.length;
    for (const f of failed.slice(0, 5))
      logger.warn({ err: f.error, orphan: f.orphan.name }, 'could not delete an orphan; will try again');
  }

  async function resync(): Promise<ResyncResult> {
    const result = emptyResult();
    if (!(await ctx.leases.acquire('resync', o.owner, o.namedLeaseMs))) return { ...result, skipped: true };
    const renew = setInterval(
      () => ctx.leases.renew('resync', o.owner, o.namedLeaseMs).catch(() => undefined),
      Math.max(50, o.namedLeaseMs / 3),
    );
    try {
      const requeue = new Set<string>();
      const { candidates, vouched, ours, unprotectedAllowLists } = await survey(result, requeue, true);
      const classified = await classify(candidates, repo);
      const collectable = [...vouched, ...classified.collectable];
      const unvouched = classified.unvouched;
      // Each candidate is checked against the store again just before it goes (a row may have
      // adopted it since its page was read): what still matches no live row is collected.
      const still = await stillOrphans(collectable);
      result.unvouched = unvouched.length;
      if (unvouched.length > 0) {
        logger.warn(
          { count: unvouched.length, objects: describeOrphans(unvouched) },
          "objects carry this installation's marker but nothing in its database vouches for them (a restored backup? a copied configuration?): left alone",
        );
      }
      if (
        still.length > 0 &&
        tooMany(still.length, ours, { maxDeletes: o.gcMaxDeletes, maxDeletePercent: o.gcMaxDeletePercent })
      ) {
        result.held = still.length;
        logger.error(
          { count: still.length, ours, objects: describeOrphans(still) },
          'resync would delete more objects than it may on its own: nothing deleted; review with `tunnelplane gc`, apply with `tunnelplane gc --confirm`',
        );
        await ctx.events.append({
          ownerId: null,
          actor: 'reconciler',
          action: 'resync.deletion_held',
          target: 'installation',
          outcome: 'error',
          details: { count: still.length, ours, sample: describeOrphans(still, 10) },
        });
      } else if (still.length > 0) {
        await collect(still, result);
      }
      try {
        result.legacyFirewallRemoved = await retireLegacyFirewall(unprotectedAllowLists);
      } catch (err) {
        result.failed++;
        logger.warn(
          { err: (err as Error).message },
          'could not remove the old allow-list WAF rules; will try again',
        );
      }
      await repo.pruneTombstones(new Date(Date.now() - o.tombstoneRetentionMs).toISOString());
      await ctx.events.prune(new Date(Date.now() - o.eventRetentionMs).toISOString());
      for (const id of requeue) await ctx.work.requeue(id);
      result.requeued = requeue.size;
      const changed =
        result.requeued ||
        result.orphanRecords ||
        result.orphanTunnels ||
        result.orphanAccess ||
        result.orphanKubernetes ||
        result.held ||
        result.legacyFirewallRemoved ||
        result.failed;
      if (changed) {
        logger.info(result, 'resync repaired drift');
        await ctx.events.append({
          ownerId: null,
          actor: 'reconciler',
          action: 'resync',
          target: 'zone',
          outcome: 'ok',
          details: { ...result },
        });
      }
      hooks.resynced?.(result);
      return result;
    } finally {
      clearInterval(renew);
      await ctx.leases.release('resync', o.owner).catch(() => undefined);
    }
  }

  /** DNS candidates whose hostname a route has adopted since its page was read are not orphans any more. */
  async function stillOrphans(orphans: Orphan[]): Promise<Orphan[]> {
    const records = orphans.filter((c) => c.kind === 'dns');
    if (records.length === 0) return orphans;
    const byHost = new Map(
      (await repo.routesAtHostnames([...new Set(records.map((c) => c.name))])).map((r) => [
        r.route.hostname,
        r.route,
      ]),
    );
    return orphans.filter((c) => {
      if (c.kind !== 'dns') return true;
      const r = byHost.get(c.name);
      return !r || (r.objects.dnsRecordId !== c.id && !r.objects.dnsUncertain);
    });
  }

  return {
    resync,
    plan,
    /** Deletes what a plan lists (`tunnelplane gc --confirm`); no bound applies: a person asked. */
    async apply(orphans: Orphan[]) {
      const result = emptyResult();
      await collect(await stillOrphans(orphans), result);
      await ctx.events.append({
        ownerId: null,
        actor: 'gc',
        action: 'gc.apply',
        target: 'installation',
        outcome: result.failed ? 'error' : 'ok',
        details: { ...result },
      });
      return result;
    },
  };
}

export type Resync = ReturnType<typeof createResync>;
