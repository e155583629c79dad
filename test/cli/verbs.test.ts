/**
 * The structured verbs (tunnel, route, token, whoami, version) in table and JSON/YAML output,
 * and --wait / --no-wait / --timeout against a server that answers 202.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { FAKE_OPTIONS, startFakeServer, type FakeServer } from './fake-server.js';
import { ROOT, tunnelctl, userEnv } from './harness.js';

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

describe('tunnel', () => {
  it('create --name --mode, in table and JSON', async () => {
    const r = await tunnelctl(['tunnel', 'create', '--name', 'web', '--mode', 'remote'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Name: +web$/m);
    expect(r.stdout).toMatch(/^Mode: +remote$/m);
    expect(r.stdout).toMatch(/^Routes: +none$/m);
    expect(r.stderr).toContain('tunnelctl run web');
    expect(fake.requests.at(-1)).toMatchObject({
      body: { name: 'web', configMode: 'remote' },
      query: { wait: '60' },
    });

    const j = await tunnelctl(['tunnel', 'create', '--name', 'api', '-o', 'json'], { env });
    expect(JSON.parse(j.stdout)).toMatchObject({
      name: 'api',
      configMode: 'local',
      phase: 'ready',
      owner: 'user1',
    });
  });

  it('create rejects a bad --mode as a usage error, before any request', async () => {
    const r = await tunnelctl(['tunnel', 'create', '--mode', 'hybrid'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--mode must be local or remote');
    expect(fake.requests).toEqual([]);
  });

  it('create shows the server message for a bad or taken name', async () => {
    const bad = await tunnelctl(['tunnel', 'create', '--name', 'Bad_Name'], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: Tunnel name "Bad_Name" is invalid.*\(tunnel\.invalid_name\)\n$/);
    fake.seedTunnel('user2', { name: 'taken' });
    const taken = await tunnelctl(['tunnel', 'create', '--name', 'taken'], { env });
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('choose another --name');
  });

  it('list, in table, JSON and names', async () => {
    const a = fake.seedTunnel('user1', {
      name: 'alpha',
      services: ['http://localhost:1', 'http://localhost:2'],
    });
    fake.seedTunnel('user1', { name: 'beta', configMode: 'remote' });
    const r = await tunnelctl(['tunnel', 'list'], { env });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+MODE\s+PHASE\s+ROUTES\s+AGE$/);
    expect(lines[1]).toMatch(/^alpha\s+local\s+ready\s+2\s+\d+s$/);
    expect(lines[2]).toMatch(/^beta\s+remote\s+ready\s+0\s+\d+s$/);
    // Columns line up.
    expect(lines[1]!.indexOf('local')).toBe(lines[0]!.indexOf('MODE'));
    const j = JSON.parse((await tunnelctl(['tunnel', 'list', '-o', 'json'], { env })).stdout);
    expect(j.map((t: { name: string }) => t.name)).toEqual(['alpha', 'beta']);
    expect(j[0].routes).toHaveLength(a.routes.length);
    expect((await tunnelctl(['tunnel', 'list', '-o', 'name'], { env })).stdout).toBe('alpha\nbeta\n');
  });

  it('get, in table and YAML', async () => {
    const t = fake.seedTunnel('user1', { name: 'gamma', services: ['tcp://10.0.0.5:5432'] });
    const r = await tunnelctl(['tunnel', 'get', 'gamma'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^ID: +${t.id}$`, 'm'));
    expect(r.stdout).toMatch(/^ {2}NAME\s+HOSTNAME\s+SERVICE\s+PHASE\s+PROTECTED\s+IN-CLUSTER$/m);
    expect(r.stdout).toContain(
      `tunnel-access-${t.routes[0]!.name}-gamma.${FAKE_OPTIONS.namespace}.svc.cluster.local:10000`,
    );
    const y = parseYaml((await tunnelctl(['tunnel', 'get', 'gamma', '-o', 'yaml'], { env })).stdout);
    expect(y).toMatchObject({ name: 'gamma', id: t.id, routes: [{ service: 'tcp://10.0.0.5:5432' }] });
  });

  it('delete, in table and JSON', async () => {
    fake.seedTunnel('user1', { name: 'doomed' });
    fake.seedTunnel('user1', { name: 'doomed2' });
    expect((await tunnelctl(['tunnel', 'delete', 'doomed'], { env })).stdout).toBe('tunnel doomed deleted\n');
    const j = await tunnelctl(['tunnel', 'delete', 'doomed2', '-o', 'json'], { env });
    expect(JSON.parse(j.stdout)).toEqual({ tunnel: 'doomed2', status: 'deleted' });
    expect(fake.tunnelsOf('user1')).toEqual([]);
  });
});

describe('route', () => {
  it('add with --name, in table and JSON', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    const r = await tunnelctl(['route', 'add', 'web', 'http://localhost:8000', '--name', 'app'], { env });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+HOSTNAME\s+SERVICE\s+PHASE\s+PROTECTED\s+IN-CLUSTER$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^app\\s+app-web\\.${fake.zone.replace(/\./g, '\\.')}\\s+http://localhost:8000\\s+ready\\s+-\\s+-$`,
      ),
    );
    expect(r.stderr).toContain('locally configured');
    const j = await tunnelctl(['route', 'add', 'web', 'ssh://10.0.0.9:22', '-o', 'json'], { env });
    expect(JSON.parse(j.stdout)).toMatchObject({ protocol: 'ssh', inCluster: { ready: true } });
  });

  it('add with a bad service shows the server message', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    const r = await tunnelctl(['route', 'add', 'web', 'http://localhost:8000/path'], { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      'error: http://localhost:8000/path is an invalid address, ingress rules don\'t support proxying to a different path on the origin service (remove everything after the host and port, including a trailing "/"). (route.invalid_service)\n',
    );
  });

  it('list, in table, JSON and names; empty says how to add one', async () => {
    const t = fake.seedTunnel('user1', { name: 'web', services: ['http://localhost:1'] });
    const r = await tunnelctl(['route', 'list', 'web'], { env });
    expect(r.stdout).toContain(t.routes[0]!.hostname);
    expect(
      JSON.parse((await tunnelctl(['route', 'list', 'web', '-o', 'json'], { env })).stdout),
    ).toHaveLength(1);
    expect((await tunnelctl(['route', 'list', 'web', '-o', 'name'], { env })).stdout).toBe(
      `${t.routes[0]!.name}\n`,
    );
    fake.seedTunnel('user1', { name: 'bare' });
    const empty = await tunnelctl(['route', 'list', 'bare'], { env });
    expect(empty).toMatchObject({ code: 0, stdout: '' });
    expect(empty.stderr).toContain('tunnelctl route add bare SERVICE');
  });

  it('delete by name, by hostname and by service', async () => {
    const t = fake.seedTunnel('user1', {
      name: 'web',
      services: ['http://localhost:1', 'http://localhost:2', 'http://localhost:3', 'http://localhost:3'],
    });
    const [three1, three2, two, one] = t.routes.map((r) => r);
    const byName = await tunnelctl(['route', 'delete', 'web', one!.name], { env });
    expect(byName).toMatchObject({ code: 0, stdout: `route ${one!.name} deleted\n` });
    const byHost = await tunnelctl(['route', 'delete', 'web', two!.hostname.toUpperCase(), '-o', 'json'], {
      env,
    });
    expect(JSON.parse(byHost.stdout)).toEqual({ tunnel: 'web', deleted: [two!.name], pending: [] });
    const byService = await tunnelctl(['route', 'delete', 'web', 'http://localhost:3'], { env });
    expect(byService.code).toBe(0);
    expect(byService.stdout).toBe(`route ${three1!.name} deleted\nroute ${three2!.name} deleted\n`);
    expect(fake.tunnel('web')!.routes).toEqual([]);
  });

  it('delete of an unknown route lists the routes', async () => {
    const t = fake.seedTunnel('user1', { name: 'web', services: ['http://localhost:1'] });
    const r = await tunnelctl(['route', 'delete', 'web', 'nosuch'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Tunnel web has no route named nosuch');
    expect(r.stderr).toContain(`${t.routes[0]!.name} (${t.routes[0]!.hostname} -> http://localhost:1)`);
  });
});

describe('token, whoami, version', () => {
  it('token prints the run token, raw or as JSON', async () => {
    fake.seedTunnel('user1', { name: 'rem', configMode: 'remote' });
    expect((await tunnelctl(['token', 'rem'], { env })).stdout).toBe(`${fake.runTokenOf('rem')}\n`);
    expect(JSON.parse((await tunnelctl(['token', 'rem', '-o', 'json'], { env })).stdout)).toEqual({
      token: fake.runTokenOf('rem'),
    });
  });

  it('whoami, in table and JSON', async () => {
    fake.seedTunnel('user1', { services: ['http://localhost:1'] });
    const r = await tunnelctl(['whoami'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^User: +user1$/m);
    expect(r.stdout).toMatch(new RegExp(`^Server: +${fake.url}$`, 'm'));
    expect(r.stdout).toMatch(/^Auth: +USERPASS$/m);
    expect(r.stdout).toMatch(/^Tunnels: +1 of 10$/m);
    const j = JSON.parse((await tunnelctl(['whoami', '-o', 'json'], { env })).stdout);
    expect(j).toMatchObject({
      name: 'user1',
      role: 'user',
      usage: { tunnels: 1, routes: 1 },
      server: fake.url,
      auth: 'USERPASS',
    });
  });

  it("version needs no server and is package.json's", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await tunnelctl(['version']);
    expect(r).toMatchObject({ code: 0, stdout: `tunnelctl ${version}\n` });
    expect(parseYaml((await tunnelctl(['version', '-o', 'yaml'])).stdout)).toEqual({ version });
    expect((await tunnelctl(['--version'])).stdout).toBe(`tunnelctl ${version}\n`);
  });
});

describe('--wait, --no-wait, --timeout', () => {
  it('polls after a 202 until ready', async () => {
    fake.setBehaviour({ settleMs: 150, maxWaitSeconds: 0 });
    const r = await tunnelctl(['tunnel', 'create', '--name', 'slow', '-o', 'json'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'slow', phase: 'ready' });
    expect(
      fake.requests.filter((q) => q.method === 'GET' && q.path === '/api/v1/tunnels/slow').length,
    ).toBeGreaterThan(0);
  });

  it('lets the server wait when it can (201 at once, no polling)', async () => {
    fake.setBehaviour({ settleMs: 200 });
    const r = await tunnelctl(['tunnel', 'create', '--name', 'quick', '--timeout', '5'], { env });
    expect(r.code).toBe(0);
    expect(fake.requests.map((q) => `${q.method} ${q.path}?wait=${q.query.wait ?? ''}`)).toEqual([
      'POST /api/v1/tunnels?wait=5',
    ]);
  });

  it('caps ?wait= at 120 and polls for the rest of --timeout', async () => {
    fake.setBehaviour({ settleMs: 10, maxWaitSeconds: 0 });
    await tunnelctl(['tunnel', 'create', '--timeout', '600'], { env });
    expect(fake.requests[0]?.query.wait).toBe('120');
  });

  it('--no-wait returns the pending object at once', async () => {
    fake.setBehaviour({ settleMs: 60_000 });
    const r = await tunnelctl(['create', '--name', 'later', '--no-wait', '-o', 'json'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'later', phase: 'pending' });
    expect(r.stderr).toContain(
      'Tunnel later is pending; not waiting (check with: tunnelctl tunnel get later)',
    );
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]?.query.wait).toBe('0');
  });

  it('times out with the tunnel name and how to check', async () => {
    fake.setBehaviour({ settleMs: 60_000, maxWaitSeconds: 0 });
    const r = await tunnelctl(['create', '--timeout', '1'], { env });
    expect(r.code).toBe(1);
    const name = fake.tunnelsOf('user1')[0]!.name;
    expect(r.stderr).toContain(`Timed out after 1s waiting for tunnel ${name} (phase pending)`);
    expect(r.stderr).toContain(`tunnelctl tunnel get ${name}`);
  });

  it('fails with the last error when provisioning fails', async () => {
    // A failed tunnel never converges, so the real server holds the request for all of its
    // wait; here it answers at once (a reconciler slower than the wait) and tunnelctl polls.
    fake.setBehaviour({ failNextTunnel: 'account suspended', maxWaitSeconds: 0 });
    const r = await tunnelctl(['create'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: Tunnel ([a-z]{8}) failed: create tunnel tunnelplane-test-\1: Cloudflare answered 403 \(10000\): account suspended/,
    );
  });

  it('waits for a deletion to finish', async () => {
    fake.seedTunnel('user1', { name: 'goner' });
    fake.setBehaviour({ settleMs: 150, maxWaitSeconds: 0 });
    const r = await tunnelctl(['delete', 'goner'], { env });
    expect(r).toMatchObject({ code: 0, stdout: 'tunnel goner deleted\n' });
    expect(fake.tunnel('goner')).toBeUndefined();
  });

  it('--no-wait on delete says it is being deleted', async () => {
    fake.seedTunnel('user1', { name: 'goner' });
    fake.setBehaviour({ settleMs: 60_000 });
    const r = await tunnelctl(['delete', 'goner', '--no-wait'], { env });
    expect(r).toMatchObject({ code: 0, stdout: 'tunnel goner is being deleted\n' });
  });

  it('waits for routes deleted by service', async () => {
    fake.seedTunnel('user1', { name: 'web', services: ['http://localhost:1'] });
    fake.setBehaviour({ settleMs: 150, maxWaitSeconds: 0 });
    const r = await tunnelctl(['delete', 'web', 'http://localhost:1', '-o', 'json'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).pending).toEqual([]);
    expect(fake.tunnel('web')!.routes).toEqual([]);
  });

  it('shows a spinner on a terminal, nothing when stderr is piped', async () => {
    fake.setBehaviour({ settleMs: 150, maxWaitSeconds: 0 });
    const tty = await tunnelctl(['create'], { env, stderrTTY: true });
    expect(tty.code).toBe(0);
    expect(tty.stderr).toContain('⠋ Creating tunnel');
    expect(tty.stderr).toContain('\r\x1b[2K');
    const piped = await tunnelctl(['create'], { env });
    expect(piped.stderr).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]|\x1b/);
  });
});
