/**
 * The proof of concept's paths answer as its app.py did when something does not exist
 * (../shared/reference/poc.md): deleting a tunnel the caller does not have is a 200
 * `{"result":"error","message":"tunnel <name> configuration not found for user <user>"}`, and
 * deleting the routes of a service the tunnel has none of (already gone, never there) is a 200
 * `{"result":"ok","tunnel":…}` that removes nothing. Where poc.md is silent, today's answers stay:
 * an unknown tunnel on the other paths is a 404 with the error body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { cfView } from './support/cloudflare-view.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.stop());

const q = (service: string) => `?service=${encodeURIComponent(service)}`;

describe('DELETE /tunnels/{name} of a tunnel the caller does not have', () => {
  it('answers 200 result "error" with the original message, for an unknown name', async () => {
    const res = await stack.as('user1').del('/tunnels/nosuchone');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(res.body).toEqual({
      result: 'error',
      message: 'tunnel nosuchone configuration not found for user user1',
    });
  });

  it('answers the same for a name no tunnel can have (the original had no folder of it either)', async () => {
    const res = await stack.as('user2').del('/tunnels/Not_A-Name');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      result: 'error',
      message: 'tunnel Not_A-Name configuration not found for user user2',
    });
  });

  it("answers the same for someone else's tunnel, and leaves it alone", async () => {
    const made = await stack.as('user1').post('/tunnels');
    const name: string = made.body.tunnel.name;
    const res = await stack.as('user2').del(`/tunnels/${name}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      result: 'error',
      message: `tunnel ${name} configuration not found for user user2`,
    });
    const still = await stack.as('user1').get(`/api/v1/tunnels/${name}`);
    expect(still.status).toBe(200);
    expect(still.body.phase).toBe('ready');
    expect(cfView(stack.cf).tunnels.map((t) => t.id)).toContain(made.body.tunnel.config.tunnel);
    expect((await stack.as('user1').del(`/tunnels/${name}`)).body).toEqual({ result: 'ok', name });
  });

  it('answers "ok" once, then "error" when the same tunnel is deleted again', async () => {
    const u = stack.as('user1');
    const name: string = (await u.post('/tunnels')).body.tunnel.name;
    expect((await u.del(`/tunnels/${name}`)).body).toEqual({ result: 'ok', name });
    const again = await u.del(`/tunnels/${name}`);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({
      result: 'error',
      message: `tunnel ${name} configuration not found for user user1`,
    });
  });

  it('answers 200 result "error" with Cloudflare\'s error when the tunnel is not gone within the wait', async () => {
    const u = stack.as('user1');
    const name: string = (await u.post('/tunnels')).body.tunnel.name;
    stack.cf.control.addFault({
      method: 'DELETE',
      path: '/accounts/*/cfd_tunnel/*',
      times: 100_000,
      action: { type: 'error', status: 403, code: 10000, message: 'refused by the test' },
    });
    try {
      const res = await u.del(`/tunnels/${name}`);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        result: 'error',
        name,
        message: expect.stringContaining('refused by the test'),
      });
    } finally {
      stack.cf.control.clearFaults();
    }
    // Once Cloudflare agrees, the same call finishes it.
    expect((await u.del(`/tunnels/${name}`)).body).toEqual({ result: 'ok', name });
  }, 60_000);

  it('still refuses bad credentials with 401 (the auth layer answers first)', async () => {
    const res = await stack.as('user1', 'wrong-password').del('/tunnels/nosuchone');
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('auth.invalid');
  });
});

describe('DELETE /tunnels/{name}/routes?service=S when no route has service S', () => {
  it('answers 200 "ok" with the tunnel as it is, for a route already gone and one never there', async () => {
    const u = stack.as('user1');
    const made = (await u.post('/tunnels')).body.tunnel;
    const name: string = made.name;
    const kept = await u.post(`/tunnels/${name}/routes${q('http://localhost:9000')}`);
    expect(kept.body.result).toBe('ok');
    await u.post(`/tunnels/${name}/routes${q('http://localhost:8000')}`);
    const first = await u.del(`/tunnels/${name}/routes${q('http://localhost:8000')}`);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ result: 'ok', tunnel: kept.body.tunnel });

    const recordsBefore = cfView(stack.cf).records.map((r) => r.id);
    for (const service of ['http://localhost:8000', 'http://localhost:1234', 'ftp://not-a-route']) {
      const again = await u.del(`/tunnels/${name}/routes${q(service)}`);
      expect({ service, status: again.status, body: again.body }).toEqual({
        service,
        status: 200,
        body: { result: 'ok', tunnel: kept.body.tunnel },
      });
    }
    // Nothing was removed: the other route and its record are still there.
    expect(cfView(stack.cf).records.map((r) => r.id)).toEqual(recordsBefore);
    const routes = (await u.get(`/api/v1/tunnels/${name}/routes`)).body.items;
    expect(routes.map((r: { service: string; phase: string }) => [r.service, r.phase])).toEqual([
      ['http://localhost:9000', 'ready'],
    ]);
    await u.del(`/tunnels/${name}`);
  });

  it('keeps the original answer to a missing service, and 404 for an unknown tunnel', async () => {
    const u = stack.as('user1');
    const name: string = (await u.post('/tunnels')).body.tunnel.name;
    const missing = await u.del(`/tunnels/${name}/routes`);
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual({ message: "Missing parameter: 'service'" });
    const unknown = await u.del(`/tunnels/nosuchone/routes${q('http://localhost:8000')}`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('tunnel.not_found');
    // Someone else's tunnel does not exist for you there either.
    const foreign = await stack.as('user2').del(`/tunnels/${name}/routes${q('http://localhost:8000')}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('tunnel.not_found');
    await u.del(`/tunnels/${name}`);
  });
});
