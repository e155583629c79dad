/**
 * The proof of concept's README sequence and verbs, run in-process against the fake server:
 * same verbs and arguments, raw files for credentials/config, all through API v1.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { FAKE_OPTIONS, startFakeServer, type FakeServer } from './fake-server.js';
import { tunnelctl, userEnv } from './harness.js';

let fake: FakeServer;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  fake = await startFakeServer();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  // As the proof of concept's README wrote it: host:port, no scheme.
  env = userEnv(fake.url.replace('http://', ''));
});

describe('the README sequence, verbatim', () => {
  it('create, list, credentials, create TUNNEL SERVICE, config', async () => {
    // tunnelctl create
    const created = await tunnelctl(['create'], { env });
    expect(created.code).toBe(0);
    const [tunnel] = fake.tunnelsOf('user1');
    expect(tunnel).toBeDefined();
    const name = tunnel!.name;
    expect(created.stdout).toContain(`Name:       ${name}`);
    expect(created.stdout).toContain('Phase:      ready');
    expect(created.stderr).toContain(`Next: tunnelctl credentials ${name} > credentials.json`);

    // tunnelctl list
    const listed = await tunnelctl(['list'], { env });
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^TUNNEL\s+MODE\s+PHASE\s+HOSTNAME\s+SERVICE$/);
    expect(listed.stdout).toMatch(new RegExp(`^${name}\\s+local\\s+ready\\s+-\\s+-$`, 'm'));

    // tunnelctl credentials TUNNEL > credentials.json
    const creds = await tunnelctl(['credentials', name], { env });
    expect(creds.code).toBe(0);
    expect(creds.stdout).toBe(fake.credentialsOf(name));
    expect(creds.stderr).toBe('');
    expect(JSON.parse(creds.stdout)).toEqual({
      AccountTag: fake.accountTag,
      TunnelSecret: tunnel!.secret,
      TunnelID: tunnel!.id,
      Endpoint: '',
    });

    // tunnelctl create TUNNEL http://localhost:8000
    const routed = await tunnelctl(['create', name, 'http://localhost:8000'], { env });
    expect(routed.code).toBe(0);
    const route = fake.tunnel(name)!.routes[0]!;
    expect(route.service).toBe('http://localhost:8000');
    expect(routed.stdout).toContain(route.hostname);
    expect(routed.stderr).toContain('restart the running cloudflared');

    // tunnelctl config TUNNEL > config.yaml
    const config = await tunnelctl(['config', name], { env });
    expect(config.code).toBe(0);
    expect(config.stdout).toBe(fake.configOf(name));
    expect(config.stderr).toBe('');
    expect(parseYaml(config.stdout)).toEqual({
      tunnel: tunnel!.id,
      'credentials-file': 'credentials.json',
      ingress: [
        { hostname: route.hostname, service: 'http://localhost:8000' },
        { service: 'http_status:404' },
      ],
    });

    // Every call went to API v1, none to the proof of concept's paths.
    expect(fake.requests.length).toBeGreaterThan(0);
    expect(fake.requests.every((r) => r.path.startsWith('/api/v1/'))).toBe(true);
    expect(fake.requests.every((r) => r.auth === 'basic:user1')).toBe(true);
  });
});

describe('proof of concept verbs', () => {
  it('list is the default verb', async () => {
    const t = fake.seedTunnel('user1', { services: ['http://localhost:8000', 'tcp://10.0.0.5:22'] });
    const [plain, explicit] = await Promise.all([tunnelctl([], { env }), tunnelctl(['list'], { env })]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toBe(explicit.stdout);
    // One row per route, the tunnel repeated.
    expect(plain.stdout.split('\n').filter((l) => l.startsWith(t.name))).toHaveLength(2);
    expect(plain.stdout).toContain('tcp://10.0.0.5:22');
  });

  it('list -o json prints the API objects; -o yaml the same as YAML; -o name the names', async () => {
    const t = fake.seedTunnel('user1', { services: ['http://localhost:8000'] });
    fake.seedTunnel('user2');
    const json = await tunnelctl(['list', '-o', 'json'], { env });
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed).toHaveLength(1);
    expect(parsed[0]).toMatchObject({ name: t.name, owner: 'user1', configMode: 'local', phase: 'ready' });
    expect(parsed[0].routes[0]).toMatchObject({ service: 'http://localhost:8000' });
    const yaml = await tunnelctl(['list', '--output', 'yaml'], { env });
    expect(parseYaml(yaml.stdout)).toEqual(parsed);
    expect((await tunnelctl(['-o', 'name'], { env })).stdout).toBe(`${t.name}\n`);
  });

  it('list with no tunnels says how to create one, on stderr', async () => {
    const r = await tunnelctl(['list'], { env });
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toContain('tunnelctl create');
    expect(JSON.parse((await tunnelctl(['list', '-o', 'json'], { env })).stdout)).toEqual([]);
  });

  it('create -o json prints the tunnel', async () => {
    const r = await tunnelctl(['create', '-o', 'json'], { env });
    expect(r.code).toBe(0);
    const t = JSON.parse(r.stdout);
    expect(t).toMatchObject({ owner: 'user1', phase: 'ready', configMode: 'local' });
    expect(fake.tunnel(t.name)).toBeDefined();
  });

  it('create TUNNEL SERVICE -o json prints the route; the reminder stays on stderr', async () => {
    const t = fake.seedTunnel('user1');
    const r = await tunnelctl(['create', t.name, 'tcp://192.168.1.10:10000', '-o', 'json'], { env });
    expect(r.code).toBe(0);
    const route = JSON.parse(r.stdout);
    expect(route).toMatchObject({
      service: 'tcp://192.168.1.10:10000',
      protocol: 'tcp',
      inCluster: {
        address: `tunnel-access-${route.name}-${t.name}.${FAKE_OPTIONS.namespace}.svc.cluster.local:10000`,
      },
    });
    expect(r.stderr).toContain(`tunnelctl config ${t.name} > config.yaml`);
  });

  it('says a remotely-managed tunnel needs no restart', async () => {
    const t = fake.seedTunnel('user1', { configMode: 'remote' });
    const r = await tunnelctl(['create', t.name, 'http://localhost:8000'], { env });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('remotely managed: the route is live without restarting cloudflared');
    expect(r.stderr).not.toContain('restart the running');
  });

  it('credentials -o yaml and config -o json convert; the default is raw', async () => {
    const t = fake.seedTunnel('user1', { services: ['http://localhost:8000'] });
    const credsYaml = await tunnelctl(['credentials', t.name, '-o', 'yaml'], { env });
    expect(parseYaml(credsYaml.stdout)).toEqual(JSON.parse(fake.credentialsOf(t.name)));
    const configJson = await tunnelctl(['config', t.name, '-o', 'json'], { env });
    expect(JSON.parse(configJson.stdout)).toEqual(parseYaml(fake.configOf(t.name)));
  });

  it('adds a final newline to raw files only on a terminal', async () => {
    const t = fake.seedTunnel('user1');
    const tty = await tunnelctl(['credentials', t.name], { env, stdoutTTY: true });
    expect(tty.stdout).toBe(`${fake.credentialsOf(t.name)}\n`);
  });

  it('delete TUNNEL removes it', async () => {
    const t = fake.seedTunnel('user1', { services: ['http://localhost:8000'] });
    const r = await tunnelctl(['delete', t.name], { env });
    expect(r).toMatchObject({ code: 0, stdout: `tunnel ${t.name} deleted\n` });
    expect(fake.tunnel(t.name)).toBeUndefined();
    const u = fake.seedTunnel('user1');
    const json = await tunnelctl(['delete', u.name, '-o', 'json'], { env });
    expect(JSON.parse(json.stdout)).toEqual({ tunnel: u.name, status: 'deleted' });
  });

  it('delete TUNNEL SERVICE removes every route of that service, and reminds', async () => {
    const t = fake.seedTunnel('user1', {
      services: ['http://localhost:8000', 'http://localhost:8000', 'tcp://10.0.0.5:22'],
    });
    const [a, b] = t.routes.filter((r) => r.service === 'http://localhost:8000').map((r) => r.name);
    const tcp = t.routes.find((r) => r.service === 'tcp://10.0.0.5:22')!.name;
    const r = await tunnelctl(['delete', t.name, 'http://localhost:8000'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`route ${a} deleted`);
    expect(r.stdout).toContain(`route ${b} deleted`);
    expect(r.stderr).toContain('restart');
    expect(fake.tunnel(t.name)!.routes.map((x) => x.service)).toEqual(['tcp://10.0.0.5:22']);
    const json = await tunnelctl(['delete', t.name, 'tcp://10.0.0.5:22', '-o', 'yaml'], { env });
    expect(parseYaml(json.stdout)).toEqual({ tunnel: t.name, deleted: [tcp], pending: [] });
  });

  it('delete TUNNEL SERVICE with no such route fails and lists the routes', async () => {
    const t = fake.seedTunnel('user1', { services: ['http://localhost:8000'] });
    const r = await tunnelctl(['delete', t.name, 'http://localhost:9999'], { env });
    expect(r.code).toBe(1);
    // The server refuses a service with no route (404 route.not_found); tunnelctl names it and lists the routes.
    expect(r.stderr).toContain(`Tunnel ${t.name} has no route http://localhost:9999; its routes: `);
    expect(r.stderr).toContain('http://localhost:8000');
  });

  it('help, --help and -h show the README sequence on stdout', async () => {
    for (const argv of [['help'], ['--help'], ['-h']]) {
      const r = await tunnelctl(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(
        [
          '  export CONTROL_PLANE=localhost:5000 USERPASS=user1:user1password',
          '  tunnelctl create',
          '  tunnelctl list',
          '  tunnelctl credentials TUNNEL > credentials.json',
          '  tunnelctl create TUNNEL http://localhost:8000',
          '  tunnelctl config TUNNEL > config.yaml',
          '  cloudflared tunnel --config config.yaml run --cred-file credentials.json',
        ].join('\n'),
      );
      expect(r.stderr).toBe('');
    }
  });
});
