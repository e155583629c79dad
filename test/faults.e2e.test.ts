/**
 * Nothing lost, nothing leaked: with the emulator failing every kind of call (429, 5xx,
 * timeouts, "applied, then the connection dropped"), 50 routes over 5 tunnels converge to
 * exactly the desired state — no duplicate, no orphan, nothing missing — and deleting them all
 * leaves nothing behind. Then drift: hand edits come back, orphans go, foreign records stay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, eventually, type Stack } from './support/stack.js';
import { cfView } from './support/cloudflare-view.js';
import { cfHand } from './support/cloudflare-hand.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ configMode: 'remote', timeoutMs: 400 });
});
afterAll(async () => stack?.stop());

function injectEverywhere(times: number) {
  const c = stack.cf.control;
  const rules: Array<[string, string, any]> = [
    ['POST', '/accounts/*/cfd_tunnel', { type: 'drop-after-write' }],
    [
      'POST',
      '/accounts/*/cfd_tunnel',
      { type: 'error', status: 503, code: 10001, message: 'Service unavailable' },
    ],
    ['GET', '/accounts/*/cfd_tunnel', { type: 'error', status: 500, code: 10001, message: 'Internal error' }],
    ['POST', '/zones/*/dns_records/batch', { type: 'drop-after-write' }],
    ['POST', '/zones/*/dns_records/batch', { type: 'hang' }],
    [
      'POST',
      '/zones/*/dns_records/batch',
      { type: 'error', status: 429, code: 971, message: 'Please wait', retryAfter: 1 },
    ],
    ['GET', '/zones/*/dns_records', { type: 'error', status: 502, message: 'Bad gateway' }],
    ['PUT', '/accounts/*/cfd_tunnel/*/configurations', { type: 'drop-after-write' }],
    [
      'PUT',
      '/accounts/*/cfd_tunnel/*/configurations',
      { type: 'error', status: 500, code: 1002, message: 'Internal' },
    ],
    ['DELETE', '/accounts/*/cfd_tunnel/*', { type: 'drop-after-write' }],
    ['DELETE', '/accounts/*/cfd_tunnel/*/connections', { type: 'hang' }],
  ];
  for (const [method, path, action] of rules) c.addFault({ method, path, times, action });
}

async function exactState(
  expected: Array<{ name: string; routes: Array<{ hostname: string; service: string }> }>,
) {
  const u = stack.as('user1');
  const cf = cfView(stack.cf);
  const ids = new Map<string, string>();
  for (const t of expected) {
    const api = (await u.get(`/api/v1/tunnels/${t.name}`)).body;
    ids.set(t.name, api.id);
  }
  expect(cf.tunnels.map((t) => t.name).sort()).toEqual(
    expected.map((t) => `tunnelplane-test-${t.name}`).sort(),
  );
  const wantRecords = expected
    .flatMap((t) => t.routes.map((r) => `${r.hostname} -> ${ids.get(t.name)}.cfargotunnel.com`))
    .sort();
  expect(cf.records.map((r) => `${r.name} -> ${r.content}`).sort()).toEqual(wantRecords);
  for (const t of expected) {
    const cft = cf.tunnels.find((x) => x.id === ids.get(t.name))!;
    const ingress = [...(cft.ingress ?? [])];
    expect(ingress.pop()).toEqual({ service: 'http_status:404' });
    expect(ingress.map((i) => `${i.hostname} ${i.service}`).sort()).toEqual(
      t.routes.map((r) => `${r.hostname} ${r.service}`).sort(),
    );
  }
}

describe('faults on every kind of call', () => {
  const expected: Array<{ name: string; routes: Array<{ hostname: string; service: string }> }> = [];

  it('converges 50 routes over 5 tunnels to exactly the desired state', async () => {
    injectEverywhere(3);
    const u = stack.as('user1');
    await stack.runtime.store.users.update((await stack.runtime.store.users.byName('user1'))!.id, {
      quota_routes: 100,
    });
    for (let i = 0; i < 5; i++) {
      const t = await u.post('/api/v1/tunnels?wait=0', {});
      expect(t.status).toBe(202);
      expected.push({ name: t.body.name, routes: [] });
    }
    await Promise.all(
      expected.map(async (t) => {
        for (let j = 0; j < 10; j++) {
          const r = await u.post(`/api/v1/tunnels/${t.name}/routes?wait=0`, {
            service: `http://10.0.${j}.1:${8000 + j}`,
          });
          expect(r.status).toBe(202);
          t.routes.push({ hostname: r.body.hostname, service: r.body.service });
        }
      }),
    );
    let last: any[] = [];
    await eventually(
      async () => {
        last = (await u.get('/api/v1/tunnels?limit=10')).body.items;
        return (
          last.length === 5 &&
          last.every(
            (t: any) =>
              t.phase === 'ready' &&
              t.routes.length === 10 &&
              t.routes.every((r: any) => r.phase === 'ready'),
          )
        );
      },
      45_000,
      200,
    ).catch((err) => {
      const summary = last.map((t) => ({
        name: t.name,
        phase: t.phase,
        lastError: t.lastError,
        routes: t.routes.map((r: any) => r.phase).join(','),
      }));
      throw new Error(`${(err as Error).message}\n${JSON.stringify(summary, null, 1)}`);
    });
    await exactState(expected);
    const injected = stack.cf.control.requests().filter((r: any) => r.status >= 429 || r.status === 0).length;
    expect(injected).toBeGreaterThan(0);
  }, 60_000);

  it('stays put when converged: another pass makes no Cloudflare write', async () => {
    stack.cf.control.clearRequests();
    await stack.runtime.reconciler!.drain();
    const writes = stack.cf.control.requests().filter((r: any) => r.method !== 'GET');
    expect(writes).toEqual([]);
  });

  it('repairs drift and removes orphans, never touching records without our marker', async () => {
    stack.cf.control.clearFaults();
    const hand = cfHand(stack.cf);
    const cf = cfView(stack.cf);
    const victim = cf.records[0]!;
    const edited = cf.records[1]!;
    await hand.deleteRecord(victim.id);
    await hand.patchRecord(edited.id, { content: 'elsewhere.example.net' });
    const foreign = await hand.createRecord({
      type: 'CNAME',
      name: 'manual.example.com',
      content: 'x.example.net',
      proxied: true,
      comment: 'set by hand',
    });
    const orphan = await hand.createRecord({
      type: 'CNAME',
      name: 'zzzzzzzz-gone.example.com',
      content: 'x.cfargotunnel.com',
      proxied: true,
      comment: 'managed-by:tunnelplane/test tunnel=gone route=zzzzzzzz',
    });
    const orphanTunnel = await hand.createTunnel('tunnelplane-test-leftover');
    // Provably ours: this installation deleted the rows that named them (tombstones).
    await stack.tombstone('tunnel', 'gone');
    await stack.tombstone('tunnel', 'leftover');
    // Our marker, but nothing in this database vouches for them (a restored backup, a copied
    // configuration): reported, never deleted.
    const unvouchedRecord = await hand.createRecord({
      type: 'CNAME',
      name: 'yyyyyyyy-unknown.example.com',
      content: 'x.cfargotunnel.com',
      proxied: true,
      comment: 'managed-by:tunnelplane/test tunnel=unknown route=yyyyyyyy',
    });
    const unvouchedTunnel = await hand.createTunnel('tunnelplane-test-unknown');
    // Another installation's objects in the same account and zone: never ours to collect.
    const otherInstall = await hand.createTunnel('tunnelplane-prod-keepme');
    const otherRecord = await hand.createRecord({
      type: 'CNAME',
      name: 'keepme-prod.example.com',
      content: `${otherInstall.id}.cfargotunnel.com`,
      proxied: true,
      comment: 'managed-by:tunnelplane/prod tunnel=prod route=keepme',
    });
    const foreignTunnel = await hand.createTunnel('someone-elses');
    const remote = cf.tunnels[0]!;
    await hand.putConfig(remote.id, [{ service: 'http_status:503' }]);

    const result = await stack.runtime.reconciler!.resync();
    expect(result.orphanRecords).toBe(1);
    expect(result.orphanTunnels).toBe(1);
    expect(result.unvouched).toBe(2);
    await stack.runtime.reconciler!.drain();

    const after = cfView(stack.cf);
    expect(after.records.find((r) => r.name === victim.name)).toMatchObject({
      content: victim.content,
      proxied: true,
    });
    expect(after.records.find((r) => r.name === edited.name)).toMatchObject({ content: edited.content });
    expect(after.records.find((r) => r.id === foreign.id)).toMatchObject({
      content: 'x.example.net',
      comment: 'set by hand',
    });
    expect(after.records.find((r) => r.id === orphan.id)).toBeUndefined();
    expect(after.tunnels.find((t) => t.id === orphanTunnel.id)).toBeUndefined();
    expect(after.tunnels.find((t) => t.id === foreignTunnel.id)).toBeTruthy();
    expect(after.tunnels.find((t) => t.id === otherInstall.id)).toBeTruthy();
    expect(after.records.find((r) => r.id === otherRecord.id)).toBeTruthy();
    expect(after.records.find((r) => r.id === unvouchedRecord.id)).toBeTruthy();
    expect(after.tunnels.find((t) => t.id === unvouchedTunnel.id)).toBeTruthy();
    await hand.deleteRecord(unvouchedRecord.id);
    await hand.deleteTunnel(unvouchedTunnel.id);
    await hand.deleteRecord(otherRecord.id);
    await hand.deleteTunnel(otherInstall.id);
    expect(after.tunnels.find((t) => t.id === remote.id)!.ingress!.length).toBeGreaterThan(1);
    await hand.deleteRecord(foreign.id);
    await hand.deleteTunnel(foreignTunnel.id);
    await exactState(expected);
  });

  it('deletes everything under faults and leaves nothing behind', async () => {
    injectEverywhere(2);
    const u = stack.as('user1');
    for (const t of expected)
      expect([202, 204]).toContain((await u.del(`/api/v1/tunnels/${t.name}?wait=0`)).status);
    await eventually(async () => (await u.get('/api/v1/tunnels')).body.items.length === 0, 45_000, 200);
    const cf = cfView(stack.cf);
    expect(cf.tunnels).toEqual([]);
    expect(cf.records).toEqual([]);
  }, 60_000);
});
