import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProviderError } from '../../domain/errors.js';
import {
  asTenant,
  createRateLimiter,
  limiterRefusal,
  RateLimiterAbortedError,
  type RateLimiter,
} from './rate-limiter.js';
import { endpointLabel } from './sdk-client.js';

describe('rate limiter', () => {
  it('lets a burst up to the budget through at once, then waits for the window to slide', async () => {
    let t = 0;
    const limiter = createRateLimiter({ requests: 3, windowSeconds: 1, now: () => t, marginMs: 0 });
    for (let i = 0; i < 3; i++) expect(await limiter.acquire()).toBe(0);
    expect(limiter.inWindow()).toBe(3);
    let released = false;
    const fourth = limiter.acquire().then(() => (released = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(released).toBe(false);
    t = 1001;
    await fourth;
    expect(released).toBe(true);
  });

  it('pauses everyone after a 429 for the Retry-After time', async () => {
    const limiter = createRateLimiter({ requests: 100, windowSeconds: 300 });
    limiter.pause(60);
    const started = Date.now();
    await limiter.acquire();
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
  });

  it("serves waiting tenants in turn: one tenant's queue delays another's call by one turn", async () => {
    const limiter = createRateLimiter({ requests: 1, windowSeconds: 0.02, marginMs: 0 });
    const order: string[] = [];
    const call = (tenant: string, i: number) =>
      asTenant(tenant, async () => {
        await limiter.acquire();
        order.push(`${tenant}${i}`);
      });
    const noisy = Array.from({ length: 6 }, (_, i) => call('noisy', i));
    await new Promise((r) => setTimeout(r, 5));
    const quiet = call('quiet', 0);
    await Promise.all([...noisy, quiet]);
    // The first noisy call went out at once; the quiet one is next, not seventh.
    expect(order.indexOf('quiet0')).toBeLessThanOrEqual(2);
    expect(order.filter((x) => x.startsWith('noisy'))).toEqual([
      'noisy0',
      'noisy1',
      'noisy2',
      'noisy3',
      'noisy4',
      'noisy5',
    ]);
  });

  it("calls outside any tenant are the system's", async () => {
    const limiter = createRateLimiter({ requests: 1, windowSeconds: 10, marginMs: 0 });
    await limiter.acquire();
    const waiting = limiter.acquire(AbortSignal.timeout(50)).catch(() => 'aborted');
    expect(limiter.waiting()).toEqual(new Map([['system', 1]]));
    expect(await waiting).toBe('aborted');
    expect(limiter.waiting()).toEqual(new Map());
  });

  it('with a shared budget, spends only what the database granted, and waits when it grants none', async () => {
    const asked: number[] = [];
    const grants = [1, 2, 0, 5];
    const limiter = createRateLimiter({
      requests: 100,
      windowSeconds: 300,
      shared: async (n) => {
        asked.push(n);
        return { granted: Math.min(n, grants.shift() ?? 0), retryInMs: 10 };
      },
    });
    await limiter.acquire();
    // Four wait together: it asks for as many as wait, spends what it gets, waits out a refusal.
    await Promise.all(Array.from({ length: 4 }, () => limiter.acquire()));
    expect(limiter.inWindow()).toBe(5);
    expect(asked).toEqual([1, 4, 2, 2]);
  });

  it('folds ids out of endpoint labels', () => {
    expect(
      endpointLabel('post', 'http://x/client/v4/accounts/0123456789abcdef0123456789abcdef/cfd_tunnel'),
    ).toBe('POST /accounts/:id/cfd_tunnel');
    expect(
      endpointLabel(
        'PUT',
        'http://x/client/v4/accounts/0123456789abcdef0123456789abcdef/cfd_tunnel/c1744f8b-faa1-48a4-9e5c-02ac921467fa/configurations',
      ),
    ).toBe('PUT /accounts/:id/cfd_tunnel/:id/configurations');
  });
});

/** What `acquire` came to: resolved, refused (with what), or still waiting. */
function settle(limiter: RateLimiter) {
  const state: { outcome: 'waiting' | 'resolved' | 'refused'; error?: unknown } = { outcome: 'waiting' };
  limiter.acquire().then(
    () => (state.outcome = 'resolved'),
    (error: unknown) => Object.assign(state, { outcome: 'refused', error }),
  );
  return state;
}

const reasonOf = (err: unknown) => (err instanceof RateLimiterAbortedError ? err.reason : err);

describe('rate limiter: every wait ends', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("close() refuses a call waiting out a 429's Retry-After at once, and every later call", async () => {
    vi.useFakeTimers();
    const limiter = createRateLimiter({ requests: 100, windowSeconds: 300 });
    limiter.pause(60_000);
    const waiting = settle(limiter);
    await vi.advanceTimersByTimeAsync(1000);
    expect(waiting.outcome).toBe('waiting');
    limiter.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(waiting.outcome).toBe('refused');
    expect(reasonOf(waiting.error)).toBe('closed');
    // Transient: the reconciler tries again later (in the next process) and marks nothing failed.
    expect(waiting.error).toBeInstanceOf(ProviderError);
    expect((waiting.error as ProviderError).retryable).toBe(true);
    expect(limiter.waiting()).toEqual(new Map());
    // Nothing is left sleeping to hold the process.
    expect(vi.getTimerCount()).toBe(0);
    await expect(limiter.acquire()).rejects.toBeInstanceOf(RateLimiterAbortedError);
  });

  it('close() also ends a wait for the window to slide', async () => {
    vi.useFakeTimers();
    const limiter = createRateLimiter({ requests: 1, windowSeconds: 300 });
    await limiter.acquire();
    const waiting = settle(limiter);
    await vi.advanceTimersByTimeAsync(1000);
    limiter.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(reasonOf(waiting.error)).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('gives up after reserveGiveUpMs while the database keeps failing, then refuses at the first failure until it answers', async () => {
    vi.useFakeTimers();
    let down = true;
    let asked = 0;
    const limiter = createRateLimiter({
      requests: 100,
      windowSeconds: 300,
      reserveGiveUpMs: 5000,
      shared: async (n) => {
        asked++;
        if (down) throw new Error('connect ECONNREFUSED');
        return { granted: n, retryInMs: 0 };
      },
    });
    const first = settle(limiter);
    await vi.advanceTimersByTimeAsync(4000);
    // Held, not spent: the database may be down while another replica spends the budget.
    expect(first.outcome).toBe('waiting');
    await vi.advanceTimersByTimeAsync(1500);
    expect(first.outcome).toBe('refused');
    expect(reasonOf(first.error)).toBe('budget_unreachable');
    expect((first.error as ProviderError).retryable).toBe(true);
    // Asked about once a second, not in a tight loop; and the loop is over.
    expect(asked).toBeGreaterThanOrEqual(5);
    expect(asked).toBeLessThanOrEqual(7);
    expect(vi.getTimerCount()).toBe(0);

    // Still down: a new call is refused after one more try, not after another 5 s.
    const second = settle(limiter);
    await vi.advanceTimersByTimeAsync(0);
    expect(reasonOf(second.error)).toBe('budget_unreachable');

    // Back: calls go out again.
    down = false;
    const third = settle(limiter);
    await vi.advanceTimersByTimeAsync(0);
    expect(third.outcome).toBe('resolved');
  });

  it('a reservation that never answers counts as failing; close() ends the wait for it at once', async () => {
    vi.useFakeTimers();
    const hang = () => new Promise<never>(() => {});
    const limiter = createRateLimiter({
      requests: 100,
      windowSeconds: 300,
      reserveGiveUpMs: 5000,
      shared: hang,
    });
    const first = settle(limiter);
    await vi.advanceTimersByTimeAsync(4000);
    expect(first.outcome).toBe('waiting');
    await vi.advanceTimersByTimeAsync(1500);
    expect(reasonOf(first.error)).toBe('budget_unreachable');

    const other = createRateLimiter({ requests: 100, windowSeconds: 300, shared: hang });
    const second = settle(other);
    await vi.advanceTimersByTimeAsync(1000);
    expect(second.outcome).toBe('waiting');
    other.close();
    await vi.advanceTimersByTimeAsync(0);
    expect(reasonOf(second.error)).toBe('closed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is found behind the errors the SDK wraps it in', () => {
    const refusal = new RateLimiterAbortedError('closed', 'stopping');
    const wrapped = new Error('Connection error.', { cause: refusal });
    expect(
      limiterRefusal(
        new ProviderError({ provider: 'cloudflare', kind: 'transient', message: 'x', cause: wrapped }),
      ),
    ).toBe(refusal);
    expect(limiterRefusal(new Error('Connection error.'))).toBeNull();
  });
});
