/**
 * The reconciler's loop, running as `serve` runs it (real time): while a remote tunnel's
 * configuration PUT is put off (its owner's changes came one after another, a burst by their
 * pace), the loop decides again every `debounceMs` or at the next change, not in a spin of
 * passes that read the store and find the same. The route still goes live within its `?wait`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';

const CONFIG_PUT = { method: 'PUT', route: '/accounts/:account/cfd_tunnel/:tunnel/configurations' };

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ configMode: 'remote' });
});
afterAll(async () => {
  await stack?.stop();
});

/** Passes the loop has run so far, from the server's own metrics. */
async function passes(): Promise<number> {
  const text = await (await fetch(`${stack.url}/metrics`)).text();
  return [...text.matchAll(/^tunnelplane_reconciler_passes_total\{[^}]*\} (\d+)$/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
}

/** A remote tunnel of user1's with one live route: the owner's first two changes. */
async function tunnelWithARoute(): Promise<string> {
  const u = stack.as('user1');
  const t = await u.post('/api/v1/tunnels?wait=10', {});
  expect(t.status).toBe(201);
  const first = await u.post(`/api/v1/tunnels/${t.body.name}/routes?wait=10`, {
    service: 'http://localhost:8000',
  });
  expect(first.status).toBe(201);
  return t.body.name as string;
}

describe('a PUT put off while its owner goes on', () => {
  it('is decided again at a pace, not in a spin, and the route is live within its wait', async () => {
    const u = stack.as('user1');
    const name = await tunnelWithARoute();
    const before = await passes();
    const putsBefore = stack.cf.control.requests(CONFIG_PUT).length;
    const started = Date.now();
    // The owner's third change in a row: their burst by pace, so its PUT waits for the burst's end.
    const second = await u.post(`/api/v1/tunnels/${name}/routes?wait=10`, {
      service: 'http://localhost:9000',
    });
    const waitedMs = Date.now() - started;
    expect(second.status).toBe(201);
    expect(stack.cf.control.requests(CONFIG_PUT).length - putsBefore).toBe(1);
    // Each pass of the wait is one decision; a spin would have run one every few milliseconds.
    const ran = (await passes()) - before;
    expect(ran).toBeGreaterThan(0);
    expect(ran).toBeLessThanOrEqual(Math.ceil(waitedMs / 150) + 5);
  });
});

describe('a protected route while its tunnel’s PUT is put off', () => {
  it('has its name looked at once, and its record made with the look', async () => {
    const u = stack.as('user1');
    const name = await tunnelWithARoute();
    const looks = () =>
      stack.cf.control.requests({ method: 'GET', route: '/zones/:zone/dns_records' }).length;
    const looksBefore = looks();
    const guarded = await u.post(`/api/v1/tunnels/${name}/routes?wait=10`, {
      service: 'http://localhost:9000',
      allowIps: ['203.0.113.0/24'],
    });
    expect(guarded.status).toBe(201);
    // Its PUT put off (the owner's third change in a row), yet one look at its name.
    expect(looks() - looksBefore).toBe(1);
  });
});
