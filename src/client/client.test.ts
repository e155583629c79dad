import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort, startFakeServer, type FakeServer } from '../../test/cli/fake-server.js';
import {
  MAX_WAIT_SECONDS,
  TunnelplaneApiError,
  TunnelplaneConnectionError,
  createTunnelplaneClient,
  isApiError,
  normaliseBaseUrl,
  type TunnelplaneClient,
} from './index.js';

let fake: FakeServer;
let client: TunnelplaneClient;

beforeAll(async () => {
  fake = await startFakeServer();
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  client = createTunnelplaneClient({
    baseUrl: fake.url,
    auth: { type: 'basic', user: 'user1', password: 'user1password' },
  });
});

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('client: auth', () => {
  it('sends HTTP Basic', async () => {
    const me = await client.me();
    expect(me).toMatchObject({ name: 'user1', role: 'user', usage: { tunnels: 0, routes: 0 } });
    expect(fake.requests.at(-1)?.auth).toBe('basic:user1');
  });

  it('sends a bearer token, and withAuth leaves the original client alone', async () => {
    const { secret, token } = await client.tokens.create({ name: 'ci', expiresInDays: 7 });
    expect(secret).toMatch(/^tp_/);
    expect(token).toMatchObject({ name: 'ci', lastUsedAt: null });
    expect(token.expiresAt).not.toBeNull();
    const bearer = client.withAuth({ type: 'bearer', token: secret });
    expect((await bearer.me()).name).toBe('user1');
    expect(fake.requests.at(-1)?.auth).toBe(`bearer:${secret}`);
    expect(client.auth).toEqual({ type: 'basic', user: 'user1', password: 'user1password' });
    expect((await client.tokens.list()).map((t) => t.id)).toEqual([token.id]);
    await bearer.tokens.delete(token.id);
    expect(await client.tokens.list()).toEqual([]);
    const err = await caught(bearer.me());
    expect(err).toBeInstanceOf(TunnelplaneApiError);
    expect(err).toMatchObject({ status: 401, code: 'auth.invalid' });
  });

  it('maps missing and wrong credentials to 401 errors with code, message and request id', async () => {
    const anonymous = client.withAuth(null);
    const missing = (await caught(anonymous.tunnels.list())) as TunnelplaneApiError;
    expect(missing).toMatchObject({ status: 401, code: 'auth.required' });
    const wrong = (await caught(
      client.withAuth({ type: 'basic', user: 'user1', password: 'nope' }).tunnels.list(),
    )) as TunnelplaneApiError;
    expect(wrong.code).toBe('auth.invalid');
    expect(wrong.message).toBe('Invalid credentials: check USERPASS (user:password) or the API token.');
    expect(wrong.requestId).toMatch(/^req-/);
    expect(wrong.method).toBe('GET');
    expect(wrong.url).toBe(`${fake.url}/api/v1/tunnels`);
  });

  it('encodes non-ASCII passwords as UTF-8', async () => {
    const server = await startFakeServer({ users: { zoë: 'pässwörd:with:colons' } });
    try {
      const c = createTunnelplaneClient({
        baseUrl: server.url,
        auth: { type: 'basic', user: 'zoë', password: 'pässwörd:with:colons' },
      });
      expect((await c.me()).name).toBe('zoë');
    } finally {
      await server.close();
    }
  });
});

describe('client: tunnels and routes', () => {
  it('creates, lists, gets and deletes a tunnel', async () => {
    const created = await client.tunnels.create({ configMode: 'remote' }, { wait: 5 });
    expect(created.converged).toBe(true);
    expect(created.status).toBe(201);
    expect(created.value).toMatchObject({ owner: 'user1', configMode: 'remote', phase: 'ready', routes: [] });
    expect(created.value.name).toMatch(/^[a-z]{8}$/);
    expect(fake.requests.at(-1)).toMatchObject({
      method: 'POST',
      query: { wait: '5' },
      body: { configMode: 'remote' },
    });

    const name = created.value.name;
    expect((await client.tunnels.get(name)).id).toBe(created.value.id);
    expect((await client.tunnels.list()).items.map((t) => t.name)).toEqual([name]);
    const gone = await client.tunnels.delete(name, { wait: 10 });
    expect(gone).toEqual({ converged: true, status: 204, value: null });
    expect(isApiError(await caught(client.tunnels.get(name)), 'tunnel.not_found')).toBe(true);
  });

  it('reports 202 as not converged, with the object as it stands', async () => {
    fake.setBehaviour({ settleMs: 60_000 });
    const res = await client.tunnels.create({ name: 'slow' }, { wait: 0 });
    expect(res).toMatchObject({ converged: false, status: 202, value: { name: 'slow', phase: 'pending' } });
    const del = await client.tunnels.delete('slow', { wait: 0 });
    expect(del).toMatchObject({ converged: false, status: 202, value: { phase: 'deleting' } });
  });

  it('refuses a wait outside 0..120 before sending anything', async () => {
    expect(MAX_WAIT_SECONDS).toBe(120);
    await expect(client.tunnels.create({}, { wait: 121 })).rejects.toThrow(RangeError);
    await expect(client.tunnels.create({}, { wait: 1.5 })).rejects.toThrow(RangeError);
    expect(fake.requests).toEqual([]);
  });

  it('pages through every tunnel with listAll', async () => {
    for (let i = 0; i < 3; i++) fake.seedTunnel('user1');
    fake.seedTunnel('user2');
    const first = await client.tunnels.list({ limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).not.toBeNull();
    const second = await client.tunnels.list({ limit: 2, cursor: first.nextCursor });
    expect(second.items).toHaveLength(1);
    expect(second.nextCursor).toBeNull();
    expect(await client.tunnels.listAll()).toHaveLength(3);
  });

  it('returns credentials and config byte for byte, and the run token', async () => {
    const t = fake.seedTunnel('user1', { services: ['http://localhost:8000'] });
    expect(await client.tunnels.credentials(t.name)).toBe(fake.credentialsOf(t.name));
    expect(await client.tunnels.config(t.name)).toBe(fake.configOf(t.name));
    expect(await client.tunnels.token(t.name)).toBe(fake.runTokenOf(t.name));
  });

  it('adds, lists, gets and deletes routes, by name and by service', async () => {
    const t = fake.seedTunnel('user1');
    const a = await client.routes.create(t.name, { service: 'HTTP://LocalHost:8000', name: 'web' });
    expect(a.value).toMatchObject({
      name: 'web',
      hostname: `web-${t.name}.${fake.zone}`,
      service: 'http://localhost:8000',
      protocol: 'http',
      inCluster: null,
    });
    const b = await client.routes.create(t.name, { service: 'tcp://10.0.0.5:5432' });
    expect(b.value.inCluster).toEqual({
      address: `tunnel-access-${b.value.name}-${t.name}.tunnel-control-plane.svc.cluster.local:10000`,
      ready: true,
      reason: null,
    });
    expect((await client.routes.list(t.name)).map((r) => r.name)).toEqual([b.value.name, 'web']);
    expect((await client.routes.get(t.name, 'web')).service).toBe('http://localhost:8000');
    expect(await client.routes.delete(t.name, 'web', { wait: 1 })).toEqual({
      converged: true,
      status: 204,
      value: null,
    });
    expect(await client.routes.deleteByService(t.name, 'tcp://10.0.0.5:5432')).toEqual({
      deleted: [b.value.name],
      pending: [],
    });
    expect(fake.requests.at(-1)?.query).toEqual({ service: 'tcp://10.0.0.5:5432' });
    expect(await client.routes.list(t.name)).toEqual([]);
  });

  it('carries the server error: code, message, details', async () => {
    const t = fake.seedTunnel('user1');
    const err = (await caught(
      client.routes.create(t.name, { service: 'ftp://files' }),
    )) as TunnelplaneApiError;
    expect(err).toBeInstanceOf(TunnelplaneApiError);
    expect(err.status).toBe(400);
    expect(err.code).toBe('route.invalid_service');
    expect(err.message).toContain('ftp://files');
    expect(err.details).toEqual({ service: 'ftp://files', rule: 'scheme' });
  });

  it("never shows another user's tunnels", async () => {
    const other = fake.seedTunnel('user2');
    const err = await caught(client.tunnels.get(other.name));
    expect(err).toMatchObject({ status: 404, code: 'tunnel.not_found' });
    expect(await client.tunnels.listAll()).toEqual([]);
  });
});

describe('client: events, admin and probes', () => {
  it('lists events, and admin endpoints for admins only', async () => {
    await client.tunnels.create({ name: 'audited' });
    const events = await client.events.list();
    expect(events.items.map((e) => e.action)).toContain('tunnel.create');
    expect(await caught(client.admin.users())).toMatchObject({ status: 403, code: 'auth.forbidden' });
    const admin = client.withAuth({ type: 'basic', user: 'admin', password: 'adminpassword' });
    expect((await admin.admin.users()).map((u) => u.name)).toContain('user1');
    expect((await admin.admin.tunnels({ owner: 'user1' })).items.map((t) => t.name)).toEqual(['audited']);
    expect((await admin.admin.setQuotas('user1', { tunnels: 1 })).quotas.tunnels).toBe(1);
    expect(await caught(client.tunnels.create())).toMatchObject({
      status: 403,
      code: 'quota.exceeded',
      details: { resource: 'tunnels', limit: 1, used: 1 },
    });
  });

  it('admin users and teams: create, patch, members, quotas, remove', async () => {
    const admin = client.withAuth({ type: 'basic', user: 'admin', password: 'adminpassword' });
    const carol = await admin.admin.createUser({ name: 'carol', password: 'carol-secret', role: 'user' });
    expect(carol).toMatchObject({ name: 'carol', role: 'user', disabled: false, signIn: ['password'] });
    expect((await admin.admin.updateUser('carol', { disabled: true })).disabled).toBe(true);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'PATCH', path: '/api/v1/admin/users/carol' });
    expect(await admin.admin.setPassword('carol', 'carol-secret-2')).toEqual({ tokensRevoked: 0 });
    const team = await admin.admin.createTeam({ name: 'platform', quotas: { tunnels: 3 } });
    expect(team).toMatchObject({ name: 'platform', quotas: { tunnels: 3 }, members: [] });
    expect((await admin.admin.addMember('platform', 'user1')).members?.map((m) => m.name)).toEqual(['user1']);
    expect(await client.account.teams()).toEqual([{ name: 'platform' }]);
    expect((await client.me()).teams).toEqual([{ name: 'platform' }]);
    const { value } = await client.tunnels.create({ name: 'teamwork', team: 'platform' });
    expect(value.owner).toBe('team:platform');
    expect((await client.tunnels.listAll({ team: 'platform' })).map((t) => t.name)).toEqual(['teamwork']);
    expect((await admin.admin.team('platform')).usage.tunnels).toBe(1);
    expect((await admin.admin.removeMember('platform', 'user1')).members).toEqual([]);
    await admin.admin.removeUser('carol');
    expect(await caught(admin.admin.user('carol'))).toMatchObject({ status: 404, code: 'user.not_found' });
    expect(await caught(admin.admin.removeTeam('platform'))).toMatchObject({ code: 'team.has_tunnels' });
  });

  it('scoped tokens and the password', async () => {
    const { token, secret } = await client.tokens.create({ name: 'ro', scopes: ['read'] });
    expect(token.scopes).toEqual(['read']);
    const ro = client.withAuth({ type: 'bearer', token: secret });
    expect(await ro.me()).toMatchObject({ authenticatedWith: 'token', scopes: ['read'] });
    expect(await caught(ro.tunnels.create())).toMatchObject({ status: 403, code: 'auth.scope' });
    expect(
      await caught(client.account.changePassword({ currentPassword: 'x', newPassword: 'yyyyyyyy' })),
    ).toMatchObject({
      code: 'auth.wrong_password',
    });
    expect(
      await client.account.changePassword({
        currentPassword: 'user1password',
        newPassword: 'user1password2',
      }),
    ).toEqual({ tokensRevoked: 0 });
  });

  it('the device sign-in: public paths, pending as a value, then the token', async () => {
    const anonymous = client.withAuth(null);
    expect(await anonymous.signIn.methods()).toEqual({ password: true, sso: false, device: false });
    expect(await caught(anonymous.signIn.startDevice())).toMatchObject({
      status: 404,
      code: 'sso.not_configured',
    });
    fake.devices.configure({ interval: 3 });
    const start = await client.signIn.startDevice();
    expect(start).toMatchObject({ interval: 3, expiresIn: 600, userCode: expect.any(String) });
    expect(await client.signIn.pollDevice({ deviceCode: start.deviceCode })).toEqual({
      status: 'pending',
      interval: 3,
    });
    fake.devices.approve('user2');
    const done = await client.signIn.pollDevice({ deviceCode: start.deviceCode, tokenName: 'cli' });
    expect(done).toMatchObject({
      status: 'done',
      user: 'user2',
      token: { name: 'cli' },
      secret: expect.any(String),
    });
    expect(await caught(client.signIn.pollDevice({ deviceCode: start.deviceCode }))).toMatchObject({
      code: 'sso.expired',
    });
    // Never the caller's credentials on these paths.
    expect(fake.requests.filter((r) => r.path.includes('/auth/')).every((r) => r.auth === null)).toBe(true);
  });

  it('probes without credentials', async () => {
    const anonymous = client.withAuth(null);
    expect(await anonymous.system.health()).toEqual({ status: 'ok' });
    expect(await anonymous.system.ready()).toEqual({ ready: true, body: { status: 'ready' } });
    expect(await anonymous.system.metrics()).toContain('up 1');
    expect((await anonymous.system.openapi()).openapi).toBe('3.1.0');
    expect(fake.requests.every((r) => r.auth === null)).toBe(true);
  });
});

describe('client: the proof of concept paths (legacy)', () => {
  it('speaks the old API', async () => {
    expect(await client.legacy.welcome()).toBe('Welcome');
    const created = await client.legacy.createTunnel();
    expect(created.result).toBe('ok');
    const name = created.tunnel.name;
    expect(created.tunnel.config.ingress).toEqual([{ service: 'http_status:404' }]);
    const routed = await client.legacy.addRoute(name, 'http://localhost:8000');
    expect(routed.tunnel.config.ingress[0]).toMatchObject({ service: 'http://localhost:8000' });
    expect(routed.tunnel.config.ingress.at(-1)).toEqual({ service: 'http_status:404' });
    expect((await client.legacy.listTunnels()).tunnels.map((t) => t.name)).toEqual([name]);
    expect(await client.legacy.credentials(name)).toBe(fake.credentialsOf(name));
    expect(await client.legacy.config(name)).toBe(fake.configOf(name));
    expect(fake.requests.at(-1)?.path).toBe(`/tunnels/${name}/config`);
    const removed = await client.legacy.deleteRoutes(name, 'http://localhost:8000');
    expect(removed.tunnel.config.ingress).toEqual([{ service: 'http_status:404' }]);
    expect(await client.legacy.deleteTunnel(name)).toEqual({ result: 'ok', name });
  });

  it("reads the proof of concept's own error shape", async () => {
    const t = fake.seedTunnel('user1');
    const err = (await caught(client.legacy.addRoute(t.name, ''))) as TunnelplaneApiError;
    expect(err).toMatchObject({ status: 400, code: 'http.400', message: "Missing parameter: 'service'" });
  });
});

describe('client: transport', () => {
  it('keeps a path prefix and encodes path segments', async () => {
    const seen: string[] = [];
    const c = createTunnelplaneClient({
      baseUrl: 'https://example.test/tunnelplane/',
      fetch: async (url) => {
        seen.push(String(url));
        return new Response(JSON.stringify({ name: 'x' }), { status: 200 });
      },
    });
    expect(c.baseUrl).toBe('https://example.test/tunnelplane');
    await c.tunnels.get('a/b?c');
    expect(seen).toEqual(['https://example.test/tunnelplane/api/v1/tunnels/a%2Fb%3Fc']);
  });

  it('fails at construction on a bad base URL', () => {
    expect(() => createTunnelplaneClient({ baseUrl: 'localhost:5000' })).toThrow(TypeError);
    expect(() => normaliseBaseUrl('ftp://x')).toThrow(/http or https/);
    expect(() => normaliseBaseUrl('http://u:p@x')).toThrow(/credentials/);
  });

  it('raises a connection error naming the URL tried', async () => {
    const port = await freePort();
    const c = createTunnelplaneClient({ baseUrl: `http://127.0.0.1:${port}` });
    const err = (await caught(c.me())) as TunnelplaneConnectionError;
    expect(err).toBeInstanceOf(TunnelplaneConnectionError);
    expect(err.url).toBe(`http://127.0.0.1:${port}/api/v1/me`);
    expect(err.errno).toBe('ECONNREFUSED');
    expect(err.reason).toBe('connection refused');
  });

  it('times out a server that never answers', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const c = createTunnelplaneClient({
        baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        timeoutMs: 200,
      });
      const err = (await caught(c.tunnels.get('x'))) as TunnelplaneConnectionError;
      expect(err).toBeInstanceOf(TunnelplaneConnectionError);
      expect(err.errno).toBe('TIMEOUT');
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('calls a non-API answer what it is', async () => {
    const c = createTunnelplaneClient({
      baseUrl: 'http://example.test',
      fetch: async () => new Response('<html>Bad gateway</html>', { status: 502 }),
    });
    const err = (await caught(c.me())) as TunnelplaneApiError;
    expect(err.code).toBe('http.502');
    expect(err.message).toContain('Bad gateway');
    const ok = createTunnelplaneClient({
      baseUrl: 'http://example.test',
      fetch: async () => new Response('<html>'),
    });
    expect(await caught(ok.me())).toMatchObject({ code: 'client.unexpected_response' });
  });

  it("lets the caller's signal cancel", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(client.me({ signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
