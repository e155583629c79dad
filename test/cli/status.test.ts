/**
 * Connector health in the verbs: `status TUNNEL` (exit 0 when healthy or degraded, 3 when down,
 * inactive or not checked yet, so scripts can wait on it) and the CONNECTED column of `list`
 * and `tunnel list`, shown only when some tunnel's connectors are known.
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

const conn = (colo: string, originIp = '203.0.113.7') => ({
  colo,
  clientVersion: '2025.4.0',
  originIp,
  openedAt: new Date(Date.now() - 300_000).toISOString(),
});

describe('status TUNNEL', () => {
  it('healthy: exit 0, the connectors, each connection, when checked, the routes', async () => {
    const t = fake.seedTunnel('user1', { name: 'web', services: ['http://localhost:8000'] });
    fake.setConnectors('web', {
      status: 'healthy',
      connections: [conn('ams01'), conn('fra02', '198.51.100.4')],
      since: new Date(Date.now() - 600_000).toISOString(),
    });
    const r = await tunnelctl(['status', 'web'], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Tunnel: +web$/m);
    expect(r.stdout).toMatch(/^Phase: +ready$/m);
    expect(r.stdout).toMatch(/^Connectors: +healthy since \S+Z \(10m ago\)$/m);
    expect(r.stdout).toMatch(/^Checked: +\S+Z \(\d+s ago\)$/m);
    expect(r.stdout).toMatch(/^ {2}COLO +CLIENT VERSION +ORIGIN IP +OPENED$/m);
    expect(r.stdout).toMatch(/^ {2}ams01 +2025\.4\.0 +203\.0\.113\.7 +\S+Z \(5m ago\)$/m);
    expect(r.stdout).toMatch(/^ {2}fra02 +2025\.4\.0 +198\.51\.100\.4 /m);
    const route = t.routes[0]!;
    expect(r.stdout).toMatch(
      new RegExp(`^ {2}${route.name} +${route.hostname.replace(/\./g, '\\.')} +ready$`, 'm'),
    );
  });

  it('degraded is connected too: exit 0', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    fake.setConnectors('web', { status: 'degraded', connections: [conn('ams01')] });
    const r = await tunnelctl(['status', 'web'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Connectors: +degraded/m);
    expect(r.stdout).toMatch(/^Routes: +none$/m);
  });

  it('down: exit 3, no connections, how to start cloudflared on stderr', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    fake.setConnectors('web', { status: 'down' });
    const r = await tunnelctl(['status', 'web'], { env });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^Connectors: +down \(no connection now\) since /m);
    expect(r.stdout).toMatch(/^Connections: none$/m);
    expect(r.stderr).toContain('tunnelctl run web');
  });

  it('inactive: exit 3, never connected', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    fake.setConnectors('web', { status: 'inactive', since: null });
    const r = await tunnelctl(['status', 'web'], { env });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^Connectors: +never connected \(inactive\)$/m);
  });

  it('not checked yet: exit 3', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    const r = await tunnelctl(['status', 'web'], { env });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^Connectors: +not checked yet/m);
    expect(r.stdout).not.toMatch(/Checked:|Connections:/);
  });

  it('-o json|yaml: {tunnel, phase, connectors, routes: [{name, hostname, phase}]}, same exit status', async () => {
    const t = fake.seedTunnel('user1', { name: 'web', services: ['http://localhost:8000'] });
    const route = t.routes[0]!;
    const unknown = await statusJson();
    expect(unknown.code).toBe(3);
    expect(unknown.value).toEqual({
      tunnel: 'web',
      phase: 'ready',
      connectors: null,
      routes: [{ name: route.name, hostname: route.hostname, phase: 'ready' }],
    });

    const ams = conn('ams01');
    fake.setConnectors('web', { status: 'healthy', connections: [ams] });
    const healthy = await statusJson();
    expect(healthy.code).toBe(0);
    expect(healthy.value.connectors).toMatchObject({ status: 'healthy', connections: [ams] });

    const yaml = await tunnelctl(['status', 'web', '-o', 'yaml'], { env });
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toMatch(/^tunnel: web$/m);
    expect(yaml.stdout).toMatch(/^ {2}status: healthy$/m);
  });

  it('an unknown tunnel fails as tunnel get does; no TUNNEL is a usage error', async () => {
    expect((await tunnelctl(['status', 'nosuch'], { env })).code).toBe(1);
    expect((await tunnelctl(['status'], { env })).code).toBe(2);
  });

  it('has help', async () => {
    const r = await tunnelctl(['help', 'status'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('tunnelctl status TUNNEL');
  });
});

async function statusJson() {
  const r = await tunnelctl(['status', 'web', '-o', 'json'], { env });
  return { code: r.code, value: JSON.parse(r.stdout) as { connectors: unknown } & Record<string, unknown> };
}

describe('CONNECTED', () => {
  it('appears only when some tunnel has connectors: healthy (N), down, never, - for unknown', async () => {
    fake.seedTunnel('user1', { name: 'alpha', services: ['http://localhost:1', 'http://localhost:2'] });
    fake.seedTunnel('user1', { name: 'beta' });
    fake.seedTunnel('user1', { name: 'gamma' });
    fake.seedTunnel('user1', { name: 'delta' });
    for (const args of [['list'], ['tunnel', 'list']])
      expect((await tunnelctl(args, { env })).stdout, args.join(' ')).not.toContain('CONNECTED');

    fake.setConnectors('alpha', {
      status: 'healthy',
      connections: [conn('a'), conn('b'), conn('c'), conn('d')],
    });
    fake.setConnectors('beta', { status: 'down' });
    fake.setConnectors('gamma', { status: 'inactive', since: null });

    const list = (await tunnelctl(['list'], { env })).stdout.split('\n');
    expect(list[0]).toMatch(/^TUNNEL +MODE +PHASE +HOSTNAME +SERVICE +CONNECTED$/);
    expect(list.filter((l) => l.startsWith('alpha ')).map((l) => l.endsWith(' healthy (4)'))).toEqual([
      true,
      true,
    ]);
    expect(list.find((l) => l.startsWith('beta '))).toMatch(/ down$/);
    expect(list.find((l) => l.startsWith('gamma '))).toMatch(/ never$/);
    expect(list.find((l) => l.startsWith('delta '))).toMatch(/ -$/);

    const tl = (await tunnelctl(['tunnel', 'list'], { env })).stdout.split('\n');
    expect(tl[0]).toMatch(/^NAME +MODE +PHASE +ROUTES +AGE +CONNECTED$/);
    expect(tl.find((l) => l.startsWith('alpha '))).toMatch(/ healthy \(4\)$/);
    expect(tl.find((l) => l.startsWith('delta '))).toMatch(/ -$/);

    const get = (await tunnelctl(['tunnel', 'get', 'alpha'], { env })).stdout;
    expect(get).toMatch(/^Connected: +healthy \(4\) \(details: tunnelctl status alpha\)$/m);
  });

  it('comes before EXPIRES when both show', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    await tunnelctl(['create', '--name', 'brief', '--ttl', '2h'], { env });
    fake.setConnectors('web', { status: 'healthy', connections: [conn('a')] });
    const head = (await tunnelctl(['tunnel', 'list'], { env })).stdout.split('\n')[0];
    expect(head).toMatch(/ CONNECTED +EXPIRES$/);
  });

  it('-o json|yaml pass connectors through', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    const ams = conn('ams01');
    fake.setConnectors('web', { status: 'healthy', connections: [ams] });
    for (const args of [['list'], ['tunnel', 'list']]) {
      const r = await tunnelctl([...args, '-o', 'json'], { env });
      const [t] = JSON.parse(r.stdout) as Array<{ connectors: unknown }>;
      expect(t!.connectors, args.join(' ')).toMatchObject({ status: 'healthy', connections: [ams] });
    }
    const y = await tunnelctl(['list', '-o', 'yaml'], { env });
    expect(y.stdout).toMatch(/^ {4}status: healthy$/m);
  });
});
