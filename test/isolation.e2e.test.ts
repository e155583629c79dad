/**
 * Users see and touch only their own objects; every input is validated at the edge with a 4xx
 * and a stable code — never a 500.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { cfView } from './support/cloudflare-view.js';

let stack: Stack;

function rawGet(path: string, userpass: string): Promise<{ status: number; body: string }> {
  const url = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: 'GET',
        headers: { authorization: `Basic ${Buffer.from(userpass).toString('base64')}` },
      },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
let tunnel: string;
let route: string;
beforeAll(async () => {
  stack = await startStack();
  const t = await stack.as('user1').post('/api/v1/tunnels', {});
  tunnel = t.body.name;
  route = (
    await stack
      .as('user1')
      .post(`/api/v1/tunnels/${tunnel}/routes`, { service: 'http://localhost:8000', name: 'web' })
  ).body.name;
});
afterAll(async () => stack?.stop());

describe('isolation', () => {
  it('answers 404 to another user on every path of a tunnel that is not theirs', async () => {
    const other = stack.as('user2');
    const paths: Array<[string, string, unknown?]> = [
      ['GET', `/api/v1/tunnels/${tunnel}`],
      ['DELETE', `/api/v1/tunnels/${tunnel}`],
      ['GET', `/api/v1/tunnels/${tunnel}/credentials`],
      ['GET', `/api/v1/tunnels/${tunnel}/config`],
      ['GET', `/api/v1/tunnels/${tunnel}/token`],
      ['GET', `/api/v1/tunnels/${tunnel}/routes`],
      ['POST', `/api/v1/tunnels/${tunnel}/routes`, { service: 'http://localhost:1' }],
      ['GET', `/api/v1/tunnels/${tunnel}/routes/${route}`],
      ['DELETE', `/api/v1/tunnels/${tunnel}/routes/${route}`],
      ['DELETE', `/api/v1/tunnels/${tunnel}/routes?service=http://localhost:8000`],
      ['GET', `/tunnels/${tunnel}/credentials`],
      ['GET', `/tunnels/${tunnel}/config`],
      ['POST', `/tunnels/${tunnel}/routes?service=http://localhost:1`],
      ['DELETE', `/tunnels/${tunnel}/routes?service=http://localhost:8000`],
    ];
    for (const [method, path, body] of paths) {
      const res = await other.request(method, path, body);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
      expect(res.body.error.code).toBe('tunnel.not_found');
    }
    // The proof of concept's DELETE answers 200 with its own words, as it did for a tunnel not yours.
    expect((await other.del(`/tunnels/${tunnel}`)).body).toEqual({
      result: 'error',
      message: `tunnel ${tunnel} configuration not found for user user2`,
    });
    expect((await other.get('/api/v1/tunnels')).body.items).toEqual([]);
    expect((await other.get('/tunnels')).body).toEqual({ result: 'ok', tunnels: [] });
    expect((await other.get('/api/v1/events')).body.items.map((e: any) => e.target)).not.toContain(tunnel);
    // Nothing changed for the owner.
    const mine = await stack.as('user1').get(`/api/v1/tunnels/${tunnel}`);
    expect(mine.body.routes.map((r: any) => r.name)).toEqual(['web']);
  });

  it('keeps admin views for admins', async () => {
    expect((await stack.as('user1').get('/api/v1/admin/users')).status).toBe(403);
    const all = await stack.as('admin').get('/api/v1/admin/tunnels');
    expect(all.status).toBe(200);
    expect(all.body.items.map((t: any) => t.name)).toContain(tunnel);
    const quota = await stack.as('admin').request('PUT', '/api/v1/admin/users/user2/quotas', { tunnels: 0 });
    expect(quota.body.quotas.tunnels).toBe(0);
    const refused = await stack.as('user2').post('/api/v1/tunnels', {});
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({
      code: 'quota.exceeded',
      details: { resource: 'tunnels', limit: 0 },
    });
    const audit = (await stack.as('user2').get('/api/v1/events')).body.items;
    expect(audit[0]).toMatchObject({
      actor: 'user2',
      action: 'POST /api/v1/tunnels',
      outcome: 'error',
      details: { status: 403, code: 'quota.exceeded' },
    });
    await stack.as('admin').request('PUT', '/api/v1/admin/users/user2/quotas', { tunnels: null });
  });

  it.each(['a%2Fb', '..', '%2e%2e', 'ABCDEFGH', 'x'.repeat(25), 'a%00b', '%2e%2e%2f%2e%2e%2fetc'])(
    'rejects the tunnel name %s with 400',
    async (name) => {
      // Raw paths: fetch() would normalise `..` and `%2e%2e` away before the server saw them.
      for (const path of [
        `/api/v1/tunnels/${name}`,
        `/api/v1/tunnels/${name}/config`,
        `/tunnels/${name}/config`,
        `/tunnels/${name}/credentials`,
      ]) {
        const res = await rawGet(path, 'user1:user1password');
        expect({ path, status: res.status }).toEqual({ path, status: 400 });
        expect(JSON.parse(res.body).error.code).toMatch(/^(tunnel\.invalid_name|request\.invalid)$/);
      }
    },
  );

  it.each(['../etc', 'UPPER', 'a/b', 'x'.repeat(25), 'a--b', '-ab'])(
    'refuses to create a tunnel named %s',
    async (name) => {
      const res = await stack.as('user1').post('/api/v1/tunnels', { name });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toMatch(/^(tunnel\.invalid_name|request\.invalid)$/);
    },
  );
});

describe('bad input', () => {
  const u = () => stack.as('user1');
  it.each([
    ['not a url', 'route.invalid_service'],
    ['http://localhost:8000/', 'route.invalid_service'],
    ['http://localhost:8000/path', 'route.invalid_service'],
    ['tcp://192.168.1.10', 'route.invalid_service'],
    ['tcp://192.168.1.10:70000', 'route.invalid_service'],
    ['ftp://x:21', 'route.invalid_service'],
    ['', 'route.invalid_service'],
  ])('rejects the service %j', async (service, code) => {
    const res = await u().post(`/api/v1/tunnels/${tunnel}/routes`, { service });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.requestId).toMatch(/^req-/);
    const poc = await u().post(`/tunnels/${tunnel}/routes?service=${encodeURIComponent(service || 'x')}`);
    expect(poc.status).toBe(400);
  });

  it('rejects malformed, oversized and mistyped bodies with codes', async () => {
    const malformed = await u().request('POST', `/api/v1/tunnels/${tunnel}/routes`, '{"service": ', {
      'content-type': 'application/json',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('request.invalid');
    const big = await u().request(
      'POST',
      `/api/v1/tunnels/${tunnel}/routes`,
      JSON.stringify({ service: 'x'.repeat(70_000) }),
    );
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('request.too_large');
    const wrongType = await u().request('POST', `/api/v1/tunnels/${tunnel}/routes`, 'service=http://x', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(wrongType.status).toBe(415);
    expect(wrongType.body.error.code).toBe('request.unsupported_media_type');
    const text = await u().request('POST', `/api/v1/tunnels/${tunnel}/routes`, 'http://x', {
      'content-type': 'text/plain',
    });
    expect(text.status).toBe(415);
    const extra = await u().post(`/api/v1/tunnels/${tunnel}/routes`, {
      service: 'http://localhost:1',
      admin: true,
    });
    expect(extra.status).toBe(400);
    expect(extra.body.error.code).toBe('request.invalid');
    const missing = await u().post(`/api/v1/tunnels/${tunnel}/routes`, {});
    expect(missing.status).toBe(400);
    const badWait = await u().post(`/api/v1/tunnels?wait=abc`, {});
    expect(badWait.status).toBe(400);
    const unknown = await u().get('/api/v1/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('route.unknown_path');
  });

  it('has an OpenAPI document, health and metrics', async () => {
    const doc = (await fetch(`${stack.url}/openapi.json`).then((r) => r.json())) as any;
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/tunnels', '/api/v1/tunnels/{tunnel}/routes']),
    );
    const docs = await fetch(`${stack.url}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.url}/readyz`)).status).toBe(200);
    const metrics = await fetch(`${stack.url}/metrics`).then((r) => r.text());
    expect(metrics).toContain(
      'tunnelplane_cloudflare_calls_total{endpoint="POST /accounts/:id/cfd_tunnel",status="200"}',
    );
    expect(metrics).toContain('tunnelplane_http_requests_total');
  });

  it('never stores the tunnel secret in clear', async () => {
    const row = await stack.runtime.store.tunnels.byName(tunnel);
    const secret = cfView(stack.cf).tunnels.find((t) => t.id === row!.cf_tunnel_id)!.secret;
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(JSON.stringify(row)).not.toContain(Buffer.from(secret, 'base64').toString('hex'));
  });
});

describe('API tokens', () => {
  it('creates a token shown once, authenticates with it, records last use, and revokes it', async () => {
    const created = await stack.as('user1').post('/api/v1/tokens', { name: 'ci' });
    expect(created.status).toBe(201);
    const secret = created.body.secret as string;
    const bearer = { authorization: `Bearer ${secret}` };
    const me = await fetch(`${stack.url}/api/v1/me`, { headers: bearer }).then((r) => r.json());
    expect(me).toMatchObject({ name: 'user1', authenticatedWith: 'token' });
    const list = (await stack.as('user1').get('/api/v1/tokens')).body.items;
    expect(list[0]).toMatchObject({ name: 'ci' });
    expect(list[0].lastUsedAt).toBeTruthy();
    expect(JSON.stringify(list)).not.toContain(secret);
    const stored = await stack.runtime.store.tokens.listForUser(
      (await stack.runtime.store.users.byName('user1'))!.id,
    );
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect((await stack.as('user2').del(`/api/v1/tokens/${created.body.token.id}`)).status).toBe(404);
    expect((await stack.as('user1').del(`/api/v1/tokens/${created.body.token.id}`)).status).toBe(204);
    expect((await fetch(`${stack.url}/api/v1/me`, { headers: bearer })).status).toBe(401);
  });

  it('notices a password change despite the credential cache', async () => {
    const store = stack.runtime.store;
    const { hashPassword } = await import('../src/domain/passwords.js');
    expect((await stack.as('user2').get('/api/v1/me')).status).toBe(200);
    const user2 = (await store.users.byName('user2'))!;
    await store.users.update(user2.id, { password_hash: await hashPassword('changed-password') });
    expect((await stack.as('user2').get('/api/v1/me')).status).toBe(401);
    expect((await stack.as('user2', 'changed-password').get('/api/v1/me')).status).toBe(200);
    await store.users.update(user2.id, { password_hash: user2.password_hash });
  });
});
