/**
 * `share URL` against the fake server, with the fake `cloudflared` of the harness: the URL comes
 * first (before the route is ready), the route carries ttlSeconds, cloudflared runs with the
 * tunnel's token in TUNNEL_TOKEN, and the route is removed however it ends — Ctrl-C, SIGTERM,
 * cloudflared exiting — or, when the server is gone by then, the route's expiry is named.
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeServer, type FakeServer, type FakeTunnel } from './fake-server.js';
import { installFakeCloudflared, tempDir, tunnelctl, userEnv, waitUntil, type RunResult } from './harness.js';

let fake: FakeServer;
let env: Record<string, string | undefined>;
let bin: string;

beforeAll(async () => {
  fake = await startFakeServer({ defaultConfigMode: 'local' });
  bin = installFakeCloudflared();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  env = userEnv(fake.url, 'user1', { PATH: `${bin}:${process.env.PATH}`, FAKE_CLOUDFLARED_WAIT: '1' });
});

interface Running {
  signals: EventEmitter;
  stdout: () => string;
  stderr: () => string;
  done: Promise<RunResult>;
}

/** Starts `tunnelctl share …` in-process; its signals come from the returned emitter. */
function startShare(args: string[], runEnv = env): Running {
  const signals = new EventEmitter();
  const out = { stdout: () => '', stderr: () => '' };
  const done = tunnelctl(['share', ...args], {
    env: runEnv,
    signals,
    onOutput: (o) => Object.assign(out, o),
  });
  return { signals, stdout: () => out.stdout(), stderr: () => out.stderr(), done };
}

const routePosts = () =>
  fake.requests.filter((r) => r.method === 'POST' && /^\/api\/v1\/tunnels\/[^/]+\/routes$/.test(r.path));
const tunnelPosts = () => fake.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/tunnels');
const routeDeletes = () =>
  fake.requests.filter((r) => r.method === 'DELETE' && /\/routes\/[^/]+$/.test(r.path));
const liveRoutes = (t: string) => (fake.tunnel(t)?.routes ?? []).filter((r) => r.deleteAt === null);

describe('share', () => {
  it('prints the URL first, waits for the route, runs cloudflared with the token, removes the route on Ctrl-C', async () => {
    const t = fake.seedTunnel('user1', { name: 'share-user1', configMode: 'remote' });
    // The route stays pending until the test lets it be ready.
    fake.setBehaviour({ settleMs: 600_000 });
    const before = Date.now();
    const s = startShare(['8000']);
    await waitUntil(() => s.stdout().includes('\n'));
    const [route] = t.routes;
    expect(route).toBeDefined();
    expect(s.stdout()).toBe(`https://${route!.hostname}\n`);
    expect(route!.ready).toBe(false);
    expect(s.stderr()).not.toContain('started');
    expect(routePosts()).toHaveLength(1);
    expect(routePosts()[0]).toMatchObject({
      query: { wait: '0' },
      body: { service: 'http://localhost:8000', ttlSeconds: 8 * 3600 },
    });
    const expiresAt = Date.parse(route!.expiresAt!);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 8 * 3600_000 - 1000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 8 * 3600_000);
    expect(s.stderr()).toContain(`expires by itself at ${route!.expiresAt}`);
    expect(tunnelPosts()).toEqual([]);

    route!.readyAt = 0;
    fake.setBehaviour({ settleMs: 0 });
    await waitUntil(() => s.stderr().includes('started'), 10_000);
    expect(s.stderr()).toMatch(/^argv: tunnel run$/m);
    expect(s.stderr()).toContain(`token: ${fake.runTokenOf(t.name)}`);
    expect(s.stdout()).toBe(`https://${route!.hostname}\n`);
    expect(s.signals.listenerCount('SIGINT')).toBe(2); // share's own, and run's forwarding

    s.signals.emit('SIGINT');
    const r = await s.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('got INT');
    expect(r.stderr).toContain(
      `Removed route ${route!.name} (https://${route!.hostname}) from tunnel share-user1`,
    );
    expect(liveRoutes(t.name)).toEqual([]);
    expect(fake.tunnel('share-user1')).toBeDefined();
    expect(s.signals.listenerCount('SIGINT')).toBe(0);
  });

  it('creates the share tunnel (remotely managed) when missing, and reuses it next time', async () => {
    const first = startShare(['http://localhost:3000', '--name', 'demo', '--ttl', '30m']);
    await waitUntil(() => first.stderr().includes('started'), 10_000);
    expect(tunnelPosts()).toHaveLength(1);
    expect(tunnelPosts()[0]!.body).toEqual({ name: 'share-user1', configMode: 'remote' });
    expect(fake.tunnel('share-user1')!.configMode).toBe('remote');
    expect(first.stdout()).toBe(`https://demo-share-user1.${fake.zone}\n`);
    expect(routePosts()[0]!.body).toEqual({
      service: 'http://localhost:3000',
      name: 'demo',
      ttlSeconds: 1800,
    });
    first.signals.emit('SIGTERM');
    const r1 = await first.done;
    expect(r1.code).toBe(143);
    expect(r1.stderr).toContain('got TERM');
    expect(liveRoutes('share-user1')).toEqual([]);

    const second = startShare(['3000']);
    await waitUntil(() => second.stderr().includes('started'), 10_000);
    expect(tunnelPosts()).toHaveLength(1);
    second.signals.emit('SIGHUP');
    expect((await second.done).code).toBe(129);
    expect(liveRoutes('share-user1')).toEqual([]);
  });

  it('removes the route when cloudflared exits by itself, with its status', async () => {
    fake.seedTunnel('user1', { name: 'share-user1', configMode: 'remote' });
    const r = await tunnelctl(['share', '8000'], { env: { ...env, FAKE_CLOUDFLARED_WAIT: undefined } });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cloudflared failing on purpose');
    expect(r.stderr).toMatch(/Removed route [a-z]{8} \(https:\/\/[a-z]{8}-share-user1\.example\.com\)/);
    expect(routeDeletes()).toHaveLength(1);
    expect(liveRoutes('share-user1')).toEqual([]);
  });

  it('Ctrl-C while waiting for the route: no cloudflared, the route removed, 130', async () => {
    const t = fake.seedTunnel('user1', { name: 'share-user1', configMode: 'remote' });
    fake.setBehaviour({ settleMs: 600_000 });
    const s = startShare(['8000']);
    await waitUntil(() => s.stdout().includes('https://'));
    s.signals.emit('SIGINT');
    fake.setBehaviour({ settleMs: 0 });
    const r = await s.done;
    expect(r.code).toBe(130);
    expect(r.stderr).not.toContain('argv:');
    expect(r.stderr).toContain('Removed route');
    expect(liveRoutes(t.name)).toEqual([]);
  });

  it('-o json: {url, tunnel, route, expiresAt} as the first line, what became of the route as the last', async () => {
    const t = fake.seedTunnel('user1', { name: 'share-user1', configMode: 'remote' });
    const s = startShare(['8000', '--ttl', '2h', '-o', 'json']);
    await waitUntil(() => s.stderr().includes('started'), 10_000);
    const route = t.routes[0]!;
    const first = s.stdout();
    expect(first.endsWith('\n') && first.split('\n')).toHaveLength(2);
    expect(JSON.parse(first)).toEqual({
      url: `https://${route.hostname}`,
      tunnel: 'share-user1',
      route: route.name,
      expiresAt: route.expiresAt,
    });
    s.signals.emit('SIGINT');
    const r = await s.done;
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1]!)).toEqual({
      tunnel: 'share-user1',
      route: route.name,
      url: `https://${route.hostname}`,
      status: 'deleted',
      expiresAt: route.expiresAt,
    });
  });

  it('--tunnel, protection flags, and a route that expired meanwhile', async () => {
    fake.seedTunnel('user1', { name: 'mine', configMode: 'remote' });
    const s = startShare(['8000', '--tunnel', 'mine', '--allow-ips', '203.0.113.0/24', '--name', 'web']);
    await waitUntil(() => s.stderr().includes('started'), 10_000);
    expect(routePosts()[0]).toMatchObject({
      path: '/api/v1/tunnels/mine/routes',
      body: { service: 'http://localhost:8000', name: 'web', allowIps: ['203.0.113.0/24'] },
    });
    expect(fake.tunnel('share-user1')).toBeUndefined();
    fake.expireNow('mine', 'web');
    s.signals.emit('SIGINT');
    const r = await s.done;
    expect(r.code).toBe(130);
    expect(r.stderr).toContain(`Route web (https://web-mine.${fake.zone}) was already gone`);
  });

  it('the server gone at the end: says the route expires by itself at expiresAt', async () => {
    const own = await startFakeServer();
    try {
      own.seedTunnel('user1', { name: 'share-user1', configMode: 'remote' });
      const s = startShare(['8000'], { ...env, CONTROL_PLANE: own.url });
      await waitUntil(() => s.stderr().includes('started'), 10_000);
      const route = own.tunnel('share-user1')!.routes[0]!;
      await own.close();
      s.signals.emit('SIGINT');
      const r = await s.done;
      expect(r.code).toBe(130);
      expect(r.stderr).toContain(
        `Could not remove route ${route.name} (https://${route.hostname}): Cannot reach the control plane at ${own.url}`,
      );
      expect(r.stderr).toContain(`; it expires by itself at ${route.expiresAt}\n`);
    } finally {
      await own.close().catch(() => undefined);
    }
  });

  it('refuses a bad --ttl, a bad port, and a missing cloudflared before creating anything', async () => {
    for (const [args, message] of [
      [['8000', '--ttl', '10s'], "--ttl must be from 1m to 30d (the control plane's limits), not 10s"],
      [['8000', '--ttl', '31d'], "--ttl must be from 1m to 30d (the control plane's limits), not 31d"],
      [['8000', '--ttl', 'later'], '--ttl must be a duration such as 90s, 30m, 2h, 1d or 1h30m, not "later"'],
      [['99999'], 'Port 99999 is not from 1 to 65535'],
    ] as const) {
      const r = await tunnelctl(['share', ...args], { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.split('\n')[0]).toBe(message);
      expect(r.stderr).toContain('tunnelctl share URL|PORT');
    }
    const empty = tempDir('tunnelctl-empty-path-');
    const r = await tunnelctl(['share', '8000'], { env: { ...env, PATH: empty } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: cloudflared is not installed or not on PATH');
    expect(fake.requests).toEqual([]);
  });

  it('a local-mode --tunnel runs cloudflared with files holding the new route', async () => {
    const t: FakeTunnel = fake.seedTunnel('user1', { name: 'files', configMode: 'local' });
    const s = startShare(['8000', '--tunnel', 'files', '--name', 'app']);
    await waitUntil(() => s.stderr().includes('started'), 10_000);
    expect(s.stderr()).toMatch(
      /^argv: tunnel --config \S+\/config\.yaml run --cred-file \S+\/credentials\.json$/m,
    );
    expect(s.stderr()).toContain(`hostname: app-files.${fake.zone}`);
    s.signals.emit('SIGINT');
    expect((await s.done).code).toBe(130);
    expect(liveRoutes(t.name)).toEqual([]);
  });
});
