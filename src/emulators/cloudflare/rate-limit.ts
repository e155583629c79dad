// Cloudflare's global API rate limit (reference §1.5): a budget of requests per window per
// token. The window opens at a token's first request; once the budget is spent every call
// gets 429 until the window ends. Every response carries `Ratelimit` and
// `Ratelimit-Policy`; 429s also carry `retry-after` (optionally capped for tests).

import { ControlError } from './errors.js';

export interface RateLimit {
  requests: number;
  windowSeconds: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  headers: Record<string, string>;
}

export interface RateLimiter {
  check(key: string, now?: number): RateLimitDecision;
  set(limit: RateLimit): void;
  current(): RateLimit;
  reset(): void;
}

export function checkRateLimit(limit: RateLimit): RateLimit {
  if (!Number.isInteger(limit.requests) || limit.requests < 1)
    throw new ControlError('rate limit requests must be a positive integer');
  if (!(limit.windowSeconds > 0)) throw new ControlError('rate limit windowSeconds must be positive');
  return { requests: limit.requests, windowSeconds: limit.windowSeconds };
}

export function createRateLimiter(initial: RateLimit, retryAfterCap?: number): RateLimiter {
  let limit = checkRateLimit(initial);
  const windows = new Map<string, { start: number; count: number }>();

  return {
    check(key, now = Date.now()) {
      const windowMs = limit.windowSeconds * 1000;
      let window = windows.get(key);
      if (!window || now >= window.start + windowMs) {
        window = { start: now, count: 0 };
        windows.set(key, window);
      }
      window.count += 1;
      const resetSeconds = Math.max(0, Math.ceil((window.start + windowMs - now) / 1000));
      const allowed = window.count <= limit.requests;
      const headers: Record<string, string> = {
        ratelimit: `"default";r=${Math.max(0, limit.requests - window.count)};t=${resetSeconds}`,
        'ratelimit-policy': `"burst";q=${limit.requests};w=${limit.windowSeconds}`,
      };
      if (!allowed) {
        const retryAfter = retryAfterCap === undefined ? resetSeconds : Math.min(resetSeconds, retryAfterCap);
        headers['retry-after'] = String(retryAfter);
      }
      return { allowed, headers };
    },
    set(next) {
      limit = checkRateLimit(next);
      windows.clear();
    },
    current: () => ({ ...limit }),
    reset: () => windows.clear(),
  };
}
