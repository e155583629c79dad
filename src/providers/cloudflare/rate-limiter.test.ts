import { describe, expect, it } from 'vitest';
import { asTenant, createRateLimiter } from './rate-limiter.js';
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
