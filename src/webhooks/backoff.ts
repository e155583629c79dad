/** When a failed delivery is tried again: exponential backoff with jitter, up to a number of attempts. */

export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

/**
 * The wait after the `attempt`-th failed attempt (1-based): `base × 2^(attempt-1)`, capped at
 * `max`, of which a random half (`random` in [0, 1)) is taken off so that deliveries failing
 * together do not come back together.
 */
export function retryDelayMs(attempt: number, policy: RetryPolicy, random: number): number {
  const capped = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(capped * (0.5 + 0.5 * random));
}

/** When to try again after `attempts` failed attempts (this one included), or null: failed for good. */
export function nextAttemptAt(
  attempts: number,
  policy: RetryPolicy,
  nowMs: number,
  random: number,
): Date | null {
  if (attempts >= policy.maxAttempts) return null;
  return new Date(nowMs + retryDelayMs(attempts, policy, random));
}
