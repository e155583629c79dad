/**
 * One limiter paces every Cloudflare call of this process: at most `requests` calls in any
 * sliding window of `windowSeconds` (Cloudflare counts 1,200 per 300 s per token), and a global
 * pause when Cloudflare answers 429 with Retry-After. A sliding window never exceeds the budget
 * in any fixed window either, so a burst up to the budget goes out at once and the rest waits.
 */

export interface RateLimiter {
  /** Resolves when a call may go out; returns how long it waited (ms). */
  acquire(signal?: AbortSignal): Promise<number>;
  /** Cloudflare said 429: nobody calls before `ms` from now. */
  pause(ms: number): void;
  /** Calls made in the current window (for metrics and tests). */
  inWindow(): number;
}

export function createRateLimiter(opts: { requests: number; windowSeconds: number; now?: () => number; marginMs?: number }): RateLimiter {
  const now = opts.now ?? Date.now;
  // A call counts where Cloudflare receives it, a little after we send it: widen the window by a
  // margin so a call leaving just as ours slides never lands in Cloudflare's previous window.
  const windowMs = opts.windowSeconds * 1000 + (opts.marginMs ?? 2000);
  const budget = Math.max(1, Math.floor(opts.requests));
  // Start times of the calls in the window, oldest first (a ring would do; the window is small).
  const stamps: number[] = [];
  let head = 0;
  let pausedUntil = 0;
  let queue: Promise<void> = Promise.resolve();

  const prune = (t: number) => {
    while (head < stamps.length && stamps[head]! <= t - windowMs) head++;
    if (head > 1024 && head * 2 > stamps.length) {
      stamps.splice(0, head);
      head = 0;
    }
  };

  const sleep = (ms: number, signal?: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason ?? new Error('aborted'));
        },
        { once: true },
      );
    });

  return {
    acquire(signal) {
      const started = now();
      // Serialise the decisions so waiting callers keep their order.
      const turn = queue.then(async () => {
        for (;;) {
          const t = now();
          prune(t);
          if (t < pausedUntil) {
            await sleep(pausedUntil - t, signal);
            continue;
          }
          if (stamps.length - head < budget) {
            stamps.push(t);
            return;
          }
          await sleep(Math.max(1, stamps[head]! + windowMs - t), signal);
        }
      });
      queue = turn.catch(() => undefined);
      return turn.then(() => now() - started);
    },
    pause(ms) {
      pausedUntil = Math.max(pausedUntil, now() + ms);
    },
    inWindow() {
      prune(now());
      return stamps.length - head;
    },
  };
}
