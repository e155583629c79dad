/**
 * Expiring tunnels and routes (`ttlSeconds`): the API shows `expiresAt`, and once it has come the
 * reconciler deletes them by itself — the route's DNS record and the tunnel gone from Cloudflare,
 * a `route.expired` / `tunnel.expired` event in the owner's trail — whatever became of the client
 * that asked (`tunnelctl share` killed with SIGKILL). Quotas apply to them as to any other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cfView } from './support/cloudflare-view.js';
import { eventually, startStack, type Stack } from './support/stack.js';

describe('expiring tunnels and routes', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ configMode: 'remote' });
  });
  afterAll(async () => stack?.stop());

  /** Lets `expires_at` come now (the smallest TTL the API takes is a minute). */
  const expireNow = async (table: 'routes' | 'tunnels', id: string) =>
    stack.runtime.store.db
      .updateTable(table)
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', id)
      .execute();

  it('shows expiresAt and deletes an expired route by itself', async () => {
    const u = stack.as('user1');
    const t = (await u.post('/api/v1/tunnels?wait=10', {})).body;
    const before = Date.now();
    const r = await u.post(`/api/v1/tunnels/${t.name}/routes?wait=10`, {
      service: 'http://localhost:3000',
      ttlSeconds: 3600,
    });
    expect(r.status).toBe(201);
    const expiresAt = Date.parse(r.body.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 3600_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
    expect((await u.get(`/api/v1/tunnels/${t.name}`)).body.routes[0].expiresAt).toBe(r.body.expiresAt);
    expect(cfView(stack.cf).records.map((x) => x.name)).toContain(r.body.hostname);

    const row = (await stack.runtime.store.db
      .selectFrom('routes')
      .select('id')
      .where('hostname', '=', r.body.hostname)
      .executeTakeFirstOrThrow())!;
    await expireNow('routes', row.id);
    await eventually(async () => !cfView(stack.cf).records.some((x) => x.name === r.body.hostname), 20_000);
    await eventually(async () => (await u.get(`/api/v1/tunnels/${t.name}`)).body.routes.length === 0);
    const events = (await u.get('/api/v1/events?limit=50')).body.items as Array<{
      action: string;
      actor: string;
      target: string;
    }>;
    expect(events.find((e) => e.action === 'route.expired')).toMatchObject({
      actor: 'tunnelplane',
      target: `${t.name}/${r.body.name}`,
    });
  });

  it('deletes an expired tunnel with its routes, and refuses a TTL outside a minute to 30 days', async () => {
    const u = stack.as('user2');
    const t = (await u.post('/api/v1/tunnels?wait=10', { ttlSeconds: 600 })).body;
    expect(Date.parse(t.expiresAt)).toBeGreaterThan(Date.now() + 590_000);
    await u.post(`/api/v1/tunnels/${t.name}/routes?wait=10`, { service: 'http://localhost:3001' });
    const row = (await stack.runtime.store.tunnels.byName(t.name))!;
    await expireNow('tunnels', row.id);
    await eventually(async () => !cfView(stack.cf).tunnels.some((x) => x.id === t.id), 20_000);
    await eventually(async () => (await u.get(`/api/v1/tunnels/${t.name}`)).status === 404);
    const actions = ((await u.get('/api/v1/events?limit=50')).body.items as Array<{ action: string }>).map(
      (e) => e.action,
    );
    expect(actions).toContain('tunnel.expired');
    for (const ttlSeconds of [59, 2592001, 1.5])
      expect((await u.post('/api/v1/tunnels?wait=0', { ttlSeconds })).body.error.code).toBe(
        'request.invalid',
      );
  });
});
