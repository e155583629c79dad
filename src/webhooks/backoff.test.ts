import { describe, expect, it } from 'vitest';
import { nextAttemptAt, retryDelayMs } from './backoff.js';

const policy = { maxAttempts: 8, baseMs: 5000, maxMs: 3600_000 };

describe('retry schedule', () => {
  it.each<[number, number, number]>([
    // attempt, with the most jitter (random 0), with none (random → 1)
    [1, 2500, 5000],
    [2, 5000, 10_000],
    [3, 10_000, 20_000],
    [7, 160_000, 320_000],
    [11, 1_800_000, 3_600_000], // capped
    [40, 1_800_000, 3_600_000],
  ])('after attempt %i waits between %i and %i ms', (attempt, least, most) => {
    expect(retryDelayMs(attempt, policy, 0)).toBe(least);
    expect(retryDelayMs(attempt, policy, 0.999999)).toBeCloseTo(most, -1);
    const mid = retryDelayMs(attempt, policy, 0.5);
    expect(mid).toBeGreaterThan(least);
    expect(mid).toBeLessThan(most);
  });

  it('gives up after maxAttempts', () => {
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    expect(nextAttemptAt(1, policy, t0, 0)?.toISOString()).toBe('2026-01-01T00:00:02.500Z');
    expect(nextAttemptAt(7, policy, t0, 0)).not.toBeNull();
    expect(nextAttemptAt(8, policy, t0, 0)).toBeNull();
    expect(nextAttemptAt(1, { ...policy, maxAttempts: 1 }, t0, 0)).toBeNull();
  });
});
