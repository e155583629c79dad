/**
 * Expiring tunnels and routes in the verbs: `--ttl` sends ttlSeconds (`create TUNNEL SERVICE`,
 * `route add`, `create`/`tunnel create`), and `list`, `tunnel list`, `tunnel get` and `route list`
 * show an EXPIRES column only when something expires — so lists without expiry read as before.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeServer, type FakeServer } from './fake-server.js';
import { tunnelctl, userEnv } from './harness.js';

let fake: FakeServer;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  fake = await startFakeServer();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  env = userEnv(fake.url);
});

const last = () => fake.requests.filter((r) => r.method === 'POST').at(-1);

describe('--ttl', () => {
  it('create TUNNEL SERVICE --ttl sends ttlSeconds; the route shows when it expires', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    const r = await tunnelctl(['create', 'web', 'http://localhost:8000', '--ttl', '2h', '--name', 'demo'], {
      env,
    });
    expect(r.code).toBe(0);
    expect(last()!.body).toEqual({ service: 'http://localhost:8000', name: 'demo', ttlSeconds: 7200 });
    expect(r.stdout.split('\n')[0]).toMatch(/ EXPIRES$/);
    expect(r.stdout).toMatch(/^demo .* in 2h$/m);
    expect(Date.parse(fake.tunnel('web')!.routes[0]!.expiresAt!)).toBeGreaterThan(Date.now() + 7100_000);

    await tunnelctl(['route', 'add', 'web', 'http://localhost:8001', '--ttl', '90s'], { env });
    expect(last()!.body).toMatchObject({ ttlSeconds: 90 });
  });

  it('create and tunnel create --ttl make a tunnel that expires', async () => {
    const r = await tunnelctl(['create', '--name', 'brief', '--ttl', '1d'], { env });
    expect(r.code).toBe(0);
    expect(last()!.body).toEqual({ name: 'brief', ttlSeconds: 86_400 });
    expect(r.stdout).toMatch(/^Expires: +\S+Z \(in 1d\)$/m);
    await tunnelctl(['tunnel', 'create', '--name', 'briefer', '--ttl', '30m'], { env });
    expect(last()!.body).toEqual({ name: 'briefer', ttlSeconds: 1800 });
  });

  it('refuses a TTL outside a minute to 30 days, and route flags without a route', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    for (const args of [
      ['create', 'web', 'http://localhost:8000', '--ttl', '59s'],
      ['route', 'add', 'web', 'http://localhost:8000', '--ttl', '31d'],
      ['create', '--ttl', 'forever'],
      ['create', '--allow-ips', '10.0.0.0/8'],
    ]) {
      const r = await tunnelctl(args, { env });
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(fake.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });
});

describe('EXPIRES', () => {
  it('appears only when something expires', async () => {
    fake.seedTunnel('user1', { name: 'web', services: ['http://localhost:1'] });
    const plain = await tunnelctl(['list'], { env });
    expect(plain.stdout.split('\n')[0]).toMatch(/^TUNNEL +MODE +PHASE +HOSTNAME +SERVICE$/);
    expect(plain.stdout).not.toContain('EXPIRES');
    for (const args of [
      ['tunnel', 'list'],
      ['route', 'list', 'web'],
      ['tunnel', 'get', 'web'],
    ])
      expect((await tunnelctl(args, { env })).stdout, args.join(' ')).not.toMatch(/EXPIRES|Expires:/);

    await tunnelctl(['route', 'add', 'web', 'http://localhost:2', '--ttl', '3h', '--name', 'brief'], { env });
    await tunnelctl(['create', '--name', 'later', '--ttl', '2d'], { env });
    const list = (await tunnelctl(['list'], { env })).stdout.split('\n');
    expect(list[0]).toMatch(/ SERVICE +EXPIRES$/);
    expect(list.find((l) => l.includes('brief-web'))).toMatch(/ in 3h$/);
    expect(list.find((l) => l.includes('http://localhost:1'))).toMatch(/ -$/);
    expect(list.find((l) => l.startsWith('later '))).toMatch(/ in 2d$/);

    const tunnels = (await tunnelctl(['tunnel', 'list'], { env })).stdout.split('\n');
    expect(tunnels[0]).toMatch(/ AGE +EXPIRES$/);
    expect(tunnels.find((l) => l.startsWith('web '))).toMatch(/ -$/);
    const routes = (await tunnelctl(['route', 'list', 'web'], { env })).stdout;
    expect(routes).toMatch(/^brief .* in 3h$/m);
    expect((await tunnelctl(['tunnel', 'get', 'web'], { env })).stdout).toMatch(/IN-CLUSTER +EXPIRES$/m);
    expect((await tunnelctl(['tunnel', 'get', 'later'], { env })).stdout).toMatch(/^Expires: .*\(in 2d\)$/m);
    const json = JSON.parse((await tunnelctl(['route', 'list', 'web', '-o', 'json'], { env })).stdout);
    expect(json.map((r: { expiresAt: string | null }) => r.expiresAt === null)).toEqual([false, true]);
  });

  it('an expired route is gone from the list (the control plane deleted it)', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    await tunnelctl(['route', 'add', 'web', 'http://localhost:2', '--ttl', '1h', '--name', 'brief'], { env });
    fake.expireNow('web', 'brief');
    const r = await tunnelctl(['route', 'list', 'web'], { env });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Tunnel web has no routes');
  });
});
