/**
 * The API serves tunnels and config.yaml from a cache of rendered views: what it answers must
 * always be what the database holds now, whoever changed it (the API, the reconciler, another
 * replica, an operator's SQL), and be the document the response schema describes.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
let tunnel: string;

beforeAll(async () => {
  stack = await startStack();
  const user1 = stack.as('user1');
  tunnel = (await user1.post('/api/v1/tunnels', {})).body.name;
  await user1.post(`/api/v1/tunnels/${tunnel}/routes`, { service: 'http://localhost:8000', name: 'web' });
  await user1.post(`/api/v1/tunnels/${tunnel}/routes`, {
    service: 'tcp://localhost:5432',
    name: 'db',
    allowIps: ['10.0.0.0/8'],
  });
});
afterAll(async () => stack?.stop());

const metric = async (name: string) => {
  const text = (await stack.as('user1').get('/metrics')).text;
  return Number(
    text
      .split('\n')
      .find((l) => l.startsWith(name))
      ?.split(' ')[1] ?? NaN,
  );
};

describe('rendered views', () => {
  it('lists the same document as the uncached endpoints, and serves repeats from the cache', async () => {
    const user1 = stack.as('user1');
    const list = await user1.get('/api/v1/tunnels');
    expect(list.status).toBe(200);
    expect(list.headers.get('content-type')).toMatch(/^application\/json/);
    const [item] = list.body.items;
    expect(list.body.nextCursor).toBeNull();
    expect(Object.keys(item)).toEqual([
      'name',
      'id',
      'owner',
      'configMode',
      'phase',
      'lastError',
      'generation',
      'observedGeneration',
      'createdAt',
      'expiresAt',
      'connectors',
      'routes',
    ]);
    expect(item).toMatchObject({ name: tunnel, owner: 'user1', phase: 'ready' });
    // GET …/routes renders through the response schema, without the cache.
    expect(item.routes).toEqual((await user1.get(`/api/v1/tunnels/${tunnel}/routes`)).body.items);
    expect(item.routes.map((r: { name: string }) => r.name)).toEqual(['db', 'web']);
    expect(item.routes[0]).toMatchObject({ protectedBy: 'access', allowIps: ['10.0.0.0/8'], phase: 'ready' });
    expect((await user1.get(`/api/v1/tunnels/${tunnel}`)).body).toEqual(item);

    const hits = await metric('tunnelplane_view_cache_lookups_total{result="hit"}');
    await user1.get('/api/v1/tunnels');
    await user1.get(`/tunnels/${tunnel}/config`);
    await user1.get(`/tunnels/${tunnel}/config`);
    expect(await metric('tunnelplane_view_cache_lookups_total{result="hit"}')).toBeGreaterThanOrEqual(
      hits + 2,
    );
    expect(await metric('tunnelplane_view_cache_bytes')).toBeGreaterThan(0);
  });

  it('never serves a view older than the database, whoever wrote it', async () => {
    const user1 = stack.as('user1');
    const routes = async () =>
      (await user1.get('/api/v1/tunnels')).body.items[0].routes as Array<Record<string, unknown>>;
    const config = async () =>
      parse((await user1.get(`/tunnels/${tunnel}/config`)).text) as {
        ingress: Array<{ hostname?: string; service: string }>;
      };
    expect((await routes()).find((r) => r.name === 'web')).toMatchObject({
      phase: 'ready',
      service: 'http://localhost:8000',
    });
    expect((await config()).ingress.map((i) => i.service)).toEqual([
      'tcp://localhost:5432',
      'http://localhost:8000',
      'http_status:404',
    ]);

    // Another writer (another replica, an operator) changes a route behind this server's back.
    await sql`update routes set phase = 'error', last_error = 'edited elsewhere', service = 'http://localhost:8001' where name = 'web'`.execute(
      stack.runtime.store.db,
    );
    expect((await routes()).find((r) => r.name === 'web')).toMatchObject({
      phase: 'error',
      lastError: 'edited elsewhere',
      service: 'http://localhost:8001',
    });
    expect((await config()).ingress.map((i) => i.service)).toContain('http://localhost:8001');

    // A route added and one deleted through the API.
    await user1.post(`/api/v1/tunnels/${tunnel}/routes`, { service: 'http://localhost:9000', name: 'extra' });
    expect((await routes()).map((r) => r.name)).toEqual(['extra', 'db', 'web']);
    expect((await user1.request('DELETE', `/api/v1/tunnels/${tunnel}/routes/extra`)).status).toBe(204);
    expect((await routes()).map((r) => r.name)).toEqual(['db', 'web']);
    expect((await config()).ingress.map((i) => i.hostname ?? i.service)).not.toContain(
      expect.stringMatching(/^extra-/),
    );

    // The tunnel's own fields, changed behind the server's back.
    await sql`update tunnels set last_error = 'tunnel note' where name = ${tunnel}`.execute(
      stack.runtime.store.db,
    );
    expect((await user1.get('/api/v1/tunnels')).body.items[0].lastError).toBe('tunnel note');
  });

  it('keeps every page of a list fresh, and a claim by the reconciler costs no re-render', async () => {
    const user1 = stack.as('user1');
    const second = (await user1.post('/api/v1/tunnels', {})).body.name;
    const first = await user1.get('/api/v1/tunnels?limit=1');
    expect(first.body.items.map((t: { name: string }) => t.name)).toEqual([tunnel]);
    const page2 = () =>
      user1.get(`/api/v1/tunnels?limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect((await page2()).body.items[0]).toMatchObject({ name: second, lastError: null });
    await sql`update tunnels set last_error = 'second note' where name = ${second}`.execute(
      stack.runtime.store.db,
    );
    expect((await page2()).body.items[0]).toMatchObject({ name: second, lastError: 'second note' });
    await sql`update routes set phase = 'error' where name = 'db'`.execute(stack.runtime.store.db);
    expect(
      (await user1.get('/api/v1/tunnels?limit=1')).body.items[0].routes.find(
        (r: { name: string }) => r.name === 'db',
      ).phase,
    ).toBe('error');

    await user1.get('/api/v1/tunnels?limit=1');
    const misses = await metric('tunnelplane_view_cache_lookups_total{result="miss"}');
    expect(misses).toBeGreaterThan(0);
    await sql`update tunnels set lease_owner = 'another-replica', lease_until = '2099-01-01T00:00:00.000Z', attempts = attempts + 1`.execute(
      stack.runtime.store.db,
    );
    await user1.get('/api/v1/tunnels?limit=1');
    expect(await metric('tunnelplane_view_cache_lookups_total{result="miss"}')).toBe(misses);
    await sql`update tunnels set lease_owner = null, lease_until = null, attempts = 0`.execute(
      stack.runtime.store.db,
    );
    expect((await user1.del(`/api/v1/tunnels/${second}`)).status).toBeLessThan(300);
  });

  it("keeps users apart: the same cache never answers one user with another's tunnels", async () => {
    const user2 = stack.as('user2');
    const own = (await user2.post('/api/v1/tunnels', {})).body.name;
    const list = await user2.get('/api/v1/tunnels');
    expect(list.body.items.map((t: { name: string }) => t.name)).toEqual([own]);
    expect((await user2.get(`/tunnels/${tunnel}/config`)).status).toBe(404);
    expect(
      (await stack.as('admin').get('/api/v1/admin/tunnels')).body.items
        .map((t: { owner: string }) => t.owner)
        .sort(),
    ).toEqual(['user1', 'user2']);
  });

  it("serves a repeated config.yaml of one's own tunnel from the cache, and never once the name is someone else's", async () => {
    const user1 = stack.as('user1');
    const user2 = stack.as('user2');
    const name = (await user1.post('/api/v1/tunnels', {})).body.name;
    await user1.post(`/api/v1/tunnels/${name}/routes`, { service: 'http://localhost:7000', name: 'mine' });
    const first = await user1.get(`/tunnels/${name}/config`);
    expect(first.status).toBe(200);
    const hits = await metric('tunnelplane_view_cache_lookups_total{result="hit"}');
    const again = await user1.get(`/tunnels/${name}/config`);
    expect(again.text).toBe(first.text);
    expect(await metric('tunnelplane_view_cache_lookups_total{result="hit"}')).toBe(hits + 1);
    // A route changed behind the server's back moves the owner's list version: a fresh render.
    await sql`update routes set service = 'http://localhost:7001' where name = 'mine'`.execute(
      stack.runtime.store.db,
    );
    expect((await user1.get(`/tunnels/${name}/config`)).text).toContain('http://localhost:7001');
    // The tunnel handed to another user by SQL: user1 no longer has it, whatever was cached.
    await sql`update tunnels set owner_id = (select id from users where name = 'user2') where name = ${name}`.execute(
      stack.runtime.store.db,
    );
    expect((await user1.get(`/tunnels/${name}/config`)).status).toBe(404);
    expect((await user2.get(`/tunnels/${name}/config`)).text).toContain('http://localhost:7001');
    expect((await user2.del(`/api/v1/tunnels/${name}`)).status).toBeLessThan(300);
  });
});
