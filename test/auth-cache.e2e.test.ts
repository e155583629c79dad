/**
 * The authenticator's cache of verified tokens and teams (issue 19) never outlives what it
 * caches: two replicas on one database (SQLite here; the triggers are the same on PostgreSQL),
 * each request served by replica A after A has cached the credential, every change made through
 * replica B or by an operator's SQL. A revoked token, a removed member, a renamed team count at
 * A's very next request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { api, startStack, type Api, type Stack } from './support/stack.js';

describe('the verified-token and teams cache across replicas', () => {
  let a: Stack;
  let b: Stack;
  const bearerOn = (stack: () => Stack, secret: string) =>
    api(() => stack().url, { authorization: `Bearer ${secret}` });

  beforeAll(async () => {
    a = await startStack();
    b = await startStack({
      cf: a.cf,
      database: `sqlite:${join(a.dir, 'db.sqlite')}`,
      config: { 'reconciler.enabled': false },
    });
    const admin = b.as('admin');
    for (const name of ['kai', 'lea'])
      expect((await admin.post('/api/v1/admin/users', { name, password: `${name}-password` })).status).toBe(
        201,
      );
    expect((await admin.post('/api/v1/admin/teams', { name: 'ops' })).status).toBe(201);
    expect((await admin.request('PUT', '/api/v1/admin/teams/ops/members/kai')).status).toBe(200);
  }, 120_000);
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
  });

  /** A fresh token of `user`, and its id. */
  async function token(on: Stack, user: string): Promise<{ secret: string; id: string }> {
    const r = await on.as(user, `${user}-password`).post('/api/v1/tokens', { name: `t${Date.now()}` });
    expect(r.status).toBe(201);
    return { secret: r.body.secret as string, id: r.body.token.id as string };
  }

  /** Several requests on A: whatever A caches, it has cached. */
  async function warm(client: Api, path = '/api/v1/me') {
    for (let i = 0; i < 3; i++) expect((await client.get(path)).status).toBe(200);
  }

  it('refuses a token revoked through another replica at the next request', async () => {
    const t = await token(a, 'kai');
    const onA = bearerOn(() => a, t.secret);
    await warm(onA);
    await warm(onA, '/api/v1/tunnels');
    const revoke = await bearerOn(() => b, t.secret).request('DELETE', `/api/v1/tokens/${t.id}`);
    expect(revoke.status).toBe(204);
    for (const path of ['/api/v1/me', '/api/v1/tunnels']) {
      const r = await onA.get(path);
      expect([path, r.status, r.body.error?.code]).toEqual([path, 401, 'auth.invalid']);
    }
  });

  it('refuses a token revoked through the same replica at the next request', async () => {
    const t = await token(a, 'kai');
    const onA = bearerOn(() => a, t.secret);
    await warm(onA);
    expect((await onA.request('DELETE', `/api/v1/tokens/${t.id}`)).status).toBe(204);
    expect((await onA.get('/api/v1/me')).status).toBe(401);
  });

  it('refuses a token an operator deleted with SQL, and one whose expiry an operator moved into the past', async () => {
    const gone = await token(a, 'lea');
    const expired = await token(a, 'lea');
    const goneOnA = bearerOn(() => a, gone.secret);
    const expiredOnA = bearerOn(() => a, expired.secret);
    await warm(goneOnA);
    await warm(expiredOnA);
    const db = b.runtime.store.db;
    await db.deleteFrom('api_tokens').where('id', '=', gone.id).execute();
    await db
      .updateTable('api_tokens')
      .set({ expires_at: '2000-01-01T00:00:00.000Z' })
      .where('id', '=', expired.id)
      .execute();
    expect((await goneOnA.get('/api/v1/me')).status).toBe(401);
    expect((await expiredOnA.get('/api/v1/me')).status).toBe(401);
  });

  it('narrows a token whose scopes an operator changed, at the next request', async () => {
    const t = await token(a, 'lea');
    const onA = bearerOn(() => a, t.secret);
    await warm(onA);
    expect((await onA.post('/api/v1/tunnels?wait=0', {})).status).toBe(202);
    await b.runtime.store.db
      .updateTable('api_tokens')
      .set({ scopes: 'read' })
      .where('id', '=', t.id)
      .execute();
    const refused = await onA.post('/api/v1/tunnels?wait=0', {});
    expect(refused.status).toBe(403);
  });

  it('takes a team away from a member removed through another replica, and gives it back when re-added', async () => {
    const made = await b.as('kai', 'kai-password').post('/api/v1/tunnels?wait=0', { team: 'ops' });
    expect(made.status).toBe(202);
    const name = made.body.name as string;
    const t = await token(a, 'kai');
    for (const client of [bearerOn(() => a, t.secret), a.as('kai', 'kai-password')]) {
      await warm(client, '/api/v1/tunnels?team=ops');
      await warm(client, `/api/v1/tunnels/${name}`);
      expect((await client.get('/api/v1/teams')).body.items).toEqual([{ name: 'ops' }]);
    }
    const admin = b.as('admin');
    expect((await admin.request('DELETE', '/api/v1/admin/teams/ops/members/kai')).status).toBe(200);
    for (const client of [bearerOn(() => a, t.secret), a.as('kai', 'kai-password')]) {
      expect((await client.get('/api/v1/tunnels?team=ops')).body.error?.code).toBe('team.not_found');
      expect((await client.get(`/api/v1/tunnels/${name}`)).status).toBe(404);
      expect((await client.get('/api/v1/tunnels')).body.items).toEqual([]);
      expect((await client.get('/api/v1/teams')).body.items).toEqual([]);
    }
    expect((await admin.request('PUT', '/api/v1/admin/teams/ops/members/kai')).status).toBe(200);
    for (const client of [bearerOn(() => a, t.secret), a.as('kai', 'kai-password')]) {
      expect((await client.get(`/api/v1/tunnels/${name}`)).status).toBe(200);
      expect((await client.get('/api/v1/teams')).body.items).toEqual([{ name: 'ops' }]);
    }
  });

  it('follows a team renamed by an operator, and a membership an operator deleted', async () => {
    const t = await token(a, 'kai');
    const onA = bearerOn(() => a, t.secret);
    await warm(onA, '/api/v1/teams');
    const db = b.runtime.store.db;
    await db.updateTable('users').set({ name: 'team:sre' }).where('name', '=', 'team:ops').execute();
    expect((await onA.get('/api/v1/teams')).body.items).toEqual([{ name: 'sre' }]);
    const team = await db
      .selectFrom('users')
      .select('id')
      .where('name', '=', 'team:sre')
      .executeTakeFirstOrThrow();
    await db.deleteFrom('team_members').where('team_id', '=', team.id).execute();
    expect((await onA.get('/api/v1/teams')).body.items).toEqual([]);
    expect((await onA.get('/api/v1/tunnels?team=sre')).body.error?.code).toBe('team.not_found');
  });

  it('refuses the token of a person disabled or removed through another replica', async () => {
    const admin = b.as('admin');
    expect((await admin.post('/api/v1/admin/users', { name: 'max', password: 'max-password' })).status).toBe(
      201,
    );
    const t = await token(a, 'max');
    const onA = bearerOn(() => a, t.secret);
    await warm(onA);
    expect((await admin.request('PATCH', '/api/v1/admin/users/max', { disabled: true })).status).toBe(200);
    expect((await onA.get('/api/v1/me')).body.error?.code).toBe('auth.disabled');
    expect((await admin.request('PATCH', '/api/v1/admin/users/max', { disabled: false })).status).toBe(200);
    await warm(onA);
    expect((await admin.request('DELETE', '/api/v1/admin/users/max')).status).toBe(204);
    expect((await onA.get('/api/v1/me')).status).toBe(401);
  });
});
