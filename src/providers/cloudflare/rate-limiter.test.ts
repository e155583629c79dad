import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limiter.js';
import { endpointLabel } from './cloudflare-api.js';

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

  it('folds ids out of endpoint labels', () => {
    expect(endpointLabel('post', 'http://x/client/v4/accounts/0123456789abcdef0123456789abcdef/cfd_tunnel')).toBe('POST /accounts/:id/cfd_tunnel');
    expect(endpointLabel('PUT', 'http://x/client/v4/accounts/0123456789abcdef0123456789abcdef/cfd_tunnel/c1744f8b-faa1-48a4-9e5c-02ac921467fa/configurations')).toBe(
      'PUT /accounts/:id/cfd_tunnel/:id/configurations',
    );
  });
});
