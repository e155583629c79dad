import { describe, expect, it } from 'vitest';
import { backoffMs } from './options.js';

describe('backoff', () => {
  it.each([
    [0, 0, 125],
    [0, 1, 250],
    [3, 0, 1000],
    [3, 1, 2000],
    [30, 1, 60_000],
  ])('attempt %i with jitter %f waits %i ms', (attempts, r, expected) => {
    expect(backoffMs(attempts, 250, 60_000, null, () => r)).toBe(expected);
  });
  it('never retries sooner than Retry-After', () => {
    expect(backoffMs(0, 250, 60_000, 5000, () => 0)).toBe(5000);
  });
});
