/**
 * Connector health end to end: a tunnel's connectors set in the Cloudflare emulator (none →
 * healthy → degraded → down) show in the API (`connectors`), in /metrics and as events (in the
 * trail and the live stream) after one health refresh each — the bound this test states — and a
 * tunnel that never connected is reported once. A refresh costs one listing call, whatever the
 * number of tunnels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscribe } from './support/sse.js';
import { eventually, startStack, type Stack } from './support/stack.js';

describe('connector health', () => {
  let stack: Stack;
  beforeAll(async () => {
    // Refreshes are driven by the test (one call each); "never connected" after a minute.
    stack = await startStack({
      config: { 'reconciler.healthSeconds': 0, 'reconciler.neverConnectedMinutes': 1 },
    });
  });
  afterAll(async () => stack?.stop());

  const refresh = () => stack.runtime.reconciler!.refreshHealth();
  const connectors = async (name: string) =>
    (await stack.as('user1').get(`/api/v1/tunnels/${name}`)).body.connectors;
  const metric = async (status: string) => {
    const text = await fetch(`${stack.url}/metrics`).then((r) => r.text());
    return Number(
      new RegExp(`^tunnelplane_tunnel_connectors\\{status="${status}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0,
    );
  };

  it('follows none → healthy → degraded → down, in the API, /metrics and events', async () => {
    const u = stack.as('user1');
    const stream = await subscribe(
      stack.url,
      `Basic ${Buffer.from('user1:user1password').toString('base64')}`,
    );
    const t = (await u.post('/api/v1/tunnels?wait=10', {})).body;
    expect(t.connectors).toBeNull();
    for (let i = 0; i < 9; i++) await u.post('/api/v1/tunnels?wait=0', {}).then(() => undefined);

    await stack.runtime.reconciler!.drain();
    stack.cf.control.resetStats();
    expect(await refresh()).toMatchObject({ skipped: false, tunnels: 10, calls: 1 });
    // One listing call for 10 tunnels, and nothing else: never one call per tunnel.
    expect(stack.cf.control.stats().byRoute).toEqual({ 'GET /accounts/:account/cfd_tunnel': 1 });
    expect(await connectors(t.name)).toMatchObject({ status: 'inactive', connections: [] });

    const connector = stack.cf.control.attachConnector(t.id, { connections: 4 });
    await refresh();
    const healthy = await connectors(t.name);
    expect(healthy.status).toBe('healthy');
    expect(healthy.connections).toHaveLength(4);
    expect(healthy.connections[0]).toEqual({
      colo: expect.any(String),
      clientVersion: expect.any(String),
      originIp: expect.any(String),
      openedAt: expect.any(String),
    });
    expect(Date.parse(healthy.checkedAt)).toBeGreaterThan(Date.now() - 10_000);
    expect(await metric('healthy')).toBe(1);

    stack.cf.control.detachConnector(t.id, connector);
    stack.cf.control.attachConnector(t.id, { connections: 2 });
    await refresh();
    expect((await connectors(t.name)).status).toBe('degraded');
    stack.cf.control.detachConnector(t.id);
    await refresh();
    expect(await connectors(t.name)).toMatchObject({ status: 'down', connections: [] });
    expect(await metric('down')).toBe(1);

    // The list (cached) shows it too.
    const listed = (await u.get('/api/v1/tunnels?limit=100')).body.items.find(
      (x: { name: string }) => x.name === t.name,
    );
    expect(listed.connectors.status).toBe('down');
    const actions = (
      (await u.get('/api/v1/events?limit=100')).body.items as Array<{ action: string; target: string }>
    )
      .filter((e) => e.target === t.name)
      .map((e) => e.action);
    expect(actions.filter((a) => a === 'tunnel.connected')).toHaveLength(1);
    expect(actions.filter((a) => a === 'tunnel.disconnected')).toHaveLength(1);
    // And live, on the event stream.
    await eventually(
      () =>
        stream.got.some((e) => e.event === 'tunnel.connected' && e.data.target === t.name) &&
        stream.got.some((e) => e.event === 'tunnel.disconnected' && e.data.target === t.name),
      10_000,
    );
    stream.close();
  });

  it('reports a tunnel that never connected, once', async () => {
    const u = stack.as('user2');
    const t = (await u.post('/api/v1/tunnels?wait=10', {})).body;
    await stack.runtime.store.db
      .updateTable('tunnels')
      .set({ created_at: new Date(Date.now() - 120_000).toISOString() })
      .where('name', '=', t.name)
      .execute();
    await refresh();
    await refresh();
    await eventually(async () => {
      const events = (await u.get('/api/v1/events?limit=50')).body.items as Array<{
        action: string;
        target: string;
      }>;
      return events.filter((e) => e.action === 'tunnel.never_connected' && e.target === t.name).length === 1;
    });
  });
});
