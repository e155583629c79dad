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
 * that all the replicas of one token together stay within its budget. While the database keeps
 * failing, calls are held (never spending what another replica may have), but only for
 * `reserveGiveUpMs`: then they fail as transient, and the reconciler tries again later.
 *
 * Every wait ends at `close()` (the process is stopping): waiting and later calls are refused
 * with a `RateLimiterAbortedError`, a transient `ProviderError`, so a pass asleep on a 429's
 * Retry-After (up to 300 s) ends at once, its unfinished work left pending for the next process.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ProviderError } from '../../domain/errors.js';

export interface RateLimiter {
  /** Resolves when a call may go out; returns how long it waited (ms). */
  acquire(signal?: AbortSignal): Promise<number>;
  /** Cloudflare said 429: nobody calls before `ms` from now. */
  pause(ms: number): void;
  /** Calls made in the current window (for metrics and tests). */
  inWindow(): number;
  /** Calls waiting, per tenant (for metrics and tests). */
  waiting(): Map<string, number>;
  /** The process is stopping: every waiting call and every later one is refused at once. */
  close(): void;
}

/**
 * A call the limiter refused to let out: it is closed (`closed`), or the shared budget could
 * not be reserved for `reserveGiveUpMs` (`budget_unreachable`). Transient: nothing was sent.
 * The SDK wraps what its fetch throws, so look for it along the `cause` chain (`limiterRefusal`).
 */
export class RateLimiterAbortedError extends ProviderError {
  readonly reason: 'closed' | 'budget_unreachable';

  constructor(reason: RateLimiterAbortedError['reason'], message: string, cause?: unknown) {
    super({ provider: 'cloudflare', kind: 'transient', message, cause });
    this.name = 'RateLimiterAbortedError';
    this.reason = reason;
  }
}

/** The limiter's refusal behind `err` (itself or along its causes), or null. */
export function limiterRefusal(err: unknown): RateLimiterAbortedError | null {
  for (let e = err, depth = 0; e && depth < 10; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof RateLimiterAbortedError) return e;
  }
  return null;
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

const closedError = () =>
  new RateLimiterAbortedError('closed', 'the Cloudflare call was not made: this process is stopping');

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
  /** While reserving keeps failing (or hanging) this long, waiting calls are refused (default 30 s). */
  reserveGiveUpMs?: number;
}): RateLimiter {
  const now = opts.now ?? (() => Date.now());
  // A call counts where Cloudflare receives it, a little after we send it: widen the window by a
  // margin so a call leaving just as ours slides never lands in Cloudflare's previous window.
  const windowMs = opts.windowSeconds * 1000 + (opts.marginMs ?? 2000);
  const budget = Math.max(1, Math.floor(opts.requests));
  const ttl = opts.reservationTtlMs ?? 5000;
  const giveUpMs = opts.reserveGiveUpMs ?? 30_000;
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
  /** When the first of the reservations failing since the last success began; null while they succeed. */
  let failingSince: number | null = null;
  let closed = false;
  const closing = new AbortController();

  const prune = (t: number) => {
    while (head < stamps.length && stamps[head]! <= t - windowMs) head++;
    if (head > 1024 && head * 2 > stamps.length) {
      stamps.splice(0, head);
      head = 0;
    }
  };
  /** Waits `ms`, or less: until `cancel()` or the limiter closes. */
  const delay = (ms: number) => {
    let cancel = () => {};
    const done = new Promise<void>((resolve) => {
      if (closing.signal.aborted) return resolve();
      const timer = setTimeout(() => cancel(), Math.max(1, ms));
      cancel = () => {
        clearTimeout(timer);
        closing.signal.removeEventListener('abort', cancel);
        resolve();
      };
      closing.signal.addEventListener('abort', cancel);
    });
    return { done, cancel };
  };
  const sleep = (ms: number) => delay(ms).done;
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

  function refuseAll(err: RateLimiterAbortedError) {
    for (const q of queues.values()) for (const w of q) w.reject(err);
    queues.clear();
  }

  /**
   * Asks the database for slots; null when it failed, or gave no answer within what is left of
   * `giveUpMs` (slots it grants later are let go, like unused ones), or the limiter closed.
   */
  async function reserve(n: number): Promise<{ granted: number; retryInMs: number } | null> {
    const started = now();
    const left = failingSince === null ? giveUpMs : giveUpMs - (started - failingSince);
    const bound = delay(Math.max(1000, left));
    const answer = await Promise.race([
      Promise.resolve()
        .then(() => opts.shared!(n))
        .catch(() => null),
      bound.done.then(() => null),
    ]);
    bound.cancel();
    if (answer) failingSince = null;
    else if (!closed) failingSince ??= started;
    return answer;
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
            const answer = await reserve(Math.min(queued(), 20));
            if (closed) break;
            if (!answer) {
              // The database is away: hold the calls (never spend what another replica may have), for a while.
              if (failingSince !== null && now() - failingSince >= giveUpMs) {
                refuseAll(
                  new RateLimiterAbortedError(
                    'budget_unreachable',
                    `no share of the Cloudflare API budget could be reserved in the database for ${Math.round((now() - failingSince) / 1000)} s; try again later`,
                  ),
                );
              } else await sleep(1000);
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
      if (closed) return Promise.reject(closedError());
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
    close() {
      if (closed) return;
      closed = true;
      refuseAll(closedError());
      closing.abort();
    },
  };
}
