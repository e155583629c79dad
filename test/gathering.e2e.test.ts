/**
 * Gathering across a burst, end to end against the emulator, with the clock the gathering
 * decides by under the test's control (so nothing here depends on how busy the machine is):
 * route changes that keep coming for longer than `maxDebounceMs` still cost one configuration
 * PUT per remote tunnel and one DNS batch. A pass in the middle of the burst puts the PUTs off,
 * and the new records of those tunnels with them; they go once the burst is quiet. A lone route
 * is pushed at once, and deletions in a burst keep their order: a route's row leaves the store
 * only once its hostname has left the tunnel's configuration. (src/reconciler/gathering.test.ts
 * holds the same rules for passes of any duration.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox } from '../src/domain/secret-box.js';
import { ownership } from '../src/domain/ownership.js';
import { createReconciler, defaultReconcilerOptions, type Reconciler } from '../src/reconciler/index.js';
import { startStack, type Stack } from './support/stack.js';
import { cfView } from './support/cloudflare-view.js';

const CONFIG_PUT = { method: 'PUT', route: '/accounts/:account/cfd_tunnel/:tunnel/configurations' };
const DNS_BATCH = { method: 'POST', route: '/zones/:zone/dns_records/batch' };
const TUNNELS = 4;
const { debounceMs, maxDebounceMs } = defaultReconcilerOptions;

let stack: Stack;
let reconciler: Reconciler;
/** The gathering's clock, moved by the test only. */
let now = 1_000_000;
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
  // From here on passes run only when the test says, as the loop would run them.
  await stack.runtime.reconciler!.stop();
  const store = stack.runtime.store;
  reconciler = createReconciler({
    work: store.work,
    resync: store.resync,
    events: store.events,
    leases: store.leases,
    settings: store.settings,
    signals: store.signals,
    cloudflare: stack.runtime.cloudflare,
    secrets: createSecretBox(Buffer.from(stack.runtime.config.secretKey!, 'base64')),
    logger: { info() {}, warn() {}, error() {} },
    ownership: ownership('test'),
    zones: stack.runtime.zones,
    options: { ...defaultReconcilerOptions, owner: 'gathering-test', resyncMs: 0 },
    now: () => now,
  });
  reconciler.start({ loop: false });
});
afterAll(async () => {
  await reconciler?.stop();
  await stack?.stop();
});

function putsPerTunnel(): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of stack.cf.control.requests(CONFIG_PUT)) {
    const id = r.path.split('/')[4]!;
    out.set(id, (out.get(id) ?? 0) + 1);
  }
  return out;
}

function ingressHosts(): Map<string, string[]> {
  return new Map(
    cfView(stack.cf).tunnels.map((t) => [
      t.id,
      (t.ingress ?? []).flatMap((i) => (i.hostname ? [i.hostname] : [])),
    ]),
  );
}

const allPuts = () => [...putsPerTunnel().entries()].sort();
const onePerTunnel = () => tunnels.map((t) => [t.id, 1] as const).sort();

describe('a burst longer than maxDebounceMs', () => {
  const routes: Array<{ tunnel: string; name: string; hostname: string }> = [];

  it('costs one configuration PUT per remote tunnel, with every route live', async () => {
    const u = stack.as('user1');
    stack.cf.control.clearRequests();
    // 40 routes, one every 75 ms of the gathering's clock: 3 s of changes, never 150 ms apart.
    for (let i = 0; i < 40; i++) {
      const t = tunnels[i % TUNNELS]!;
      const r = await u.post(`/api/v1/tunnels/${t.name}/routes?wait=0`, {
        name: `b${i}`,
        service: `http://10.0.0.${i}:80`,
      });
      expect(r.status).toBe(202);
      routes.push({ tunnel: t.name, name: `b${i}`, hostname: r.body.hostname });
      now += 75;
      // The loop passes at most maxDebounceMs after the burst began, in the middle of it.
      if ((i + 1) * 75 === Math.ceil(maxDebounceMs / 75) * 75) {
        await reconciler.gatheringPass();
        // Its tunnels' PUTs are put off, and so are their new records (they would not make a
        // remote route live before its ingress does).
        expect(stack.cf.control.requests(DNS_BATCH)).toEqual([]);
        expect(allPuts()).toEqual([]);
      }
    }
    // Quiet: the next pass pushes each tunnel's configuration, once.
    now += debounceMs;
    while ((await reconciler.gatheringPass()) > 0) now += debounceMs;
    expect(allPuts()).toEqual(onePerTunnel());
    expect(stack.cf.control.requests(DNS_BATCH)).toHaveLength(1);
    const items = (await u.get('/api/v1/tunnels?limit=10')).body.items as any[];
    expect(items.every((t) => t.phase === 'ready' && t.routes.every((r: any) => r.phase === 'ready'))).toBe(
      true,
    );
    expect(items.reduce((n, t) => n + t.routes.length, 0)).toBe(40);
    const hosts = ingressHosts();
    for (const t of tunnels)
      expect(hosts.get(t.id)!.sort()).toEqual(
        routes
          .filter((r) => r.tunnel === t.name)
          .map((r) => r.hostname)
          .sort(),
      );
    expect(
      cfView(stack.cf)
        .records.map((r) => r.name)
        .sort(),
    ).toEqual(routes.map((r) => r.hostname).sort());
  });

  it('pushes a lone route at once', async () => {
    const u = stack.as('user1');
    now += 10_000;
    stack.cf.control.clearRequests();
    const t = tunnels[0]!;
    const r = await u.post(`/api/v1/tunnels/${t.name}/routes?wait=0`, {
      name: 'lone',
      service: 'http://10.0.1.1:80',
    });
    expect(r.status).toBe(202);
    routes.push({ tunnel: t.name, name: 'lone', hostname: r.body.hostname });
    // The first pass after the gathering delay pushes it: no deferral for a lone change.
    now += debounceMs;
    expect(await reconciler.gatheringPass()).toBe(1);
    expect(ingressHosts().get(t.id)).toContain(r.body.hostname);
    expect([...putsPerTunnel().entries()]).toEqual([[t.id, 1]]);
  });

  it('deletes in a burst with one PUT per tunnel, each row kept until its hostname left the configuration', async () => {
    const u = stack.as('user1');
    now += 10_000;
    stack.cf.control.clearRequests();
    const doomed = routes.filter((r) => r.name !== 'lone').slice(0, 32);
    const violations: string[] = [];
    const check = async () => {
      const hosts = ingressHosts();
      const rows = new Set(
        (await stack.runtime.store.db.selectFrom('routes').select('hostname').execute()).map(
          (r) => r.hostname,
        ),
      );
      for (const t of tunnels) for (const h of hosts.get(t.id) ?? []) if (!rows.has(h)) violations.push(h);
    };
    for (let i = 0; i < doomed.length; i++) {
      const r = doomed[i]!;
      const res = await u.del(`/api/v1/tunnels/${r.tunnel}/routes/${r.name}?wait=0`);
      expect(res.status).toBe(202);
      now += 90;
      if (i % 8 === 7) {
        await reconciler.gatheringPass();
        await check();
      }
    }
    expect(allPuts()).toEqual([]);
    now += debounceMs;
    while ((await reconciler.gatheringPass()) > 0) {
      await check();
      now += debounceMs;
    }
    expect(violations).toEqual([]);
    expect(allPuts()).toEqual(onePerTunnel());
    const left = routes.filter((r) => !doomed.includes(r));
    expect((await stack.runtime.store.db.selectFrom('routes').select('hostname').execute()).length).toBe(
      left.length,
    );
    const hosts = ingressHosts();
    for (const t of tunnels)
      expect(hosts.get(t.id)!.sort()).toEqual(
        left
          .filter((r) => r.tunnel === t.name)
          .map((r) => r.hostname)
          .sort(),
      );
    expect(
      cfView(stack.cf)
        .records.map((r) => r.name)
        .sort(),
    ).toEqual(left.map((r) => r.hostname).sort());
  });
});
