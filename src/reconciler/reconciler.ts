/**
 * The reconciler drives Cloudflare toward the desired state in the store.
 *
 * A pass claims dirty tunnels with a lease (so replicas never share one), then, for all of them
 * together: creates missing Cloudflare tunnels (adopting one that already carries our name),
 * applies every DNS change in as few batch calls as the plan allows, pushes one configuration
 * PUT per changed remote tunnel, and finishes deletions (DNS, connections, tunnel, then rows).
 * Each external effect is recorded as soon as it is known; a call whose outcome is unknown
 * marks its routes "uncertain", and the next pass looks before it writes again. Failures back
 * off exponentially with jitter, at least as long as Cloudflare's Retry-After.
 */
import { createHash } from 'node:crypto';
import { ProviderError } from '../domain/errors.js';
import { tunnelCname } from '../domain/names.js';
import type { Ownership } from '../domain/ownership.js';
import { DEFAULT_CLOUDFLARED_IMAGE } from '../domain/access-objects.js';
import { renderIngress } from '../domain/cloudflared-files.js';
import type { SecretBox } from '../domain/secret-box.js';
import type { Store, RouteRow } from '../store/index.js';
import type { CloudflareApi, CnameInput, DnsRecord } from '../providers/cloudflare/index.js';
import { mapLimit } from './map-limit.js';
import { fail, live, routeLive, type Work } from './work.js';
import { createTcpAccess, type TcpAccessSettings } from './tcp-access.js';
import { createFirewall } from './firewall.js';
import type { KubernetesApi } from '../providers/kubernetes/index.js';

export interface ReconcilerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ReconcilerOptions {
  /** Identifies this replica in leases. */
  owner: string;
  /** Tunnels claimed per pass. */
  claimLimit: number;
  leaseMs: number;
  /** DNS operations per batch call (the zone plan's limit: 200 on Free). */
  dnsBatchLimit: number;
  /** Concurrent Cloudflare calls for per-tunnel steps. */
  concurrency: number;
  /**
   * Changes are gathered before a pass: it starts once no change came for `debounceMs`, or
   * `maxDebounceMs` after the first one, so a burst of route changes costs one DNS batch and one
   * configuration PUT per tunnel instead of one per change.
   */
  debounceMs: number;
  maxDebounceMs: number;
  /**
   * A burst longer than `maxDebounceMs` would cost a configuration PUT per pass: the loop's pass
   * puts a remote tunnel's PUT off while the tunnel is still changing (it changed after the pass
   * read it, or more than once in a burst that goes on), at most this long after it was first
   * put off (in memory); DNS, tunnel creates and Access go ahead meanwhile. 0 never puts a PUT
   * off; `drain` and `pass` never do.
   */
  configMaxDelayMs: number;
  /** Poll for work from other replicas this often even without a wake-up. */
  pollMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Full resync (drift repair, orphan collection) period; 0 disables the timer. */
  resyncMs: number;
  /** Remote configurations read back per resync (each is one Cloudflare call). */
  resyncConfigChecks: number;
  /**
   * Resync holds one page at a time: our DNS records per listing call (each page is one
   * Cloudflare call, so large pages spare the API budget) and routes per store query.
   */
  resyncRecordsPerPage: number;
  resyncRoutesPerPage: number;
}

export const defaultReconcilerOptions: Omit<ReconcilerOptions, 'owner'> = {
  claimLimit: 500,
  leaseMs: 15_000,
  dnsBatchLimit: 200,
  concurrency: 16,
  debounceMs: 150,
  maxDebounceMs: 2000,
  configMaxDelayMs: 10_000,
  pollMs: 1000,
  backoffBaseMs: 250,
  backoffMaxMs: 60_000,
  resyncMs: 5 * 60_000,
  resyncConfigChecks: 50,
  resyncRecordsPerPage: 5000,
  resyncRoutesPerPage: 1000,
};

/** Records of a listing page compared with the store per query during resync. */
const LOOKUP_CHUNK = 500;

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

export interface ReconcilerHooks {
  pass?(stats: { tunnels: number; ms: number; failed: number }): void;
  queueDepth?(n: number): void;
}

export interface ReconcilerDeps {
  store: Store;
  cloudflare: CloudflareApi;
  secrets: SecretBox;
  logger: ReconcilerLogger;
  options: ReconcilerOptions;
  hooks?: ReconcilerHooks;
  /** Where TCP routes' access pods run; without it TCP routes are protected but not deployed. */
  kubernetes?: KubernetesApi | null;
  tcpAccess?: TcpAccessSettings;
  /** This installation's markers on what it makes. */
  ownership: Ownership;
}


export function configHash(ingress: unknown): string {
  return createHash('sha256').update(JSON.stringify(ingress)).digest('hex').slice(0, 32);
}

export function backoffMs(attempts: number, base: number, max: number, retryAfterMs: number | null, random = Math.random): number {
  const exp = Math.min(max, base * 2 ** Math.min(attempts, 20));
  const jittered = exp / 2 + random() * (exp / 2);
  return Math.max(Math.round(jittered), retryAfterMs ?? 0);
}

export function createReconciler(deps: ReconcilerDeps) {
  const { store, cloudflare, logger, options: o } = deps;
  const { tunnelName: cloudflareTunnelName, dnsComment, dnsCommentPrefix, tunnelPrefix } = deps.ownership;
  let running = false;
  let wake: (() => void) | null = null;
  let woken = false;
  let loopDone: Promise<void> = Promise.resolve();
  let resyncTimer: NodeJS.Timeout | null = null;
  let passInFlight: Promise<number> | null = null;

  let lastDesiredAt = 0;
  /**
   * This process's desired-state changes (other replicas' are not seen here, so they never put
   * anything off): per tunnel, how many since the installation was last quiet for `debounceMs`
   * (the current burst), and when the last came (kept until a pass starts after it).
   */
  const burst = new Map<string, number>();
  const changedAt = new Map<string, number>();
  /** When each remote tunnel's configuration PUT was first put off (kept until it is pushed). */
  const deferredSince = new Map<string, number>();
  const onDesired = (tunnelId?: unknown) => {
    const now = Date.now();
    if (now - lastDesiredAt >= o.debounceMs) burst.clear();
    lastDesiredAt = now;
    if (typeof tunnelId === 'string') {
      burst.set(tunnelId, (burst.get(tunnelId) ?? 0) + 1);
      changedAt.set(tunnelId, now);
    }
    woken = true;
    wake?.();
  };

  /**
   * Whether a gathering pass that read its tunnels at `readAt` should put this tunnel's
   * configuration PUT off: the tunnel changed since it was read (the PUT would be stale at
   * once), or changes keep coming and this tunnel is one of the burst's (changed more than
   * once in it) — bounded by `configMaxDelayMs` from the first time it was put off.
   */
  function deferConfig(tunnelId: string, readAt: number): boolean {
    if (o.configMaxDelayMs <= 0) return false;
    const now = Date.now();
    const stale = (changedAt.get(tunnelId) ?? -Infinity) >= readAt;
    const ongoing = now - lastDesiredAt < o.debounceMs && (deferredSince.has(tunnelId) || (burst.get(tunnelId) ?? 0) > 1);
    if (!stale && !ongoing) return false;
    const since = deferredSince.get(tunnelId);
    if (since === undefined) {
      deferredSince.set(tunnelId, now);
      return true;
    }
    return now - since < o.configMaxDelayMs;
  }

  const firewall = createFirewall({ store, cloudflare, owner: o.owner, ownership: deps.ownership });
  const tcp = createTcpAccess({
    store,
    cloudflare,
    secrets: deps.secrets,
    kubernetes: deps.kubernetes ?? null,
    settings: deps.tcpAccess ?? { image: DEFAULT_CLOUDFLARED_IMAGE, replicas: 1, port: 10000 },
    concurrency: o.concurrency,
    routesPerPage: o.resyncRoutesPerPage,
    ownership: deps.ownership,
    logger,
  });

  /** Step 1: every live tunnel has a Cloudflare tunnel; a name conflict means ours exists: adopt it. */
  async function ensureTunnels(work: Work[]) {
    const missing = work.filter((w) => !w.tunnel.cf_tunnel_id && !w.outcome);
    await mapLimit(missing, o.concurrency, async (w) => {
      const cfName = cloudflareTunnelName(w.tunnel.name);
      try {
        if (w.tunnel.deleting) {
          // A crash may have created it before we recorded the id: look, to delete it too.
          const found = await cloudflare.findTunnel(cfName);
          if (found) w.tunnel.cf_tunnel_id = found.id;
          return;
        }
        const secret = deps.secrets.open(w.tunnel.secret_sealed);
        let id: string;
        try {
          id = (await cloudflare.createTunnel(cfName, secret, w.tunnel.config_mode === 'remote' ? 'cloudflare' : 'local')).id;
        } catch (err) {
          if (!(err instanceof ProviderError && err.kind === 'conflict')) throw err;
          const found = await cloudflare.findTunnel(cfName);
          if (!found) throw err;
          id = found.id;
          logger.info({ tunnel: w.tunnel.name, cloudflareId: id }, 'adopted existing Cloudflare tunnel');
        }
        await store.work.setCloudflareId(w.tunnel.id, id);
        w.tunnel.cf_tunnel_id = id;
      } catch (err) {
        fail(w, err);
      }
    });
  }

  /**
   * Step 2: DNS. Routes whose last create or delete may or may not have happened are looked up
   * first (one listing of our records for the whole zone); then all changes go out in batches.
   */
  async function reconcileDns(work: Work[]) {
    const active = work.filter((w) => !w.outcome && (w.tunnel.cf_tunnel_id || w.tunnel.deleting));
    const needsLookup = active.some((w) => w.routes.some((r) => r.dns_uncertain));
    let existing: Map<string, DnsRecord[]> | null = null;
    if (needsLookup) {
      try {
        existing = new Map();
        for (const rec of await lookupNames(active)) {
          const list = existing.get(rec.name) ?? [];
          list.push(rec);
          existing.set(rec.name, list);
        }
      } catch (err) {
        for (const w of active) if (w.routes.some((r) => r.dns_uncertain)) fail(w, err);
        return;
      }
    }

    interface Op {
      w: Work;
      route: RouteRow;
      kind: 'delete' | 'post' | 'patch';
      id?: string;
      record: CnameInput;
    }
    const ops: Op[] = [];
    for (const w of active) {
      if (w.outcome) continue;
      for (const r of w.routes) {
        const wanted: CnameInput | null = w.tunnel.cf_tunnel_id
          ? { name: r.hostname, content: tunnelCname(w.tunnel.cf_tunnel_id), comment: dnsComment(w.tunnel.name, r.name) }
          : null;
        const keep = routeLive(w, r);
        if (r.dns_uncertain && existing) {
          const atName = existing.get(r.hostname) ?? [];
          const ours = atName.find((rec) => rec.comment === dnsComment(w.tunnel.name, r.name));
          const foreign = atName.find((rec) => rec !== ours);
          if (!keep) {
            if (ours) ops.push({ w, route: r, kind: 'delete', id: ours.id, record: wanted ?? { name: r.hostname, content: '', comment: '' } });
            else {
              r.dns_record_id = null;
              r.dns_uncertain = 0;
              await store.work.setRouteDns(r.id, null, false);
            }
            continue;
          }
          if (ours && wanted) {
            if (ours.content !== wanted.content || !ours.proxied || ours.type !== 'CNAME') {
              ops.push({ w, route: r, kind: 'patch', id: ours.id, record: wanted });
            } else {
              r.dns_record_id = ours.id;
              r.dns_uncertain = 0;
              await store.work.setRouteDns(r.id, ours.id, false);
            }
            continue;
          }
          if (foreign) {
            // Someone else's record holds the name: this route cannot go live, the others can.
            const message = `DNS name ${r.hostname} already has a ${foreign.type} record not managed by Tunnelplane; it is left untouched. Delete it or choose another route name.`;
            if (r.phase !== 'error' || r.last_error !== message) {
              await store.work.routeError(r.id, message);
              r.phase = 'error';
              r.last_error = message;
            }
            continue;
          }
          if (wanted && tcp.accessReady(r)) ops.push({ w, route: r, kind: 'post', record: wanted });
          continue;
        }
        if (!keep) {
          if (r.dns_record_id) ops.push({ w, route: r, kind: 'delete', id: r.dns_record_id, record: wanted ?? { name: r.hostname, content: '', comment: '' } });
        } else if (!r.dns_record_id && wanted && tcp.accessReady(r)) {
          ops.push({ w, route: r, kind: 'post', record: wanted });
        }
      }
    }
    // Routes of a tunnel that failed above do not go out.
    const pending = ops.filter((op) => !op.w.outcome);
    if (pending.length === 0) return;

    // Record the intent first: if we crash or the answer is lost, the next pass looks first.
    await store.work.markRoutesUncertain(pending.map((op) => op.route.id));
    for (const op of pending) op.route.dns_uncertain = 1;

    for (let i = 0; i < pending.length; i += o.dnsBatchLimit) {
      const chunk = pending.slice(i, i + o.dnsBatchLimit);
      const deletes = chunk.filter((op) => op.kind === 'delete');
      const patches = chunk.filter((op) => op.kind === 'patch');
      const posts = chunk.filter((op) => op.kind === 'post');
      try {
        const res = await cloudflare.batch({
          deletes: deletes.map((op) => op.id!),
          patches: patches.map((op) => ({ id: op.id!, ...op.record })),
          posts: posts.map((op) => op.record),
        });
        for (const op of deletes) {
          op.route.dns_record_id = null;
          op.route.dns_uncertain = 0;
          await store.work.setRouteDns(op.route.id, null, false);
        }
        for (const op of patches) {
          op.route.dns_record_id = op.id!;
          op.route.dns_uncertain = 0;
          await store.work.setRouteDns(op.route.id, op.id!, false);
        }
        for (const [j, op] of posts.entries()) {
          const rec = res.posts[j];
          if (!rec?.id) {
            fail(op.w, new Error(`Cloudflare's batch answer has no record for ${op.record.name}`));
            continue;
          }
          op.route.dns_record_id = rec.id;
          op.route.dns_uncertain = 0;
          await store.work.setRouteDns(op.route.id, rec.id, false);
        }
      } catch (err) {
        if (rejected(err)) {
          // A definite refusal of an all-or-nothing batch: nothing was written, no need to look.
          for (const op of chunk) {
            if (op.kind === 'patch') continue; // the record is there, as it was: the look settles it
            // A refused delete leaves its record (known by id); a refused create made none.
            op.route.dns_record_id = op.kind === 'delete' ? op.id! : null;
            op.route.dns_uncertain = 0;
            await store.work.setRouteDns(op.route.id, op.route.dns_record_id, false);
          }
          if (isRecordQuota(err)) {
            await quotaExhausted(posts, [...deletes, ...patches], (err as Error).message);
            continue;
          }
        }
        // Otherwise the answer may have been lost: the routes stay uncertain and the next pass
        // looks before writing. A conflict (one name taken by a foreign record) is found by that
        // look and confined to its route, so it is retried soon rather than failing every tunnel
        // of the batch for good.
        const e = err instanceof ProviderError && err.kind === 'conflict'
          ? new ProviderError({ provider: 'cloudflare', kind: 'transient', message: err.message, status: err.status, providerCode: err.providerCode, cause: err })
          : err;
        for (const op of chunk) fail(op.w, e);
      }
    }

    /**
     * The zone holds no more records: the new names are the routes' own errors (their tunnels
     * go on; a resync tries them again, once a batch, after records are freed). The deletes and
     * patches refused with them go again on their own: a delete frees quota.
     */
    async function quotaExhausted(posts: Op[], others: Op[], cause: string) {
      const message = `The DNS zone's record quota is used up, so no record was created for this route's hostname (${cause}). Delete unused routes or records, or move the zone to a plan with more records; the route is tried again at the next resync.`;
      for (const op of posts) {
        await store.work.routeError(op.route.id, message);
        op.route.phase = 'error';
        op.route.last_error = message;
      }
      if (others.length === 0) return;
      await store.work.markRoutesUncertain(others.map((op) => op.route.id));
      for (const op of others) op.route.dns_uncertain = 1;
      try {
        await cloudflare.batch({
          deletes: others.filter((op) => op.kind === 'delete').map((op) => op.id!),
          patches: others.filter((op) => op.kind === 'patch').map((op) => ({ id: op.id!, ...op.record })),
          posts: [],
        });
        for (const op of others) {
          op.route.dns_record_id = op.kind === 'delete' ? null : op.id!;
          op.route.dns_uncertain = 0;
          await store.work.setRouteDns(op.route.id, op.route.dns_record_id, false);
        }
      } catch (err) {
        for (const op of others) fail(op.w, err);
      }
    }
  }

  /**
   * Cloudflare answered and refused the request as such: not a lost answer, a timeout or a rate
   * limit, and not a 404 or a conflict (those say something about one record: the look finds it).
   */
  function rejected(err: unknown): boolean {
    return err instanceof ProviderError && (err.kind === 'invalid' || err.kind === 'permission');
  }

  /** The zone's record quota (code 81045 "Record quota exceeded."; the code is matched with the wording). */
  function isRecordQuota(err: unknown): boolean {
    return err instanceof ProviderError && (err.providerCode === 81045 || /record quota/i.test(err.message));
  }

  /** Our records at the uncertain names: one zone-wide listing by our comment marker, or per name when few. */
  async function lookupNames(active: Work[]): Promise<DnsRecord[]> {
    const names = active.flatMap((w) => w.routes.filter((r) => r.dns_uncertain).map((r) => r.hostname));
    if (names.length <= 3) {
      const out: DnsRecord[] = [];
      for (const name of names) out.push(...(await cloudflare.listByName(name)));
      return out;
    }
    // Streamed: only the records at the wanted names are kept, not the zone.
    const wanted = new Set(names);
    const out: DnsRecord[] = [];
    for await (const page of cloudflare.pagesByComment(dnsCommentPrefix)) for (const r of page) if (wanted.has(r.name)) out.push(r);
    // A foreign record at one of our names has no marker; list those names individually.
    const seen = new Set(out.map((r) => r.name));
    for (const name of names) if (!seen.has(name)) out.push(...(await cloudflare.listByName(name)));
    return out;
  }

  /**
   * Step 3: one configuration PUT per live remote tunnel whose ingress changed. A gathering pass
   * (the loop's; `readAt` is when it read its tunnels) puts a PUT off while the burst goes on.
   */
  async function pushConfigurations(work: Work[], readAt: number | null) {
    const targets = work.filter((w) => !w.outcome && live(w) && w.tunnel.config_mode === 'remote' && w.tunnel.cf_tunnel_id);
    await mapLimit(targets, o.concurrency, async (w) => {
      const liveRoutes = w.routes.filter((r) => !r.deleting);
      // A new tunnel without routes needs no configuration yet: there is nothing to route or remove.
      if (liveRoutes.length === 0 && w.tunnel.config_version === null) return;
      const ingress = renderIngress(liveRoutes);
      const hash = configHash(ingress);
      if (hash === w.tunnel.config_hash) return;
      if (readAt !== null && deferConfig(w.tunnel.id, readAt)) {
        w.outcome = { kind: 'deferred' };
        return;
      }
      try {
        const { version } = await cloudflare.putConfiguration(w.tunnel.cf_tunnel_id!, ingress);
        await store.work.setConfig(w.tunnel.id, hash, version);
        w.tunnel.config_hash = hash;
        deferredSince.delete(w.tunnel.id);
      } catch (err) {
        fail(w, err);
      }
    });
  }

  /** Step 4: deleted tunnels: connections cleaned, the Cloudflare tunnel deleted, then the rows. */
  async function finishDeletions(work: Work[]) {
    const targets = work.filter(
      (w) => !w.outcome && w.tunnel.deleting && w.routes.every((r) => !r.dns_record_id && !r.dns_uncertain && tcp.accessGone(r)),
    );
    await mapLimit(targets, o.concurrency, async (w) => {
      try {
        if (w.tunnel.cf_tunnel_id) {
          await cloudflare.cleanConnections(w.tunnel.cf_tunnel_id);
          await cloudflare.deleteTunnel(w.tunnel.cf_tunnel_id);
        }
        await store.work.deleteTunnel(w.tunnel);
        await store.events.append({
          ownerId: w.tunnel.owner_id,
          actor: 'reconciler',
          action: 'tunnel.deleted',
          target: w.tunnel.name,
          outcome: 'ok',
          details: { cloudflareId: w.tunnel.cf_tunnel_id },
        });
        w.outcome = { kind: 'done' };
      } catch (err) {
        fail(w, err);
      }
    });
  }

  async function record(work: Work[]) {
    for (const w of work) {
      if (w.outcome?.kind === 'done') {
        deferredSince.delete(w.tunnel.id);
        continue; // deleted
      }
      // Put off: not converged (its generation stays behind) and not failed (no backoff).
      if (w.outcome?.kind === 'deferred') continue;
      if (w.outcome?.kind === 'failed') {
        const err = w.outcome.error;
        const pe = err instanceof ProviderError ? err : null;
        const terminal = pe ? !pe.retryable : false;
        const wait = backoffMs(w.tunnel.attempts, o.backoffBaseMs, o.backoffMaxMs, pe?.retryAfterMs ?? null);
        await store.work.failed(w.tunnel, err.message, wait, terminal, w.routes.map((r) => r.id));
        if (w.tunnel.attempts === 0 || terminal) {
          await store.events.append({
            ownerId: w.tunnel.owner_id,
            actor: 'reconciler',
            action: w.tunnel.deleting ? 'tunnel.delete' : 'tunnel.reconcile',
            target: w.tunnel.name,
            outcome: 'error',
            details: { error: err.message, retryInMs: wait },
          });
        }
        const entry = { tunnel: w.tunnel.name, attempts: w.tunnel.attempts + 1, retryInMs: wait, err: err.message };
        if (terminal) logger.error(entry, 'reconcile failed');
        else logger.warn(entry, 'reconcile failed');
        continue;
      }
      const gone = w.routes.filter((r) => r.deleting && !r.dns_record_id && !r.dns_uncertain && tcp.accessGone(r));
      await store.work.deleteRoutes(gone.map((r) => r.id));
      const ready = w.routes.filter((r) => !r.deleting && r.dns_record_id && !r.dns_uncertain && tcp.routeReady(r)).map((r) => r.id);
      await store.work.converged(w.tunnel, ready);
      if (w.tunnel.observed_generation === 0) {
        await store.events.append({
          ownerId: w.tunnel.owner_id,
          actor: 'reconciler',
          action: 'tunnel.ready',
          target: w.tunnel.name,
          outcome: 'ok',
          details: { cloudflareId: w.tunnel.cf_tunnel_id },
        });
      }
    }
  }

  /**
   * One pass over whatever is claimable now; returns how many tunnels it handled (put-off ones
   * too, so the loop keeps passing until they are pushed). `gathering`: the loop's passes, which
   * may put configuration PUTs off during a burst.
   */
  async function runPass(gathering: boolean): Promise<number> {
    const readAt = Date.now();
    // Passes run one at a time: a change before this one's read can never be "after" a later one's.
    for (const [id, at] of changedAt) if (at < readAt) changedAt.delete(id);
    // Forget put-off tunnels this replica no longer sees (another replica pushed them).
    for (const [id, at] of deferredSince) if (readAt - at > 2 * o.configMaxDelayMs) deferredSince.delete(id);
    const claimed = await store.work.claim(o.owner, o.claimLimit, o.leaseMs);
    if (claimed.length === 0) return 0;
    const started = performance.now();
    const routes = await store.tunnels.routesOf(claimed.map((t) => t.id));
    const work: Work[] = claimed.map((tunnel) => ({ tunnel, routes: routes.get(tunnel.id) ?? [], outcome: null }));
    // Keep the claim alive while the pass runs (rate-limit waits can be long).
    const keepAlive = setInterval(() => {
      store.work.extend(claimed.map((t) => t.id), o.owner, o.leaseMs).catch(() => undefined);
    }, Math.max(50, o.leaseMs / 3));
    try {
      await ensureTunnels(work);
      await tcp.removeKubernetes(work);
      await tcp.ensureAccess(work);
      await firewall.sync(work);
      await reconcileDns(work);
      await firewall.sync(work);
      await pushConfigurations(work, gathering ? readAt : null);
      await tcp.applyKubernetes(work);
      await tcp.removeAccess(work);
      await finishDeletions(work);
      await record(work);
    } finally {
      clearInterval(keepAlive);
      for (const w of work) if (w.outcome?.kind !== 'done') await store.work.release(w.tunnel.id, o.owner);
    }
    const failed = work.filter((w) => w.outcome?.kind === 'failed').length;
    deps.hooks?.pass?.({ tunnels: work.length, ms: performance.now() - started, failed });
    if (deps.hooks?.queueDepth) deps.hooks.queueDepth((await store.tunnels.count()).dirty);
    return work.length;
  }

  /** Runs passes until nothing is claimable (tests and `dev` use it to converge on demand). */
  async function drain(): Promise<void> {
    while ((await pass()) > 0) {
      // keep going
    }
  }

  function pass(gathering = false): Promise<number> {
    if (!passInFlight) {
      passInFlight = runPass(gathering).finally(() => {
        passInFlight = null;
      });
    }
    return passInFlight;
  }

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (woken) return resolve();
      const timer = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(timer);
        wake = null;
        resolve();
      };
    });

  /** Waits for a quiet moment in the stream of desired-state changes (bounded). */
  async function settle() {
    const started = Date.now();
    for (;;) {
      const now = Date.now();
      const quietFor = now - lastDesiredAt;
      const left = o.maxDebounceMs - (now - started);
      if (quietFor >= o.debounceMs || left <= 0 || !running) return;
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(o.debounceMs - quietFor, left))));
    }
  }

  async function loop() {
    while (running) {
      woken = false;
      let handled = 0;
      try {
        handled = await pass(true);
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'reconciler pass crashed; retrying');
        await sleep(o.pollMs);
        continue;
      }
      if (!running) break;
      if (handled > 0) {
        await settle();
        continue;
      }
      // Nothing claimable: sleep until woken, the next backoff is due, or the poll interval.
      let wait = o.pollMs;
      try {
        await tcp.refreshReadiness();
        const due = await store.work.nextDue();
        if (due) wait = Math.max(5, Math.min(wait, Date.parse(due) - Date.now()));
        const depth = await store.tunnels.count();
        deps.hooks?.queueDepth?.(depth.dirty);
      } catch {
        // the store is unreachable; try again after the poll interval
      }
      await sleep(wait);
      if (woken) await settle();
    }
  }

  /**
   * Full resync: compare Cloudflare with the store. Our DNS records missing or changed come
   * back; our records and tunnels that match no row are deleted; nothing without our marker is
   * touched. Runs under a store lease so one replica does it at a time.
   *
   * Its memory is bounded by a page, not by the installation: our records are streamed a
   * listing page at a time and compared with the routes at their names; what survives the page
   * is the ids of intact records (strings) and of orphans to delete after the listing (deleting
   * while paging would shift the pages). The routes are then read by keyset pages to find the
   * live ones whose record is not among the intact. Tunnels stay whole (a few slim fields each).
   */
  async function resync() {
    const result = { requeued: 0, orphanRecords: 0, orphanTunnels: 0, orphanAccess: 0, orphanKubernetes: 0, firewallRepaired: false, failed: 0 };
    if (!(await store.work.tryLease('resync', o.owner, 5 * 60_000))) return result;
    // Outside first, then the store: every external object we see was created after its row,
    // so a row created meanwhile is in the store when it is read and nothing live looks
    // orphaned. Each page of records is listed before the routes it is compared with are read.
    const cfTunnels = (await cloudflare.listTunnels(tunnelPrefix)).map(({ id, name }) => ({ id, name }));
    const intact = new Set<string>();
    // Record id → name; a map, since a record shifted across a page boundary is seen twice.
    const orphans = new Map<string, string>();
    const isOrphan = (rec: { id: string }, r: { dns_record_id: string | null; dns_uncertain: number } | undefined) =>
      !r || (r.dns_record_id !== rec.id && !r.dns_uncertain);
    for await (const page of cloudflare.pagesByComment(dnsCommentPrefix, o.resyncRecordsPerPage)) {
      // A slice at a time, released as it is done: a large page's records die young.
      while (page.length > 0) {
        const chunk = page.splice(0, LOOKUP_CHUNK);
        const routes = await store.work.routesAtHostnames([...new Set(chunk.map((rec) => rec.name))]);
        const byHost = new Map(routes.map((r) => [r.hostname, r]));
        for (const rec of chunk) {
          const r = byHost.get(rec.name);
          if (isOrphan(rec, r)) orphans.set(rec.id, rec.name);
          else if (
            r!.dns_record_id === rec.id &&
            r!.tunnel_cf_id &&
            rec.type === 'CNAME' &&
            rec.proxied &&
            rec.content === tunnelCname(r!.tunnel_cf_id)
          ) {
            intact.add(rec.id);
          }
        }
      }
    }
    const tunnels = await store.work.allTunnels();
    const tunnelsByCf = new Set(tunnels.flatMap((t) => (t.cf_tunnel_id ? [t.cf_tunnel_id] : [])));
    const tunnelsByName = new Set(tunnels.map((t) => cloudflareTunnelName(t.name)));
    const requeue = new Set<string>();

    for await (const routes of store.work.routePages(o.resyncRoutesPerPage)) {
      for (const r of routes) {
        // Routes stuck on a foreign record or the zone's quota: try again (the record may be gone now).
        if (r.phase === 'error' && (r.dns_uncertain || !r.dns_record_id) && !r.deleting && !r.tunnel_deleting) requeue.add(r.tunnel_id);
        // Drift: a live route's record vanished or was changed by hand.
        if (r.tunnel_deleting || r.deleting || !r.dns_record_id || !r.tunnel_cf_id) continue;
        if (!intact.has(r.dns_record_id)) {
          await store.work.setRouteDns(r.id, null, true);
          requeue.add(r.tunnel_id);
        }
      }
    }
    intact.clear();
    // Drift: a tunnel deleted by hand is created again (with the same secret).
    const liveCf = new Set(cfTunnels.map((t) => t.id));
    for (const t of tunnels) {
      if (t.cf_tunnel_id && !t.deleting && !liveCf.has(t.cf_tunnel_id)) {
        await store.work.setCloudflareId(t.id, null);
        await store.work.setConfig(t.id, null, null);
        await store.work.markTunnelRoutesUncertain(t.id);
        requeue.add(t.id);
        await store.events.append({
          ownerId: t.owner_id,
          actor: 'reconciler',
          action: 'tunnel.recreate',
          target: t.name,
          outcome: 'ok',
          details: { missingCloudflareId: t.cf_tunnel_id },
        });
      }
    }
    // Drift: a remote configuration edited by hand. Reading one costs a call per tunnel, so each
    // resync checks a random sample within its budget; over a few resyncs every tunnel is seen.
    const remote = tunnels.filter((t) => !t.deleting && t.config_mode === 'remote' && t.cf_tunnel_id && liveCf.has(t.cf_tunnel_id) && t.config_hash);
    for (const t of sample(remote, o.resyncConfigChecks)) {
      const cfg = await cloudflare.getConfiguration(t.cf_tunnel_id!);
      if (!cfg || configHash(cfg.ingress.map((i) => (i.hostname ? { hostname: i.hostname, service: i.service } : { service: i.service }))) !== t.config_hash) {
        // Keep a version so the next pass pushes ours back even when the tunnel has no routes.
        await store.work.setConfig(t.id, null, cfg?.version ?? 0);
        requeue.add(t.id);
      }
    }
    // Orphans: our records whose route is gone. Each batch is checked against the store again
    // just before it goes (a route may have adopted its record since its page was read). A
    // failure here is retried at the next resync.
    const orphanList = [...orphans].map(([id, name]) => ({ id, name }));
    orphans.clear();
    for (let i = 0; i < orphanList.length; i += o.dnsBatchLimit) {
      const candidates = orphanList.slice(i, i + o.dnsBatchLimit);
      try {
        const routes = new Map((await store.work.routesAtHostnames([...new Set(candidates.map((rec) => rec.name))])).map((r) => [r.hostname, r]));
        const chunk = candidates.filter((rec) => isOrphan(rec, routes.get(rec.name)));
        if (chunk.length === 0) continue;
        await cloudflare.batch({ deletes: chunk.map((r) => r.id) });
        result.orphanRecords += chunk.length;
      } catch (err) {
        result.failed++;
        logger.warn({ err: (err as Error).message, records: candidates.length }, 'could not delete orphan DNS records');
      }
    }
    // Orphans: our tunnels that no row names.
    for (const cf of cfTunnels) {
      if (tunnelsByCf.has(cf.id) || tunnelsByName.has(cf.name)) continue;
      try {
        await cloudflare.cleanConnections(cf.id);
        await cloudflare.deleteTunnel(cf.id);
        result.orphanTunnels++;
      } catch (err) {
        result.failed++;
        logger.warn({ err: (err as Error).message, tunnel: cf.name }, 'could not delete orphan tunnel');
      }
    }
    try {
      if (await firewall.resync()) result.firewallRepaired = true;
    } catch (err) {
      result.failed++;
      logger.warn({ err: (err as Error).message }, 'firewall resync failed; will try again');
    }
    const tcpResult = await tcp.resync();
    for (const id of tcpResult.requeue) requeue.add(id);
    result.orphanAccess = tcpResult.orphanAccess;
    result.orphanKubernetes = tcpResult.orphanKubernetes;
    result.failed += tcpResult.failed;
    for (const id of requeue) await store.work.requeue(id);
    result.requeued = requeue.size;
    if (result.requeued || result.orphanRecords || result.orphanTunnels || result.orphanAccess || result.orphanKubernetes || result.firewallRepaired || result.failed) {
      logger.info(result, 'resync repaired drift');
      await store.events.append({ ownerId: null, actor: 'reconciler', action: 'resync', target: 'zone', outcome: 'ok', details: result });
    }
    return result;
  }

  return {
    start() {
      if (running) return;
      running = true;
      store.changes.on('desired', onDesired);
      loopDone = loop();
      if (o.resyncMs > 0) {
        resyncTimer = setInterval(() => {
          resync().catch((err: Error) => logger.warn({ err: err.message }, 'resync failed; will try again'));
        }, o.resyncMs);
        resyncTimer.unref();
      }
    },
    async stop() {
      running = false;
      store.changes.off('desired', onDesired);
      if (resyncTimer) clearInterval(resyncTimer);
      wake?.();
      await loopDone;
    },
    /** One pass now; it never puts a configuration PUT off. */
    pass: () => pass(false),
    drain,
    resync,
    refreshReadiness: () => tcp.refreshReadiness(true),
  };
}

export type Reconciler = ReturnType<typeof createReconciler>;
