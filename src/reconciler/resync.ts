/**
 * Full resync: the outside compared with the store, under a named lease (one replica at a
 * time; renewed while it runs, released when it ends). The outside is read before the store, so
 * nothing created meanwhile looks orphaned. One scan of the routes serves every check; what to
 * do is decided in resync-plan.ts. Drift is repaired where found, each repair written with its
 * tunnels' new generation (a resync that stops half-way still leaves the pass to finish); stuck
 * routes and tokens near expiry are requeued; provable orphans are collected (orphans.ts), all
 * held when there are too many. Anything without our marker is never touched.
 */
import type { RouteObjects } from '../domain/model.js';
import type { ResyncRepository, ResyncRoute, RoutePatch } from '../store/index.js';
import type { AccessApp, ServiceToken } from '../providers/cloudflare/index.js';
import type { ManagedObject } from '../providers/kubernetes/index.js';
import type { StepContext } from './context.js';
import { configHash } from './steps/config.js';
import { LEGACY_FIREWALL_KEY } from './pass.js';
import {
  classify,
  deleteOrphans,
  describeOrphans,
  tooMany,
  type Orphan,
  type OrphanPlan,
} from './orphans.js';
import {
  accessClaims,
  accessRepair,
  accessSuspect,
  checkRoute,
  classifyRecord,
  comparableConfigs,
  missingTunnels,
  orphanAccess,
  orphanKubernetes,
  orphanTunnels,
  emptyResyncResult,
  sample,
  type ResyncResult,
  type RouteFacts,
} from './resync-plan.js';

export type { ResyncResult } from './resync-plan.js';

export interface ResyncHooks {
  /** After each resync, with its result (metrics). */
  resynced?(result: ResyncResult): void;
}

const LOOKUP_CHUNK = 500;

export function createResync(ctx: StepContext, repo: ResyncRepository, hooks: ResyncHooks = {}) {
  const { cloudflare, kubernetes, ownership, logger, options: o } = ctx;

  /**
   * Every orphan candidate (ours by marker, no row), from one listing of each kind; with
   * `write`, the drift found is repaired as it is found (each repair with its tunnels' new
   * generation, work-repository's `repair`), else (`tunnelplane gc`'s plan) nothing is written.
   */
  async function survey(
    result: ResyncResult,
    requeue: Set<string>,
    opts: { write: boolean; checkConfigs: boolean },
  ) {
    const candidates: Orphan[] = [];
    const fail = (what: string, err: unknown) => {
      result.failed++;
      logger.warn({ err: (err as Error).message }, `resync: ${what} failed; will try again`);
    };
    /** Tunnels requeued by a repair (with it, in one transaction). */
    const repaired = new Set<string>();
    const repair = async (r: Parameters<typeof ctx.work.repair>[0]) => {
      if (opts.write) for (const id of await ctx.work.repair(r)) repaired.add(id);
    };

    // Outside first: tunnels, then records page by page (each compared with the routes at its names).
    let cfTunnels: Array<{ id: string; name: string; createdAt: string | null }> | null = null;
    try {
      cfTunnels = (await cloudflare.listTunnels(ownership.tunnelPrefix)).map(({ id, name, createdAt }) => ({
        id,
        name,
        createdAt,
      }));
    } catch (err) {
      fail('listing tunnels', err);
    }
    const intact = new Set<string>();
    /** Our records at a live route's name, with its marker, that are not its record: duplicates once its own is intact. */
    const duplicates: Array<{ orphan: Orphan; recordId: string }> = [];
    /** The zones whose records were all listed (a route's record is taken for gone only in one of them). */
    const recordsListed = new Set<string>();
    // Each zone on its own: a zone that cannot be listed leaves the others' checks standing.
    for (const zone of ctx.zones.all) {
      try {
        const orphanRecords = new Map<string, Orphan>();
        for await (const page of cloudflare
          .zone(zone.id)
          .pagesByComment(ownership.dnsCommentPrefix, o.resyncRecordsPerPage)) {
          while (page.length > 0) {
            const chunk = page.splice(0, LOOKUP_CHUNK);
            const hostnames = [...new Set(chunk.map((rec) => rec.name))];
            const byHost = new Map(
              (await repo.routesAtHostnames(hostnames)).map((r) => [r.route.hostname, r]),
            );
            for (const rec of chunk) {
              const verdict = classifyRecord(rec, byHost.get(rec.name), ownership, zone.name);
              if (verdict.kind === 'intact') intact.add(rec.id);
              else if (verdict.kind === 'orphan') orphanRecords.set(rec.id, verdict.orphan);
              else if (verdict.kind === 'duplicate') duplicates.push(verdict);
            }
          }
        }
        candidates.push(...orphanRecords.values());
        recordsListed.add(zone.name);
      } catch (err) {
        fail(`listing DNS records of zone ${zone.name}`, err);
      }
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
    const accessListing = apps &&
      tokens && { apps: new Map(apps.map((a) => [a.id, a])), tokenIds: new Set(tokens.map((t) => t.id)) };
    const facts: RouteFacts = {
      recordsListed,
      intact,
      tokenExpiry: tokens && new Map(tokens.map((t) => [t.id, t.expiresAt])),
      renewBefore: Date.now() + o.tokenRenewBeforeMs,
      kubernetesListed: objects !== null,
    };
    const claimedAccess = new Set<string>();
    const k8sWanted = new Set<string>();
    let unprotectedAllowLists = 0;
    const suspects: Array<{
      r: ResyncRoute['route'];
      lostApp: boolean;
      lostToken: boolean;
      editedPolicies: boolean;
    }> = [];

    for await (const page of repo.routePages(o.resyncRoutesPerPage)) {
      const repairs: RoutePatch[] = [];
      const learnt: RoutePatch[] = [];
      for (const at of page) {
        const { route: r } = at;
        const check = checkRoute(at, facts);
        const patch = (objects: Partial<RouteObjects>) => ({ tunnelId: r.tunnelId, routeId: r.id, objects });
        if (check.repair) repairs.push(patch(check.repair));
        else if (check.requeue) requeue.add(r.tunnelId);
        if (check.fact) learnt.push(patch(check.fact));
        if (check.expiring) result.expiringTokens++;
        if (check.unprotectedAllowList) unprotectedAllowLists++;
        if (check.kubernetesWanted) k8sWanted.add(check.kubernetesWanted);
        if (accessListing) {
          for (const claim of accessClaims(at, ownership)) claimedAccess.add(claim);
          const suspect = accessSuspect(at, accessListing);
          if (suspect) suspects.push({ r, ...suspect });
        }
      }
      await repair({ routes: repairs });
      if (opts.write) await ctx.work.patchRoutes(learnt);
    }

    // An object missing from the listing may have been made after it (the listing came first):
    // each is looked at once more, by id, before it is taken for lost.
    const accessRepairs: RoutePatch[] = [];
    for (const { r, lostApp, lostToken, editedPolicies } of suspects) {
      const app = lostApp && !(await cloudflare.getAccessApp(r.objects.accessAppId!).catch(() => true));
      const token =
        lostToken && !(await cloudflare.getServiceToken(r.objects.serviceTokenId!).catch(() => true));
      const objects = accessRepair({ app, token, editedPolicies });
      if (objects) accessRepairs.push({ tunnelId: r.tunnelId, routeId: r.id, objects });
    }
    await repair({ routes: accessRepairs });

    if (cfTunnels && liveCf) {
      // Drift: a tunnel deleted by hand is created again (with the same secret).
      for (const t of missingTunnels(tunnels, liveCf)) {
        // Made after the listing? Look once more, by name.
        const found = await cloudflare.findTunnel(ownership.tunnelName(t.name)).catch(() => undefined);
        if (found === undefined || found?.id === t.cfTunnelId) continue;
        await repair({ forgetTunnels: [t.id] });
        if (opts.write)
          await ctx.events.append({
            ownerId: t.ownerId,
            actor: 'reconciler',
            action: 'tunnel.recreate',
            target: t.name,
            outcome: 'ok',
            details: { missingCloudflareId: t.cfTunnelId },
          });
      }
      candidates.push(...orphanTunnels(cfTunnels, tunnels, ownership));
      // Drift: a remote configuration edited by hand. Reading one costs a call, so each resync
      // checks a random sample within its budget; over a few resyncs every tunnel is seen.
      if (opts.checkConfigs) {
        for (const t of sample(comparableConfigs(tunnels, liveCf), o.resyncConfigChecks)) {
          try {
            const cfg = await cloudflare.getConfiguration(t.cfTunnelId!);
            const seen = cfg?.ingress.map((i) =>
              i.hostname ? { hostname: i.hostname, service: i.service } : { service: i.service },
            );
            // Keep a version so the next pass pushes ours back even when the tunnel has no routes.
            if (!seen || configHash(seen) !== t.configHash)
              await repair({ forgetConfigs: [{ tunnelId: t.id, version: cfg?.version ?? 0 }] });
          } catch (err) {
            fail(`reading the configuration of ${t.name}`, err);
          }
        }
      }
    }
    if (apps && tokens) candidates.push(...orphanAccess(apps, tokens, claimedAccess, ownership));
    candidates.push(...orphanKubernetes(objects ?? [], k8sWanted));
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
    return { candidates, vouched, ours, unprotectedAllowLists, repaired };
  }

  /** Removes the allow-list WAF rules of installations from before per-route Access, once every allow-list is in Access. */
  async function retireLegacyFirewall(unprotectedAllowLists: number): Promise<boolean> {
    if ((await ctx.settings.get(LEGACY_FIREWALL_KEY)) === null || unprotectedAllowLists > 0) return false;
    // Older installations had one zone; its rules are looked for in every zone configured now.
    for (const zone of ctx.zones.all) {
      const firewall = cloudflare.zone(zone.id);
      const entry = await firewall.getFirewallEntrypoint();
      for (const rule of entry?.rules ?? [])
        if (rule.ref.startsWith(ownership.firewallRefPrefix))
          await firewall.deleteFirewallRule(entry!.id, rule.id!);
    }
    await ctx.settings.set(LEGACY_FIREWALL_KEY, null);
    logger.info({}, 'allow-lists are all in Access now: removed the WAF rules that held them before');
    return true;
  }

  /** The orphan plan now, without deleting anything (`tunnelplane gc` shows it). */
  async function plan(): Promise<OrphanPlan & { ours: number }> {
    const scratch = emptyResyncResult();
    const { candidates, vouched, ours } = await survey(scratch, new Set(), {
      write: false,
      checkConfigs: false,
    });
    const plan = await classify(candidates, repo);
    return { collectable: [...vouched, ...plan.collectable], unvouched: plan.unvouched, ours };
  }

  async function collect(orphans: Orphan[], result: ResyncResult) {
    const { failed } = await deleteOrphans(orphans, { cloudflare, kubernetes, zones: ctx.zones });
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
    const result = emptyResyncResult();
    if (!(await ctx.leases.acquire('resync', o.owner, o.namedLeaseMs))) return { ...result, skipped: true };
    const renew = setInterval(
      () => ctx.leases.renew('resync', o.owner, o.namedLeaseMs).catch(() => undefined),
      Math.max(50, o.namedLeaseMs / 3),
    );
    try {
      const requeue = new Set<string>();
      const { candidates, vouched, ours, unprotectedAllowLists, repaired } = await survey(result, requeue, {
        write: true,
        checkConfigs: true,
      });
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
      for (const id of requeue) if (!repaired.has(id)) await ctx.work.requeue(id);
      result.requeued = new Set([...requeue, ...repaired]).size;
      if (Object.entries(result).some(([k, v]) => k !== 'unvouched' && k !== 'expiringTokens' && v)) {
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
      const result = emptyResyncResult();
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
