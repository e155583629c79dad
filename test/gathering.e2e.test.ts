/**
 * Gathering across a burst: route changes that keep coming for longer than `maxDebounceMs`
 * still cost one configuration PUT per remote tunnel. A pass that starts in the middle of the
 * burst sends its DNS batches but puts the PUTs off; they go once the burst is quiet. A lone
 * route is pushed at once, and deletions in a burst keep their order: a route's row leaves the
 * store only once its hostname has left the tunnel's configuration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultReconcilerOptions } from '../src/reconciler/index.js';
import { startStack, eventually, type Stack } from './support/stack.js';
import { cfView } from './support/cloudflare-view.js';

const CONFIG_PUT = { method: 'PUT', route: '/accounts/:account/cfd_tunnel/:tunnel/configurations' };
const DNS_BATCH = { method: 'POST', route: '/zones/:zone/dns_records/batch' };
const TUNNELS = 4;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let stack: Stack;
const tunnels: Array<{ name: string; id: string }> = [];
beforeAll(async () => {
  stack = await startStack({ configMode: 'remote' });
  const user = (await stack.runtime.store.users.byName('user1'))!;
  await stack.runtime.store.users.update(user.id, { quota_routes: 200 });
  const u = stack.as('user1');
  for (let i = 0; i < TUNNELS; i++) {
    const t = await u.post('/api/v1/tunnels?wait=10', {});
    expect(t.status).toBe(201);
    tunnels.push({ name: t.body.name, id: t.body.id });
  }
});
afterAll(async () => stack?.stop());

/** Configuration PUTs per Cloudflare tunnel id among the calls logged since the last clear. */
function putsPerTunnel(): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of stack.cf.control.requests(CONFIG_PUT)) {
    const id = r.path.split('/')[4]!;
    out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

/** Hostnames in each tunnel's remote configuration, by Cloudflare id. */
function ingressHosts(): Map<string, string[]> {
  return new Map(cfView(stack.cf).tunnels.map((t) => [t.id, (t.ingress ?? []).flatMap((i) => (i.hostname ? [i.hostname] : []))]));
}

/** Posts (or deletes) one change every `gapMs`, round-robin over the tunnels, as the benchmark does. */
async function burst(n: number, gapMs: number, change: (i: number) => Promise<void>) {
  const started = Date.now();
  for (let i = 0; i < n; i++) {
    await change(i);
    const next = started + (i + 1) * gapMs;
    await sleep(Math.max(0, next - Date.now()));
  }
  return Date.now() - started;
}

describe('a burst longer than maxDebounceMs', () => {
  const routes: Array<{ tunnel: string; name: string; hostname: string }> = [];

  it('costs one configuration PUT per remote tunnel, with every route live', async () => {
    const u = stack.as('user1');
    stack.cf.control.clearRequests();
    let lastPostAt = 0;
    // 40 routes, one every 75 ms: about 3 s of changes, never 150 ms apart.
    const took = await burst(40, 75, async (i) => {
      const t = tunnels[i % TUNNELS]!;
      const r = await u.post(`/api/v1/tunnels/${t.name}/routes?wait=0`, { name: `b${i}`, service: `http://10.0.0.${i}:80` });
      expect(r.status).toBe(202);
      routes.push({ tunnel: t.name, name: `b${i}`, hostname: r.body.hostname });
      lastPostAt = Date.now();
    });
    expect(took).toBeGreaterThan(defaultReconcilerOptions.maxDebounceMs + 500);
    await eventually(async () => {
      const items = (await u.get('/api/v1/tunnels?limit=10')).body.items as any[];
      return items.every((t) => t.phase === 'ready' && t.routes.every((r: any) => r.phase === 'ready')) && items.reduce((n, t) => n + t.routes.length, 0) === 40;
    }, 20_000, 100);

    // A pass did run in the middle of the burst: its DNS batch went out before the last POST.
    const batches = stack.cf.control.requests(DNS_BATCH);
    expect(Date.parse(batches[0]!.time)).toBeLessThan(lastPostAt);
    // Yet each tunnel got one configuration PUT, holding all of its routes.
    expect([...putsPerTunnel().entries()].sort()).toEqual(tunnels.map((t) => [t.id, 1] as const).sort());
    const hosts = ingressHosts();
    for (const t of tunnels) {
      expect(hosts.get(t.id)!.sort()).toEqual(routes.filter((r) => r.tunnel === t.name).map((r) => r.hostname).sort());
    }
    // Every route's record exists, once.
    const records = cfView(stack.cf).records;
    expect(records.map((r) => r.name).sort()).toEqual(routes.map((r) => r.hostname).sort());
  }, 30_000);

  it('pushes a lone route at once', async () => {
    const u = stack.as('user1');
    await sleep(300);
    stack.cf.control.clearRequests();
    const t = tunnels[0]!;
    const started = Date.now();
    const r = await u.post(`/api/v1/tunnels/${t.name}/routes?wait=10`, { name: 'lone', service: 'http://10.0.1.1:80' });
    const answered = Date.now() - started;
    expect(r.status).toBe(201);
    routes.push({ tunnel: t.name, name: 'lone', hostname: r.body.hostname });
    expect(ingressHosts().get(t.id)).toContain(r.body.hostname);
    // The gathering delay (150 ms) and a pass, not a deferral.
    expect(answered).toBeLessThan(1500);
    expect([...putsPerTunnel().entries()]).toEqual([[t.id, 1]]);
  });

  it('deletes in a burst with one PUT per tunnel, each row kept until its hostname left the configuration', async () => {
    const u = stack.as('user1');
    await sleep(300);
    stack.cf.control.clearRequests();
    const doomed = routes.filter((r) => r.name !== 'lone').slice(0, 32);
    // While the burst runs, no route row may be gone while its hostname is still served.
    const violations: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const hosts = ingressHosts();
        const rows = new Set((await stack.runtime.store.db.selectFrom('routes').select('hostname').execute()).map((r) => r.hostname));
        for (const t of tunnels) for (const h of hosts.get(t.id) ?? []) if (!rows.has(h)) violations.push(h);
        await sleep(20);
      }
    })();
    const took = await burst(doomed.length, 90, async (i) => {
      const r = doomed[i]!;
      const res = await u.del(`/api/v1/tunnels/${r.tunnel}/routes/${r.name}?wait=0`);
      expect([202, 204]).toContain(res.status);
    });
    expect(took).toBeGreaterThan(defaultReconcilerOptions.maxDebounceMs + 500);
    const left = routes.filter((r) => !doomed.includes(r));
    await eventually(async () => {
      const rows = await stack.runtime.store.db.selectFrom('routes').select('hostname').execute();
      return rows.length === left.length;
    }, 20_000, 100);
    sampling = false;
    await sampler;
    expect(violations).toEqual([]);
    expect([...putsPerTunnel().entries()].sort()).toEqual(tunnels.map((t) => [t.id, 1] as const).sort());
    const hosts = ingressHosts();
    for (const t of tunnels) {
      expect(hosts.get(t.id)!.sort()).toEqual(left.filter((r) => r.tunnel === t.name).map((r) => r.hostname).sort());
    }
    expect(cfView(stack.cf).records.map((r) => r.name).sort()).toEqual(left.map((r) => r.hostname).sort());
  }, 30_000);
});
