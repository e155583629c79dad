/**
 * The reconciler: passes (pass.ts) run by a loop that wakes on desired-state changes, gathers
 * bursts (gathering.ts), sleeps until the next backoff is due or the poll interval (other
 * replicas' work), and a resync (resync.ts) on a timer. It owns no logic of its own beyond the
 * scheduling: the steps plan and execute, outcome.ts decides, the store records.
 */
import type { HealthRefresh } from './health.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Ownership } from '../domain/ownership.js';
import type { Zones } from '../domain/zones.js';
import type { SecretBox } from '../domain/secret-box.js';
import { DEFAULT_CLOUDFLARED_IMAGE } from '../domain/access-objects.js';
import type {
  EventsRepository,
  LeasesRepository,
  ResyncRepository,
  SettingsRepository,
  StoreSignals,
  WorkRepository,
} from '../store/index.js';
import type { CloudflareApi } from '../providers/cloudflare/index.js';
import type { KubernetesApi } from '../providers/kubernetes/index.js';
import type { ReconcilerLogger, StepContext, TcpAccessSettings } from './context.js';
import type { ReconcilerOptions } from './options.js';
import { createGathering } from './gathering.js';
import { createPass, type PassStats } from './pass.js';
import { createResync, type ResyncResult } from './resync.js';
import type { Work } from './work.js';

export interface ReconcilerHooks {
  pass?(stats: PassStats): void;
  queueDepth?(n: number): void;
  resynced?(result: ResyncResult): void;
  /** After every pass, with its work (tests check invariants here). */
  afterPass?(work: readonly Work[]): void | Promise<void>;
}

export interface ReconcilerDeps {
  work: WorkRepository;
  resync: ResyncRepository;
  events: EventsRepository;
  leases: LeasesRepository;
  settings: SettingsRepository;
  signals: StoreSignals;
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
  /** The configured zones (each route's record lives in its own). */
  zones: Zones;
  /** Runs `fn` with Cloudflare calls counted as `tenant`'s (the rate limiter serves tenants in turn). */
  asTenant?: <T>(tenant: string, fn: () => Promise<T>) => Promise<T>;
  /** The clock gathering decides by (tests control it). */
  now?: () => number;
  /**
   * Marks for deletion what has expired (`ttlSeconds`); run by the loop while idle, at most every
   * `expiryMs`, by one replica at a time (the `expiry` lease). Answers how many it marked.
   */
  expire?: (at: string) => Promise<{ tunnels: number; routes: number }>;
  /** The connectors' health refresh, started and stopped with the loop. */
  health?: HealthRefresh;
  /** Calls the rate limiter can still make in its window: how long a burst's PUTs wait (gathering.ts). */
  spareCalls?: () => number;
}

export function createReconciler(deps: ReconcilerDeps) {
  const { logger, options: o } = deps;
  const asTenant = deps.asTenant ?? (<T>(_tenant: string, fn: () => Promise<T>) => fn());
  const ctx: StepContext = {
    work: deps.work,
    events: deps.events,
    leases: deps.leases,
    settings: deps.settings,
    cloudflare: deps.cloudflare,
    kubernetes: deps.kubernetes ?? null,
    secrets: deps.secrets,
    logger,
    options: o,
    ownership: deps.ownership,
    zones: deps.zones,
    tcpAccess: deps.tcpAccess ?? { image: DEFAULT_CLOUDFLARED_IMAGE, replicas: 1, port: 10000 },
    asOwner: (w, fn) => asTenant(w.tunnel.ownerId, fn),
  };
  const passes = createPass(ctx, deps.resync);
  const resyncs = createResync(ctx, deps.resync, { resynced: (r) => deps.hooks?.resynced?.(r) });
  const clock = deps.now ?? Date.now;
  const gathering = createGathering({ ...o, now: clock, spareCalls: deps.spareCalls });
  const background = new AsyncLocalStorage<true>();

  let running = false;
  let wake: (() => void) | null = null;
  let woken = false;
  let loopDone: Promise<void> = Promise.resolve();
  let resyncTimer: NodeJS.Timeout | null = null;
  let passInFlight: Promise<number> | null = null;
  /** Whether the last pass had work and all of it was put off (gathering.ts): nothing moved. */
  let onlyPutOff = false;
  const onDesired = (tunnelId: string, ownerId?: string) => {
    gathering.changed(tunnelId, ownerId);
    woken = true;
    wake?.();
  };

  async function runPass(gather: boolean): Promise<number> {
    const readAt = gathering.passStarting();
    // Asked before the DNS step and again by the configuration step: one answer per pass.
    const decided = new Map<string, boolean>();
    const defer = (w: Work) => {
      if (!gather) return false;
      let d = decided.get(w.tunnel.id);
      if (d === undefined) decided.set(w.tunnel.id, (d = gathering.defer(w.tunnel.id, readAt, w.tunnel)));
      return d;
    };
    const { work, stats } = await passes.run(defer);
    for (const w of work) if (!w.deferred) gathering.settled(w.tunnel.id);
    onlyPutOff = work.length > 0 && work.every((w) => w.deferred);
    if (work.length === 0) return 0;
    deps.hooks?.pass?.(stats);
    await deps.hooks?.afterPass?.(work);
    if (deps.hooks?.queueDepth) deps.hooks.queueDepth(await deps.work.queueDepth());
    return work.length;
  }

  function pass(gather = false): Promise<number> {
    passInFlight ??= runPass(gather).finally(() => {
      passInFlight = null;
    });
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
    const started = clock();
    for (
      let wait = gathering.waitBeforePass(started);
      wait > 0 && running;
      wait = gathering.waitBeforePass(started)
    ) {
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  let lastExpiry = 0;
  /** What has expired, marked for deletion (the next pass deletes it); true when something was. */
  async function reapExpired(): Promise<boolean> {
    if (!deps.expire || Date.now() - lastExpiry < o.expiryMs) return false;
    lastExpiry = Date.now();
    try {
      if (!(await deps.leases.acquire('expiry', o.owner, o.namedLeaseMs))) return false;
      const r = await deps.expire(new Date().toISOString());
      if (r.tunnels || r.routes) logger.info(r, 'expired tunnels and routes marked for deletion');
      return r.tunnels + r.routes > 0;
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'could not reap expired tunnels and routes');
      return false;
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
        // A pass that only put PUTs off would find the same at once: the deferral is decided
        // again after `debounceMs`, or as soon as a change comes (no spinning on the store).
        if (onlyPutOff) await sleep(o.debounceMs);
        await settle();
        continue;
      }
      // Nothing claimable: sleep until woken, the next backoff is due, or the poll interval.
      let wait = o.pollMs;
      if (await reapExpired()) continue;
      try {
        await passes.kubernetes.refreshReadiness();
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'could not read access pod readiness');
      }
      try {
        const due = await deps.work.nextDue();
        if (due) wait = Math.max(5, Math.min(wait, Date.parse(due) - Date.now()));
        deps.hooks?.queueDepth?.(await deps.work.queueDepth());
      } catch {
        // the store is unreachable; try again after the poll interval
      }
      await sleep(wait);
      if (woken) await settle();
    }
  }

  const resync = () => background.run(true, () => asTenant('resync', () => resyncs.resync()));

  /**
   * The resync at start: repairs what changed while the server was down. If a lease holds it
   * back (another replica resyncing, or a process killed while holding it: the lease runs out
   * within `namedLeaseMs`), it tries again until it has run once, not at the next period.
   */
  async function startupResync() {
    const deadline = clock() + 4 * o.namedLeaseMs;
    while (running) {
      const result = await resync();
      if (!result.skipped || clock() > deadline) return;
      await new Promise((r) => setTimeout(r, Math.max(50, o.namedLeaseMs / 3)));
    }
  }

  return {
    /** Starts the loop and the resync timer; `{ loop: false }` only follows changes (tests drive passes). */
    start(opts: { loop?: boolean } = {}) {
      if (running) return;
      running = true;
      deps.signals.on('desired', onDesired);
      if (opts.loop === false) return;
      loopDone = loop();
      deps.health?.start();
      if (o.resyncMs > 0) {
        resyncTimer = setInterval(() => {
          resync().catch((err: Error) => logger.warn({ err: err.message }, 'resync failed; will try again'));
        }, o.resyncMs);
        resyncTimer.unref();
      }
    },
    async stop() {
      running = false;
      deps.signals.off('desired', onDesired);
      if (resyncTimer) clearInterval(resyncTimer);
      await deps.health?.stop();
      wake?.();
      await loopDone;
      await passInFlight?.catch(() => undefined);
      // A clean stop hands everything over at once: the next process claims and resyncs without waiting.
      await deps.leases.releaseAll(o.owner).catch(() => undefined);
    },
    /** One pass now; it never puts a configuration PUT off. */
    pass: () => pass(false),
    /** One pass as the loop runs it, gathering (tests drive it with a controlled clock). */
    gatheringPass: () => pass(true),
    /** Runs passes until nothing is claimable (tests and `dev` use it to converge on demand). */
    async drain() {
      while ((await pass(false)) > 0) {
        // keep going
      }
    },
    resync,
    startupResync,
    /** What orphan collection would do now (`tunnelplane gc`). */
    planOrphans: () => resyncs.plan(),
    applyOrphans: resyncs.apply,
    refreshReadiness: () => passes.kubernetes.refreshReadiness(true),
    /** One health refresh now (tests drive it). */
    refreshHealth: () => deps.health?.refresh() ?? Promise.resolve(null),
  };
}

export type Reconciler = ReturnType<typeof createReconciler>;
