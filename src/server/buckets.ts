/**
 * Token buckets per key (a user): `burst` tokens, refilled at `perMinute`. What the API uses to
 * pace each user's changes (so one user's loop cannot spend the Cloudflare budget others need)
 * and to bound the audit events a user's refused requests leave. Per process; full buckets are
 * forgotten, so memory follows the users that are active.
 */

export interface Buckets {
  /** Takes one token: ok, or how long until one is there. */
  take(key: string): { ok: true } | { ok: false; retryAfterMs: number };
}

export function createBuckets(opts: {
  perMinute: number;
  burst: number;
  now?: () => number;
  maxKeys?: number;
}): Buckets {
  const now = opts.now ?? Date.now;
  const ratePerMs = opts.perMinute / 60_000;
  const maxKeys = opts.maxKeys ?? 100_000;
  /** Tokens and when they were counted; Map order: least recently used first. */
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      if (opts.perMinute <= 0) return { ok: true };
      const t = now();
      const b = buckets.get(key) ?? { tokens: opts.burst, at: t };
      buckets.delete(key);
      b.tokens = Math.min(opts.burst, b.tokens + (t - b.at) * ratePerMs);
      b.at = t;
      const ok = b.tokens >= 1;
      if (ok) b.tokens -= 1;
      // A full bucket is the same as none.
      if (b.tokens < opts.burst) buckets.set(key, b);
      if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value!);
      return ok ? { ok: true } : { ok: false, retryAfterMs: Math.ceil((1 - b.tokens) / ratePerMs) };
    },
  };
}
