/**
 * A zone whose record quota is used up (a Free zone holds 200 records): the refused batch was
 * all-or-nothing, so nothing is looked up name by name; the routes carry a clear error of their
 * own, their tunnel stays ready, and once records are freed a resync gives them their records.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, eventually, type Stack } from './support/stack.js';
import { cfHand } from './support/cloudflare-hand.js';

const QUOTA = 200; // the emulator's Free plan
const DNS_BATCH = { method: 'POST', route: '/zones/:zone/dns_records/batch' };

let stack: Stack;
const filler: string[] = [];
beforeAll(async () => {
  stack = await startStack();
  // Someone else's records fill the zone to its quota (in two batches).
  const hand = cfHand(stack.cf);
  const names = Array.from({ length: QUOTA }, (_, i) => `filler-${i}.example.com`);
  for (let i = 0; i < names.length; i += 100) {
    const res = await hand.call('POST', `/zones/${stack.cf.zoneId}/dns_records/batch`, {
      posts: names
        .slice(i, i + 100)
        .map((name) => ({ type: 'A', name, content: '192.0.2.1', ttl: 1, proxied: false })),
    });
    filler.push(...res.posts.map((r: { id: string }) => r.id));
  }
});
afterAll(async () => stack?.stop());

async function routeRows(tunnel: string) {
  const row = (await stack.runtime.store.tunnels.byName(tunnel))!;
  return (await stack.runtime.store.work.routesOf([row.id])).get(row.id) ?? [];
}

describe('the zone record quota', () => {
  it('makes the routes fail with a clear message, without draining the API budget', async () => {
    const u = stack.as('user1');
    const t = (await u.post('/api/v1/tunnels?wait=10', {})).body;
    expect(t.phase).toBe('ready');
    stack.cf.control.clearRequests();
    const routes = [];
    for (let i = 0; i < 5; i++)
      routes.push(
        (await u.post(`/api/v1/tunnels/${t.name}/routes`, { service: `http://localhost:${8000 + i}` })).body,
      );
    await eventually(async () =>
      (await u.get(`/api/v1/tunnels/${t.name}`)).body.routes.every((r: any) => r.phase === 'error'),
    );
    const shown = (await u.get(`/api/v1/tunnels/${t.name}`)).body;
    expect(shown.phase).toBe('ready');
    for (const r of shown.routes)
      expect(r.lastError).toMatch(/record quota is used up.*Delete unused routes or records/);
    // At most one refused batch per route POST (each may start a pass); then nothing more is
    // asked of Cloudflare, and no name is looked up.
    const batches = stack.cf.control.requests(DNS_BATCH);
    expect(batches.length).toBeGreaterThanOrEqual(1);
    expect(batches.length).toBeLessThanOrEqual(5);
    expect(batches.every((b: any) => b.status === 400)).toBe(true);
    stack.cf.control.clearRequests();
    await new Promise((r) => setTimeout(r, 1500));
    expect(stack.cf.control.requests()).toHaveLength(0);
    const rows = await routeRows(t.name);
    expect(rows).toHaveLength(5);
    expect(rows.every((r) => !r.objects.dnsUncertain && !r.objects.dnsRecordId)).toBe(true);
  });

  it('gives the routes their records at the next resync once records are freed', async () => {
    const u = stack.as('user1');
    const hand = cfHand(stack.cf);
    for (const id of filler.splice(0, 10)) await hand.deleteRecord(id);
    const result = await stack.runtime.reconciler!.resync();
    expect(result.requeued).toBeGreaterThanOrEqual(1);
    const t = (await u.get('/api/v1/tunnels')).body.items[0];
    await eventually(async () =>
      (await u.get(`/api/v1/tunnels/${t.name}`)).body.routes.every(
        (r: any) => r.phase === 'ready' && r.lastError === null,
      ),
    );
    const records = await hand.call('GET', `/zones/${stack.cf.zoneId}/dns_records?per_page=5000&type=CNAME`);
    expect(records).toHaveLength(5);
  });

  it('still deletes when the zone is full, and leaks no record', async () => {
    const u = stack.as('user1');
    const t = (await u.get('/api/v1/tunnels')).body.items[0];
    const gone = (await u.get(`/api/v1/tunnels/${t.name}`)).body.routes[0];
    // Fill the zone again (10 records were freed, 5 taken).
    await cfHand(stack.cf).call('POST', `/zones/${stack.cf.zoneId}/dns_records/batch`, {
      posts: Array.from({ length: 5 }, (_, i) => ({
        type: 'A',
        name: `refill-${i}.example.com`,
        content: '192.0.2.1',
        ttl: 1,
        proxied: false,
      })),
    });
    // Back to back: the delete and the new routes may share one batch, which the full zone refuses whole.
    const [del, ...added] = await Promise.all([
      u.del(`/api/v1/tunnels/${t.name}/routes/${gone.name}`),
      u.post(`/api/v1/tunnels/${t.name}/routes`, { service: 'http://localhost:9001' }),
      u.post(`/api/v1/tunnels/${t.name}/routes`, { service: 'http://localhost:9002' }),
    ]);
    expect(del.status).toBe(204);
    await eventually(async () => {
      const routes = (await u.get(`/api/v1/tunnels/${t.name}`)).body.routes;
      return (
        routes.length === 6 &&
        routes.every((r: any) => r.name !== gone.name) &&
        added.every((a) => routes.find((r: any) => r.name === a.body.name)?.phase === 'error')
      );
    });
    expect((await routeRows(t.name)).map((r) => r.name)).not.toContain(gone.name);
    const records = await cfHand(stack.cf).call(
      'GET',
      `/zones/${stack.cf.zoneId}/dns_records?per_page=5000&type=CNAME`,
    );
    expect(records.map((r: any) => r.name)).not.toContain(gone.hostname);
    const rows = await routeRows(t.name);
    // Every record of ours belongs to a route that knows it: nothing leaked, nothing uncertain.
    expect(records.map((r: any) => r.id).sort()).toEqual(
      rows.flatMap((r) => (r.objects.dnsRecordId ? [r.objects.dnsRecordId] : [])).sort(),
    );
    expect(rows.every((r) => !r.objects.dnsUncertain)).toBe(true);
  });
});
