/**
 * Teams, scoped tokens and the admin API through the real HTTP entrypoint: a team's members see
 * and manage its tunnels and nobody else does (API v1 and the proof of concept's paths); a
 * member who leaves, or is disabled or removed, leaves the team's tunnels and their Cloudflare
 * objects as they are; team quotas hold under concurrency; a `read` token cannot change
 * anything and no token can mint a broader one; someone can always administer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiToken, newApiToken } from '../src/domain/passwords.js';
import { cfView } from './support/cloudflare-view.js';
import { api, eventually, startStack, type Api, type Stack } from './support/stack.js';

describe('teams, scoped tokens and the admin API', () => {
  let stack: Stack;
  let admin: Api;
  const bearer = (secret: string) => api(() => stack.url, { authorization: `Bearer ${secret}` });

  beforeAll(async () => {
    stack = await startStack({ config: { 'identity.passwordChangeRevokesTokens': true } });
    admin = stack.as('admin');
    for (const name of ['mia', 'noa', 'oli']) {
      const r = await admin.post('/api/v1/admin/users', { name, password: `${name}-password` });
      expect(r.status).toBe(201);
    }
    expect((await admin.post('/api/v1/admin/teams', { name: 'web', quotas: { tunnels: 2 } })).status).toBe(
      201,
    );
    expect((await admin.request('PUT', '/api/v1/admin/teams/web/members/mia')).status).toBe(200);
    expect((await admin.request('PUT', '/api/v1/admin/teams/web/members/noa')).status).toBe(200);
  });
  afterAll(async () => stack?.stop());

  const as = (name: string) => stack.as(name, `${name}-password`);

  it('lets members see and manage the team’s tunnels, and nobody else, on every path', async () => {
    const mia = as('mia');
    const noa = as('noa');
    const oli = as('oli');
    const made = await mia.post('/api/v1/tunnels?wait=10', { team: 'web' });
    expect(made.status).toBe(201);
    expect(made.body.owner).toBe('team:web');
    const name = made.body.name as string;
    // noa (a member) manages it: sees it, adds a route, reads its config.
    expect((await noa.get('/api/v1/tunnels')).body.items.map((t: { name: string }) => t.name)).toContain(
      name,
    );
    expect(
      (await noa.get(`/api/v1/tunnels?team=web`)).body.items.map((t: { name: string }) => t.name),
    ).toEqual([name]);
    const route = await noa.post(`/api/v1/tunnels/${name}/routes?wait=10`, {
      service: 'http://localhost:8080',
    });
    expect(route.status).toBe(201);
    expect((await noa.get(`/tunnels/${name}/config`)).status).toBe(200);
    // oli (not a member): it does not exist, on API v1 and on the proof of concept's paths.
    for (const [method, path] of [
      ['GET', `/api/v1/tunnels/${name}`],
      ['DELETE', `/api/v1/tunnels/${name}?wait=0`],
      ['POST', `/api/v1/tunnels/${name}/routes?wait=0`],
      ['GET', `/tunnels/${name}/config`],
      ['GET', `/tunnels/${name}/credentials`],
    ] as const) {
      const r = await oli.request(
        method,
        path,
        method === 'POST' ? { service: 'http://localhost:1' } : undefined,
      );
      expect([method, path, r.status]).toEqual([method, path, 404]);
    }
    // The proof of concept's DELETE answers 200 with its own words, as it did for a tunnel not yours.
    expect((await oli.del(`/tunnels/${name}`)).body).toEqual({
      result: 'error',
      message: `tunnel ${name} configuration not found for user oli`,
    });
    expect((await oli.get('/api/v1/tunnels')).body.items).toEqual([]);
    expect((await oli.post('/api/v1/tunnels?wait=0', { team: 'web' })).body.error.code).toBe(
      'team.not_found',
    );
    expect((await oli.get('/api/v1/tunnels?team=web')).body.error.code).toBe('team.not_found');
    // The team's events are its members' to read.
    const events = (await noa.get('/api/v1/events?limit=100')).body.items.map(
      (e: { action: string }) => e.action,
    );
    expect(events).toContain('tunnel.create');
  });

  it('leaves the team’s tunnels and their Cloudflare objects alone when a member leaves, is disabled or removed', async () => {
    const mia = as('mia');
    const before = cfView(stack.cf);
    const teamTunnels = (await mia.get('/api/v1/tunnels?team=web')).body.items as Array<{
      name: string;
      phase: string;
    }>;
    expect(teamTunnels.length).toBeGreaterThan(0);
    expect((await admin.request('PATCH', '/api/v1/admin/users/mia', { disabled: true })).status).toBe(200);
    expect((await mia.get('/api/v1/me')).body.error.code).toBe('auth.disabled');
    expect((await admin.del('/api/v1/admin/teams/web/members/mia')).status).toBe(200);
    expect((await admin.del('/api/v1/admin/users/mia')).status).toBe(204);
    await stack.runtime.reconciler!.resync();
    await stack.runtime.reconciler!.drain();
    const noa = as('noa');
    const still = (await noa.get('/api/v1/tunnels?team=web')).body.items as Array<{
      name: string;
      phase: string;
    }>;
    expect(still.map((t) => [t.name, t.phase])).toEqual(teamTunnels.map((t) => [t.name, 'ready']));
    const after = cfView(stack.cf);
    expect(after.tunnels.map((t) => t.id).sort()).toEqual(before.tunnels.map((t) => t.id).sort());
    expect(after.records.map((r) => r.id).sort()).toEqual(before.records.map((r) => r.id).sort());
  });

  it('holds a team quota under concurrent creates by several members', async () => {
    expect((await admin.post('/api/v1/admin/teams', { name: 'burst', quotas: { tunnels: 3 } })).status).toBe(
      201,
    );
    for (const u of ['noa', 'oli']) await admin.request('PUT', `/api/v1/admin/teams/burst/members/${u}`);
    const tries = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        as(i % 2 ? 'noa' : 'oli').post('/api/v1/tunnels?wait=0', { team: 'burst' }),
      ),
    );
    const ok = tries.filter((r) => r.status === 202 || r.status === 201);
    expect(ok).toHaveLength(3);
    expect(tries.filter((r) => r.status === 403).map((r) => r.body.error.code)).toEqual(
      Array(7).fill('quota.exceeded'),
    );
    const team = (await admin.get('/api/v1/admin/teams/burst')).body;
    expect(team.usage.tunnels).toBe(3);
    // The members' own quotas are untouched: the team's tunnels are the team's.
    expect((await as('oli').get('/api/v1/me')).body.usage.tunnels).toBe(0);
  });

  it('scopes tokens: read cannot change anything, no token mints a broader one', async () => {
    const oli = as('oli');
    const read = await oli.post('/api/v1/tokens', { name: 'ro', scopes: ['read'] });
    expect(read.status).toBe(201);
    expect(read.body.token.scopes).toEqual(['read']);
    const ro = bearer(read.body.secret);
    expect((await ro.get('/api/v1/tunnels')).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/api/v1/tunnels?wait=0', {}],
      ['POST', '/api/v1/tokens', { name: 'more' }],
      ['POST', '/tunnels', undefined],
    ] as const) {
      const r = await ro.request(method, path, body);
      expect([path, r.status, r.body.error?.code]).toEqual([path, 403, 'auth.scope']);
    }
    // A write token (expiring in 7 days) cannot mint admin, nor a longer-lived token; by default its child has its rights.
    const write = await oli.post('/api/v1/tokens', {
      name: 'rw',
      scopes: ['read', 'write'],
      expiresInDays: 7,
    });
    const rw = bearer(write.body.secret);
    expect((await rw.post('/api/v1/tokens', { name: 'x', scopes: ['admin'] })).body.error.code).toBe(
      'token.exceeds',
    );
    expect((await rw.post('/api/v1/tokens', { name: 'x', expiresInDays: 30 })).body.error.code).toBe(
      'token.exceeds',
    );
    const child = await rw.post('/api/v1/tokens', { name: 'child' });
    expect(child.status).toBe(201);
    expect(child.body.token.scopes).toEqual(['read', 'write']);
    expect(child.body.token.expiresAt).toBe(write.body.token.expiresAt);
    expect((await oli.post('/api/v1/tokens', { name: 'x', scopes: ['root'] })).body.error.code).toBe(
      'token.bad_scope',
    );
    // A user's token never carries admin, whatever it asks; an admin's admin-less token is refused on admin paths.
    expect((await oli.post('/api/v1/tokens', { name: 'x', scopes: ['admin'] })).body.error.code).toBe(
      'token.exceeds',
    );
    const adminRead = await admin.post('/api/v1/tokens', { name: 'ops-ro', scopes: ['read'] });
    expect((await bearer(adminRead.body.secret).get('/api/v1/admin/users')).body.error.code).toBe(
      'auth.scope',
    );
    const adminAll = await admin.post('/api/v1/tokens', { name: 'ops', scopes: ['read', 'admin'] });
    expect((await bearer(adminAll.body.secret).get('/api/v1/admin/users')).status).toBe(200);
    expect(
      (await bearer(adminAll.body.secret).request('PATCH', '/api/v1/admin/users/oli', { role: 'user' })).body
        .error.code,
    ).toBe('auth.scope');
  });

  it('changes passwords: self-service needs the current one; a change revokes tokens when configured', async () => {
    const noa = as('noa');
    const t = await noa.post('/api/v1/tokens', { name: 'laptop' });
    expect(t.status).toBe(201);
    const wrong = await noa.request('PUT', '/api/v1/me/password', {
      currentPassword: 'nope',
      newPassword: 'a-new-password',
    });
    expect(wrong.body.error.code).toBe('auth.wrong_password');
    const weak = await noa.request('PUT', '/api/v1/me/password', {
      currentPassword: 'noa-password',
      newPassword: 'short',
    });
    expect(weak.body.error.code).toBe('user.weak_password');
    const ok = await noa.request('PUT', '/api/v1/me/password', {
      currentPassword: 'noa-password',
      newPassword: 'noa-new-password',
    });
    expect(ok.status).toBe(200);
    expect(ok.body.tokensRevoked).toBeGreaterThanOrEqual(1);
    expect((await bearer(t.body.secret).get('/api/v1/me')).status).toBe(401);
    expect((await noa.get('/api/v1/me')).status).toBe(401);
    expect((await stack.as('noa', 'noa-new-password').get('/api/v1/me')).status).toBe(200);
    // An admin's reset works the same way.
    const reset = await admin.request('PUT', '/api/v1/admin/users/noa/password', {
      password: 'noa-password',
    });
    expect(reset.status).toBe(200);
    expect((await as('noa').get('/api/v1/me')).status).toBe(200);
  });

  it('manages users: create, role, disable, remove; someone can always administer; every change audited', async () => {
    expect((await admin.post('/api/v1/admin/users', { name: 'bad:name' })).body.error.code).toBe(
      'user.invalid_name',
    );
    expect((await admin.post('/api/v1/admin/users', { name: 'oli' })).body.error.code).toBe(
      'user.name_taken',
    );
    const sso = await admin.post('/api/v1/admin/users', { name: 'sso-only' });
    expect(sso.body.signIn).toEqual([]);
    expect((await stack.as('sso-only', '!').get('/api/v1/me')).status).toBe(401);
    expect(
      (await admin.request('PATCH', '/api/v1/admin/users/admin', { role: 'user' })).body.error.code,
    ).toBe('user.last_admin');
    expect(
      (await admin.request('PATCH', '/api/v1/admin/users/admin', { disabled: true })).body.error.code,
    ).toBe('user.last_admin');
    expect((await admin.request('PATCH', '/api/v1/admin/users/oli', { role: 'admin' })).body.role).toBe(
      'admin',
    );
    expect((await as('oli').get('/api/v1/admin/users')).status).toBe(200);
    expect((await admin.request('PATCH', '/api/v1/admin/users/oli', { role: 'user' })).body.role).toBe(
      'user',
    );
    expect((await as('oli').get('/api/v1/admin/users')).body.error.code).toBe('auth.forbidden');
    // A user with personal tunnels cannot be removed; a team that owns tunnels cannot be either.
    await as('oli').post('/api/v1/tunnels?wait=0', {});
    expect((await admin.del('/api/v1/admin/users/oli')).body.error.code).toBe('user.has_tunnels');
    expect((await admin.del('/api/v1/admin/teams/web')).body.error.code).toBe('team.has_tunnels');
    expect((await admin.del('/api/v1/admin/users/sso-only')).status).toBe(204);
    const actions = (await admin.get('/api/v1/events?limit=200')).body.items.map(
      (e: { action: string }) => e.action,
    );
    for (const a of [
      'user.create',
      'user.update',
      'user.remove',
      'user.password',
      'team.create',
      'team.member_add',
      'team.member_remove',
    ])
      expect(actions).toContain(a);
    await eventually(async () => (await admin.get('/api/v1/admin/teams')).body.items.length >= 2);
  });

  it('describes every identity operation in the OpenAPI document, with request and response schemas', async () => {
    const doc = (await fetch(`${stack.url}/openapi.json`).then((r) => r.json())) as {
      paths: Record<
        string,
        Record<string, { requestBody?: unknown; responses?: Record<string, { content?: unknown }> }>
      >;
    };
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ path, method, op })),
    );
    const identity = ops.filter(({ path }) =>
      /^\/(api\/v1\/(admin\/(users|teams)|me|teams|tokens|events|auth)|auth\/)/.test(path),
    );
    // Every one of them, by name: nothing new goes undescribed.
    expect(identity.map(({ method, path }) => `${method.toUpperCase()} ${path}`).sort()).toEqual(
      [
        'DELETE /api/v1/admin/teams/{team}',
        'DELETE /api/v1/admin/teams/{team}/members/{user}',
        'DELETE /api/v1/admin/users/{user}',
        'DELETE /api/v1/tokens/{id}',
        'GET /api/v1/admin/teams',
        'GET /api/v1/admin/teams/{team}',
        'GET /api/v1/admin/teams/{team}/zones',
        'GET /api/v1/admin/users',
        'GET /api/v1/admin/users/{user}',
        'GET /api/v1/admin/users/{user}/zones',
        'GET /api/v1/events',
        'GET /api/v1/events/stream',
        'GET /api/v1/me',
        'GET /api/v1/teams',
        'GET /api/v1/tokens',
        'GET /auth/callback',
        'GET /auth/login',
        'GET /auth/methods',
        'GET /auth/session',
        'PATCH /api/v1/admin/users/{user}',
        'POST /api/v1/admin/teams',
        'POST /api/v1/admin/users',
        'POST /api/v1/auth/device',
        'POST /api/v1/auth/device/token',
        'POST /api/v1/tokens',
        'POST /auth/logout',
        'POST /auth/password',
        'PUT /api/v1/admin/teams/{team}/members/{user}',
        'PUT /api/v1/admin/teams/{team}/quotas',
        'PUT /api/v1/admin/teams/{team}/zones',
        'PUT /api/v1/admin/users/{user}/password',
        'PUT /api/v1/admin/users/{user}/quotas',
        'PUT /api/v1/admin/users/{user}/zones',
        'PUT /api/v1/me/password',
      ].sort(),
    );
    for (const { path, method, op } of identity) {
      const bodyless = [
        'DELETE /api/v1/admin/teams/{team}/members/{user}',
        'PUT /api/v1/admin/teams/{team}/members/{user}',
      ];
      const name = `${method.toUpperCase()} ${path}`;
      if (
        ['post', 'put', 'patch'].includes(method) &&
        !bodyless.includes(name) &&
        !/device$|logout$/.test(path)
      )
        expect([name, !!op.requestBody]).toEqual([name, true]);
      const success = Object.entries(op.responses ?? {}).filter(
        ([code]) => code.startsWith('2') || code.startsWith('3'),
      );
      expect([name, success.length > 0]).toEqual([name, true]);
      for (const [code, r] of success)
        if (!['204', '302', '303'].includes(code))
          expect([name, code, !!r.content]).toEqual([name, code, true]);
    }
  });
});

describe('password sign-in turned off', () => {
  it('refuses Basic and password sessions, and keeps API tokens working', async () => {
    const stack = await startStack({ config: { 'identity.passwordSignIn': false } });
    try {
      const basic = await stack.as('user1').get('/api/v1/me');
      expect([basic.status, basic.body.error.code]).toEqual([403, 'auth.password_disabled']);
      const poc = await stack.as('user1').get('/tunnels');
      expect(poc.status).toBe(403);
      const session = await fetch(`${stack.url}/auth/password`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'user1', password: 'user1password' }),
      });
      expect(session.status).toBe(403);
      expect(session.headers.get('set-cookie')).toBeNull();
      // A token made before (or by single sign-on) still works.
      const user = (await stack.runtime.store.users.byName('user1'))!;
      const secret = newApiToken();
      await stack.runtime.store.tokens.create({
        userId: user.id,
        name: 'before',
        tokenHash: hashApiToken(secret),
        expiresAt: null,
        scopes: 'read write',
      });
      const me = await api(() => stack.url, { authorization: `Bearer ${secret}` }).get('/api/v1/me');
      expect([me.status, me.body.name]).toEqual([200, 'user1']);
      expect((await fetch(`${stack.url}/auth/methods`).then((r) => r.json())) as object).toEqual({
        password: false,
        sso: false,
        device: false,
      });
    } finally {
      await stack.stop();
    }
  });
});
