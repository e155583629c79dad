/**
 * One limiter paces every Cloudflare call of this process: at most `requests` calls in any
 * sliding window of `windowSeconds` (Cloudflare counts 1,200 per 300 s per token), and a global
 * pause when Cloudflare answers 429 with Retry-After. A sliding window never exceeds the budget
 * in any fixed window either, so a burst up to the budget goes out at once and the rest waits.
 *
 * Fair between tenants: a call is made as a tenant (`asTenant`, carried through async calls by
 * AsyncLocalStorage; the reconciler runs each tunnel's steps as its owner's). When calls wait,
 * tenants are served in turn, one call each, so one tenant's thousand queued calls delay another
 * tenant's one by a single turn, not by the thousand.
 *
 * Shared between replicas: with `shared`, every slot is first reserved in the database
 * (`ReserveSlots`, which the composition root backs with the store's budget repository) so
 * that all the replicas of one token together stay within its budget.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RateLimiter {
  /** Resolves when a call may go out; returns how long it waited (ms). */
  acquire(signal?: AbortSignal): Promise<number>;
  /** Cloudflare said 429: nobody calls before `ms` from now. */
  pause(ms: number): void;
  /** Calls made in the current window (for metrics and tests). */
  inWindow(): number;
  /** Calls waiting, per tenant (for metrics and tests). */
  waiting(): Map<string, number>;
}

/** Reserves up to `n` calls of the token's budget for this replica; answers how many, and when to ask again if none. */
export type ReserveSlots = (n: number) => Promise<{ granted: number; retryInMs: number }>;

const tenants = new AsyncLocalStorage<string>();
const SYSTEM = 'system';

/** Runs `fn` with every Cloudflare call it makes counted as `tenant`'s. */
export function asTenant<T>(tenant: string, fn: () => Promise<T>): Promise<T> {
  return tenants.run(tenant, fn);
}

export const currentTenant = () => tenants.getStore() ?? SYSTEM;

interface Waiter {
  started: number;
  resolve(waited: number): void;
  reject(err: unknown): void;
}

export function createRateLimiter(opts: {
  requests: number;
  windowSeconds: number;
  now?: () => number;
  marginMs?: number;
  /** Reserve slots from a budget shared with the other replicas. */
  shared?: ReserveSlots;
  /** Reserved slots not used within this are let go (they stay counted where they were reserved). */
  reservationTtlMs?: number;
}): RateLimiter {
  const now = opts.now ?? Date.now;
  // A call counts where Cloudflare receives it, a little after we send it: widen the window by a
  // margin so a call leaving just as ours slides never lands in Cloudflare's previous window.
  const windowMs = opts.windowSeconds * 1000 + (opts.marginMs ?? 2000);
  const budget = Math.max(1, Math.floor(opts.requests));
  const ttl = opts.reservationTtlMs ?? 5000;
  // Start times of the calls in the window, oldest first.
  const stamps: number[] = [];
  let head = 0;
  let pausedUntil = 0;
  /** Per tenant, its waiting calls; Map order is the turn order. */
  const queues = new Map<string, Waiter[]>();
  let dispatching = false;
  /** Slots reserved from the shared budget and not used yet, and until when they may be. */
  let reserved = 0;
  let reservedUntil = 0;

  const prune = (t: number) => {
    while (head < stamps.length && stamps[head]! <= t - windowMs) head++;
    if (head > 1024 && head * 2 > stamps.length) {
      stamps.splice(0, head);
      head = 0;
    }
  };
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(1, ms)));
  const queued = () => {
    let n = 0;
    for (const q of queues.values()) n += q.length;
    return n;
  };

  /** The next waiter in turn: the first tenant's first call; that tenant goes to the back. */
  function next(): Waiter | undefined {
    for (const [tenant, q] of queues) {
      queues.delete(tenant);
      const w = q.shift();
      if (q.length > 0) queues.set(tenant, q);
      if (w) return w;
    }
    return undefined;
  }

  /** One decision loop serves every waiter, so the order is the fair one. */
  async function dispatch() {
    if (dispatching) return;
    dispatching = true;
    try {
      while (queued() > 0) {
        const t = now();
        prune(t);
        if (t < pausedUntil) {
          await sleep(pausedUntil - t);
          continue;
        }
        if (stamps.length - head >= budget) {
          await sleep(stamps[head]! + windowMs - t);
          continue;
        }
        if (opts.shared) {
          if (reserved > 0 && t > reservedUntil) reserved = 0;
          if (reserved === 0) {
            let answer: { granted: number; retryInMs: number };
            try {
              answer = await opts.shared(Math.min(queued(), 20));
            } catch {
              // The database is away: hold the calls (never spend what another replica may have).
              await sleep(1000);
              continue;
            }
            if (answer.granted === 0) {
              await sleep(answer.retryInMs);
              continue;
            }
            reserved = answer.granted;
            reservedUntil = now() + ttl;
          }
          reserved--;
        }
        const w = next();
        if (!w) break;
        stamps.push(t);
        w.resolve(now() - w.started);
      }
    } finally {
      dispatching = false;
    }
  }

  return {
    acquire(signal) {
      const tenant = currentTenant();
      return new Promise<number>((resolve, reject) => {
        const w: Waiter = { started: now(), resolve, reject };
        const q = queues.get(tenant);
        if (q) q.push(w);
        else queues.set(tenant, [w]);
        signal?.addEventListener(
          'abort',
          () => {
            const mine = queues.get(tenant);
            const i = mine?.indexOf(w) ?? -1;
            if (i < 0) return;
            mine!.splice(i, 1);
            if (mine!.length === 0) queues.delete(tenant);
            reject(signal.reason ?? new Error('aborted'));
          },
          { once: true },
        );
        // After this tick: calls made together are queued together (one reservation for them all).
        queueMicrotask(() => void dispatch());
      });
    },
    pause(ms) {
      pausedUntil = Math.max(pausedUntil, now() + ms);
    },
    inWindow() {
      prune(now());
      return stamps.length - head;
    },
    waiting() {
      return new Map([...queues].map(([t, q]) => [t, q.length]));
    },
  };
}
