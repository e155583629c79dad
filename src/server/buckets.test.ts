import { describe, expect, it } from 'vitest';
import { createBuckets } from './buckets.js';

describe('token buckets', () => {
  it('lets a burst through, then one per refill interval, per key', () => {
    let t = 0;
    const b = createBuckets({ perMinute: 60, burst: 3, now: () => t });
    expect([b.take('a'), b.take('a'), b.take('a')].every((r) => r.ok)).toBe(true);
    expect(b.take('a')).toEqual({ ok: false, retryAfterMs: 1000 });
    expect(b.take('b').ok).toBe(true);
    t = 500;
    expect(b.take('a')).toEqual({ ok: false, retryAfterMs: 500 });
    t = 1000;
    expect(b.take('a').ok).toBe(true);
    expect(b.take('a').ok).toBe(false);
    t = 10_000;
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a')].map((r) => r.ok)).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });
  it('0 per minute: no limit', () => {
    const b = createBuckets({ perMinute: 0, burst: 1 });
    for (let i = 0; i < 100; i++) expect(b.take('a').ok).toBe(true);
  });
  it('keeps a bounded number of keys', () => {
    const b = createBuckets({ perMinute: 1, burst: 1, maxKeys: 2 });
    for (const k of ['a', 'b', 'c']) expect(b.take(k).ok).toBe(true);
    // 'a' was forgotten (least recently used): a fresh bucket.
    expect(b.take('a').ok).toBe(true);
    expect(b.take('c').ok).toBe(false);
  });
});
