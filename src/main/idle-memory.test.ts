import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Counter, Histogram, Registry } from 'prom-client';
import {
  memoryReducingCollection,
  releaseMemoryWhenIdle,
  shouldRelease,
  spareHeapBytes,
  type IdleMemoryOptions,
} from './idle-memory.js';

const MiB = 1024 * 1024;
const rule = { quietUtilization: 0.05, minSpareBytes: 8 * MiB };

describe('shouldRelease', () => {
  it.each([
    { requests: 0, utilization: 0, spareBytes: 40 * MiB, want: true, why: 'idle with a grown heap' },
    { requests: 0, utilization: 0.049, spareBytes: 8 * MiB, want: true, why: 'just under both lines' },
    { requests: 1, utilization: 0, spareBytes: 40 * MiB, want: false, why: 'one request in the interval' },
    { requests: 0, utilization: 0.05, spareBytes: 40 * MiB, want: false, why: 'busy for 5 % of it' },
    { requests: 900, utilization: 0.6, spareBytes: 40 * MiB, want: false, why: 'under load' },
    { requests: 0, utilization: 0, spareBytes: 8 * MiB - 1, want: false, why: 'little to return' },
  ])('$why', ({ requests, utilization, spareBytes, want }) => {
    expect(shouldRelease({ requests, utilization, spareBytes, ...rule })).toBe(want);
  });
});

describe('the loop', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const quietLogger = { trace() {}, debug() {}, info() {}, warn: vi.fn() };
  function harness(over: Partial<IdleMemoryOptions> = {}) {
    const registry = new Registry();
    const metrics = {
      idleMemoryReleases: new Counter({
        name: 'r',
        help: 'r',
        labelNames: ['result'],
        registers: [registry],
      }),
      idleMemoryReleaseSeconds: new Histogram({ name: 's', help: 's', registers: [registry] }),
    };
    const state = { requests: 0, utilization: 0, spare: 40 * MiB };
    const collect = vi.fn(async () => {
      state.spare = 2 * MiB;
    });
    const count = async (result: string) =>
      (await metrics.idleMemoryReleases.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
    const start = () =>
      releaseMemoryWhenIdle({
        intervalMs: 1000,
        logger: quietLogger,
        metrics,
        requests: () => state.requests,
        utilization: () => state.utilization,
        spareBytes: () => state.spare,
        collect,
        ...over,
      });
    return { state, collect, count, start };
  }

  it('collects once when idle, not again while nothing grows the heap, and again after work', async () => {
    const h = harness();
    const loop = await h.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.collect).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(h.collect).toHaveBeenCalledTimes(1);
    // Work: requests and a grown heap; nothing while it lasts, one collection after.
    h.state.requests += 50;
    h.state.spare = 40 * MiB;
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.collect).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(h.collect).toHaveBeenCalledTimes(2);
    expect(await h.count('released')).toBe(2);
    loop.stop();
    h.state.spare = 40 * MiB;
    await vi.advanceTimersByTimeAsync(5000);
    expect(h.collect).toHaveBeenCalledTimes(2);
  });

  it('never runs two collections at once', async () => {
    let finish: () => void = () => {};
    const collect = vi.fn(() => new Promise<void>((r) => (finish = r)));
    const h = harness({ collect });
    const loop = await h.start();
    await vi.advanceTimersByTimeAsync(3000);
    expect(collect).toHaveBeenCalledTimes(1);
    finish();
    await vi.advanceTimersByTimeAsync(1000);
    expect(collect).toHaveBeenCalledTimes(2);
    loop.stop();
  });

  it('turns itself off after a failed collection, counted', async () => {
    const collect = vi.fn(async () => {
      throw new Error('refused');
    });
    const h = harness({ collect });
    await h.start();
    await vi.advanceTimersByTimeAsync(5000);
    expect(collect).toHaveBeenCalledTimes(1);
    expect(await h.count('failed')).toBe(1);
    expect(quietLogger.warn).toHaveBeenCalledTimes(1);
  });
});

describe('the collection', () => {
  it('returns the young generation a burst of allocation grew', async () => {
    const collect = await memoryReducingCollection();
    if (typeof collect === 'string') throw new Error(collect);
    let keep: object[] = [];
    for (let i = 0; i < 2e6; i++) {
      keep.push({ i, s: `x${i}` });
      if (keep.length > 20_000) keep = [];
    }
    keep = [];
    const before = spareHeapBytes();
    await collect();
    expect(spareHeapBytes()).toBeLessThan(before);
  });
});
