/**
 * `route add --hostname --origin --access-groups --session` and `route update` (issue 16): what
 * tunnelctl sends, what it shows, and the refusals it explains, against the fake server (which
 * test/contract keeps equal to the real one).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeServer, type FakeServer } from './fake-server.js';
import { tunnelctl, userEnv } from './harness.js';
import { originFlag } from '../../src/cli/route-commands.js';

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

describe('--origin', () => {
  it('reads KEY=VALUE pairs: booleans, whole numbers, strings; none clears', () => {
    expect(
      originFlag('noTLSVerify=true,connectTimeout=10s,keepAliveTimeout=60,httpHostHeader=app.internal'),
    ).toEqual({
      noTLSVerify: true,
      connectTimeout: '10s',
      keepAliveTimeout: 60,
      httpHostHeader: 'app.internal',
    });
    expect(originFlag('access=true')).toEqual({ access: { required: true } });
    expect(originFlag('none')).toBeNull();
    expect(originFlag(undefined)).toBeUndefined();
    expect(() => originFlag('noTLSVerify')).toThrow(/KEY=VALUE/);
  });
});

describe('route add and update', () => {
  it('add takes a chosen hostname and origin options', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    const r = await tunnelctl(
      [
        'route',
        'add',
        'web',
        'https://localhost:8443',
        '--hostname',
        'myapp',
        '--origin',
        'noTLSVerify=true',
        '-o',
        'json',
      ],
      { env },
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: 'myapp',
      hostname: 'myapp.example.com',
      originRequest: { noTLSVerify: true },
    });
    expect(fake.requests.find((q) => q.method === 'POST')?.body).toMatchObject({
      hostname: 'myapp',
      originRequest: { noTLSVerify: true },
    });
    const reserved = await tunnelctl(['route', 'add', 'web', 'http://localhost:1', '--hostname', 'www'], {
      env,
    });
    expect(reserved.code).toBe(1);
    expect(reserved.stderr).toContain('route.hostname_reserved');
  });

  it('update sends only what changes, with If-Match of the route as read', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    await tunnelctl(['route', 'add', 'web', 'http://localhost:8000', '--name', 'site'], { env });
    const u = await tunnelctl(
      [
        'route',
        'update',
        'web',
        'site',
        '--service',
        'http://localhost:9000',
        '--allow-ips',
        '203.0.113.0/24',
        '-o',
        'json',
      ],
      { env },
    );
    expect(u.code).toBe(0);
    expect(JSON.parse(u.stdout)).toMatchObject({
      name: 'site',
      service: 'http://localhost:9000',
      allowIps: ['203.0.113.0/24'],
      generation: 2,
    });
    const patch = fake.requests.find((q) => q.method === 'PATCH')!;
    expect(patch.body).toEqual({ service: 'http://localhost:9000', allowIps: ['203.0.113.0/24'] });
    expect(u.stderr).toContain('restart');

    const cleared = await tunnelctl(
      ['route', 'update', 'web', 'site', '--allow-ips', 'none', '--origin', 'none', '-o', 'json'],
      {
        env,
      },
    );
    expect(JSON.parse(cleared.stdout)).toMatchObject({ allowIps: null, originRequest: null, generation: 3 });
  });

  it('update explains what it cannot do', async () => {
    fake.seedTunnel('user1', { name: 'web' });
    await tunnelctl(['route', 'add', 'web', 'http://localhost:8000', '--name', 'site'], { env });
    const nothing = await tunnelctl(['route', 'update', 'web', 'site'], { env });
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('Nothing to change');
    const tcp = await tunnelctl(['route', 'update', 'web', 'site', '--service', 'tcp://db:5432'], { env });
    expect(tcp.code).toBe(1);
    expect(tcp.stderr).toContain('route.protocol_change');
    const gone = await tunnelctl(['route', 'update', 'web', 'nope', '--service', 'http://x:1'], { env });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('has no route nope');
  });
});
