/**
 * One store suite, run on SQLite and (when TUNNELPLANE_TEST_POSTGRES_URL is set, as in CI) on
 * PostgreSQL: quotas, uniqueness, cursors, generations, leases and the claim protocol.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOnlyConnection } from './database.js';
import { connectStore, type Store, type TunnelOutcome } from './index.js';

const pgUrl = process.env.TUNNELPLANE_TEST_POSTGRES_URL;
const backends: Array<[string, () => string]> = [
  ['sqlite', () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'tp-store-')), 'db.sqlite')}`],
];
if (pgUrl) backends.push(['postgres', () => pgUrl]);

if (process.env.CI && !pgUrl) {
  it('runs the store suite on PostgreSQL in CI', () => {
    expect.fail('TUNNELPLANE_TEST_POSTGRES_URL is not set: .ci/run must start PostgreSQL');
  });
}

/** `step(write)` runs a write and expects `version()` to show a value never seen before. */
async function versionSteps(version: () => Promise<number>) {
  const seen = [await version()];
  const step = async (write: () => Promise<unknown>) => {
    await write();
    const v = await version();
    expect(seen).not.toContain(v);
    seen.push(v);
  };
  return { seen, step };
}

describe.each(backends)('store on %s', (_name, url) => {
  let store: Store;
  let close: () => Promise<void>;
  const quota = { tunnels: 2, routes: 3, protectedRoutes: 3, tcpRoutes: 3 };
  const cap = { accessApplications: 1000, serviceTokens: 1000 };
  const uniq = () => randomUUID().slice(0, 8);

  beforeAll(async () => {
    const opened = await connectStore(url());
    store = opened.store;
    close = opened.close;
    if (store.dialect === 'postgres') {
      // Each run starts clean on the shared CI database.
      await sql`truncate events, routes, tunnels, api_tokens, users, leases, settings, tombstones, rate_grants, sign_in_flows restart identity cascade`.execute(
        store.db,
      );
    }
  });
  afterAll(async () => close?.());

  const newUser = (name = `u${uniq()}`) => store.users.create({ name, passwordHash: 'x', role: 'user' });
  const outcome = (
    t: { id: string; name: string; generation: number },
    over: Partial<TunnelOutcome> = {},
  ): TunnelOutcome => ({
    tunnel: t,
    kind: 'converged',
    readyRouteIds: [],
    goneRoutes: [],
    routeErrors: [],
    ...over,
  });
  const newTunnel = (ownerId: string, name = `t${uniq()}`) =>
    store.tunnels.create({ ownerId, name, configMode: 'local', secretSealed: 'sealed' }, quota, 'test');

  it('takes a sign-in flow once, never an expired one, and sweeps what expired', async () => {
    const id = `f${uniq()}`;
    const later = new Date(Date.now() + 60_000).toISOString();
    await store.sessions.saveFlow({ idHash: id, kind: 'code', dataSealed: 'sealed', expiresAt: later });
    expect(await store.sessions.peekFlow(id, 'device')).toBeNull();
    expect(await store.sessions.peekFlow(id, 'code')).toBe('sealed');
    const [a, b] = await Promise.all([
      store.sessions.takeFlow(id, 'code'),
      store.sessions.takeFlow(id, 'code'),
    ]);
    expect([a, b].filter(Boolean)).toEqual(['sealed']);
    const old = `f${uniq()}`;
    await store.sessions.saveFlow({
      idHash: old,
      kind: 'device',
      dataSealed: 's',
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    expect(await store.sessions.peekFlow(old, 'device')).toBeNull();
    const u = await newUser();
    await store.sessions.create({
      id_hash: `s${uniq()}`,
      user_id: u.id,
      csrf: 'c',
      created_at: new Date().toISOString(),
      expires_at: new Date(Date.now() - 1).toISOString(),
    });
    expect(await store.sessions.sweep()).toBeGreaterThanOrEqual(2);
  });

  it('keeps teams as owners: members, sso memberships following the claim, manual ones kept', async () => {
    const team = await store.teams.create(`t${uniq()}`);
    const other = await store.teams.ensure(`t${uniq()}`);
    expect(await store.teams.ensure(team.name.slice('team:'.length))).toMatchObject({ id: team.id });
    const u = await newUser();
    expect(await store.teams.addMember(team.id, u.id, 'manual')).toBe(true);
    expect(await store.teams.syncSso(u.id, [other.id])).toEqual({ joined: [other.id], left: [] });
    // The claim no longer names `other`: the sso membership goes, the manual one stays.
    expect(await store.teams.syncSso(u.id, [])).toEqual({ joined: [], left: [other.id] });
    expect((await store.teams.teamsOf(u.id)).map((t) => t.id)).toEqual([team.id]);
    // A team owns tunnels as a person does, and counts them against its own quota.
    const t = await newTunnel(team.id);
    expect((await store.users.usage(team.id)).tunnels).toBe(1);
    expect((await store.tunnels.listForOwner([u.id, team.id], 10)).items.map((x) => x.id)).toEqual([t.id]);
    expect((await store.users.list()).some((x) => x.id === team.id)).toBe(false);
  });

  it('migrates idempotently', async () => {
    const again = await connectStore(url());
    expect(await again.migrate()).toEqual([]);
    await again.close();
  });

  it('enforces unique user and tunnel names with stable codes', async () => {
    const u = await newUser('same-name');
    await expect(newUser('same-name')).rejects.toMatchObject({ code: 'user.name_taken' });
    await newTunnel(u.id, 'dup');
    await expect(newTunnel(u.id, 'dup')).rejects.toMatchObject({ code: 'tunnel.name_taken', status: 409 });
  });

  it('enforces tunnel and route quotas, counting only live objects', async () => {
    const u = await newUser();
    const a = await newTunnel(u.id);
    await newTunnel(u.id);
    await expect(newTunnel(u.id)).rejects.toMatchObject({
      code: 'quota.exceeded',
      details: { resource: 'tunnels', limit: 2, used: 2 },
    });
    await store.tunnels.markDeleting(a, 'test');
    await newTunnel(u.id);

    const u2 = await newUser();
    const t = await newTunnel(u2.id);
    for (let i = 0; i < 3; i++)
      await store.tunnels.addRoute(
        t,
        { name: `r${i}`, hostname: `r${i}-${t.name}.z`, zone: 'z', service: 's', protocol: 'http' },
        quota,
        cap,
        'test',
      );
    await expect(
      store.tunnels.addRoute(
        t,
        { name: 'r9', hostname: `r9-${t.name}.z`, zone: 'z', service: 's', protocol: 'http' },
        quota,
        cap,
        'test',
      ),
    ).rejects.toMatchObject({
      code: 'quota.exceeded',
    });
    await expect(
      store.tunnels.addRoute(
        t,
        { name: 'r0', hostname: `x-${t.name}.z`, zone: 'z', service: 's', protocol: 'http' },
        { tunnels: 9, routes: 9, protectedRoutes: 9, tcpRoutes: 9 },
        cap,
        'test',
      ),
    ).rejects.toMatchObject({
      code: 'route.name_taken',
    });
    expect(await store.users.usage(u2.id)).toEqual({
      tunnels: 1,
      routes: 3,
      protectedRoutes: 0,
      tcpRoutes: 0,
    });
  });

  it('bumps the generation on every desired change and refuses routes on a deleting tunnel', async () => {
    const u = await newUser();
    const t = await newTunnel(u.id);
    expect(t.generation).toBe(1);
    const r = await store.tunnels.addRoute(
      t,
      { name: 'a', hostname: `a-${t.name}.z`, zone: 'z', service: 's', protocol: 'http' },
      quota,
      cap,
      'test',
    );
    expect((await store.tunnels.byId(t.id))!.generation).toBe(2);
    await store.tunnels.markRoutesDeleting(t, [r], 'test');
    expect((await store.tunnels.byId(t.id))!.generation).toBe(3);
    await store.tunnels.markDeleting(t, 'test');
    await expect(
      store.tunnels.addRoute(
        t,
        { name: 'b', hostname: `b-${t.name}.z`, zone: 'z', service: 's', protocol: 'http' },
        quota,
        cap,
        'test',
      ),
    ).rejects.toMatchObject({
      code: 'tunnel.deleting',
    });
  });

  it("changes a tunnel's routes_version on every write to one of its routes, whoever makes it", async () => {
    const u = await newUser();
    const t = await newTunnel(u.id);
    const other = await newTunnel((await newUser()).id);
    const version = async (id = t.id) => (await store.tunnels.byId(id))!.routes_version;
    const { seen, step } = await versionSteps(version);
    const big = { tunnels: 9, routes: 9, protectedRoutes: 9, tcpRoutes: 9 };
    let r = await store.tunnels.addRoute(
      t,
      { name: 'a', hostname: `a-${t.name}.z`, zone: 'z', service: 's', protocol: 'http' },
      big,
      cap,
      'test',
    );
    seen.push(await version());
    expect(seen[1]).not.toBe(seen[0]);
    const patch = (objects: Parameters<typeof store.work.patchRoutes>[0][number]['objects']) =>
      store.work.patchRoutes([{ tunnelId: t.id, routeId: r.id, objects }]);
    await step(() => patch({ dnsRecordId: 'rec', dnsUncertain: false }));
    await step(() => patch({ k8sReady: true }));
    await step(() =>
      store.work.record(
        outcome(t, {
          kind: 'failed',
          error: { message: 'boom', code: null, retryInMs: 1, terminal: false },
          routeErrors: [{ routeId: r.id, message: 'boom', code: null, phase: 'error' }],
        }),
      ),
    );
    await step(() => patch({ dnsUncertain: true }));
    await step(() => store.tunnels.markRoutesDeleting(t, [r], 'test'));
    await step(() => store.work.record(outcome(t, { goneRoutes: [r] })));
    r = await store.tunnels.addRoute(
      t,
      { name: 'b', hostname: `b-${t.name}.z`, zone: 'z', service: 's', protocol: 'http' },
      big,
      cap,
      'test',
    );
    seen.push(await version());
    // Raw SQL too: the trigger, not the code path, keeps it.
    await step(() => sql`update routes set service = ${'s2'} where id = ${r.id}`.execute(store.db));
    // Another tunnel's routes never touch it.
    const before = await version();
    await store.tunnels.addRoute(
      other,
      { name: 'c', hostname: `c-${other.name}.z`, zone: 'z', service: 's', protocol: 'http' },
      big,
      cap,
      'test',
    );
    expect(await version()).toBe(before);
    expect(await version(other.id)).toBeGreaterThan(0);
  });

  it("changes a user's tunnels_version with every shown change of their tunnels or routes, and only then", async () => {
    const u = await newUser();
    const someoneElse = await newUser();
    const version = async (id = u.id) => (await store.users.byId(id))!.tunnels_version;
    const { step } = await versionSteps(version);
    let t!: Awaited<ReturnType<typeof newTunnel>>;
    await step(async () => (t = await newTunnel(u.id)));
    const big = { tunnels: 9, routes: 9, protectedRoutes: 9, tcpRoutes: 9 };
    let r!: Awaited<ReturnType<typeof store.tunnels.addRoute>>;
    await step(
      async () =>
        (r = await store.tunnels.addRoute(
          t,
          { name: 'a', hostname: `a-${t.name}.z`, zone: 'z', service: 's', protocol: 'http' },
          big,
          cap,
          'test',
        )),
    );
    await step(() =>
      store.work.patchRoutes([{ tunnelId: t.id, routeId: r.id, objects: { dnsRecordId: 'rec' } }]),
    );
    await step(() => store.work.setCloudflareId(t.id, 'cf-1'));
    await step(() =>
      sql`update tunnels set phase = ${'error'}, last_error = ${'x'} where id = ${t.id}`.execute(store.db),
    );
    // Bookkeeping the API does not show leaves it alone: claims, leases, retries.
    const quiet = await version();
    await store.work.claim('replica-a', 10, 10_000);
    await store.work.extend([t.id], 'replica-a', 10_000);
    await store.work.release([t.id], 'replica-a');
    expect(await version()).toBe(quiet);
    // Another user's tunnels never touch it.
    const other = await newTunnel(someoneElse.id);
    await store.tunnels.addRoute(
      other,
      { name: 'c', hostname: `c-${other.name}.z`, zone: 'z', service: 's', protocol: 'http' },
      big,
      cap,
      'test',
    );
    expect(await version()).toBe(quiet);
    expect(await version(someoneElse.id)).toBeGreaterThan(0);
    await step(() => store.tunnels.markDeleting(t, 'test'));
    await step(() => sql`delete from tunnels where id = ${t.id}`.execute(store.db));
  });

  it('pages tunnels with an opaque cursor and rejects a forged one', async () => {
    const u = await newUser();
    const big = { tunnels: 10, routes: 10, protectedRoutes: 10, tcpRoutes: 10 };
    const names: string[] = [];
    for (let i = 0; i < 5; i++) {
      const t = await store.tunnels.create(
        { ownerId: u.id, name: `p${uniq()}`, configMode: 'local', secretSealed: 's' },
        big,
        'test',
      );
      names.push(t.name);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.tunnels.listForOwner(u.id, 2, cursor);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((t) => t.name));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.sort()).toEqual(names.sort());
    await expect(store.tunnels.listForOwner(u.id, 2, 'forged!')).rejects.toMatchObject({
      code: 'request.invalid',
    });
    for (const bad of [['a'], [1e999], [1.5], [-3]]) {
      const cursor = Buffer.from(JSON.stringify(bad)).toString('base64url');
      await expect(store.events.list([u.id], 2, cursor)).rejects.toMatchObject({ code: 'request.invalid' });
    }
  });

  it('claims dirty tunnels once, with a lease, and releases them', async () => {
    const u = await newUser();
    const t = await newTunnel(u.id);
    const first = await store.work.claim('replica-a', 1000, 60_000);
    expect(first.map((x) => x.id)).toContain(t.id);
    const second = await store.work.claim('replica-b', 1000, 60_000);
    expect(second.map((x) => x.id)).not.toContain(t.id);
    await store.work.record(outcome(first.find((x) => x.id === t.id)!));
    await store.work.release([t.id], 'replica-a');
    const third = await store.work.claim('replica-b', 1000, 60_000);
    expect(third.map((x) => x.id)).not.toContain(t.id);
    const row = (await store.tunnels.byId(t.id))!;
    expect(row.observed_generation).toBe(row.generation);
    expect(row.phase).toBe('ready');
    await store.work.release(
      first.map((x) => x.id),
      'replica-a',
    );
    await store.work.release(
      third.map((x) => x.id),
      'replica-b',
    );
  });

  it('takes over an expired lease, and backs off failed tunnels', async () => {
    const u = await newUser();
    const t = await newTunnel(u.id);
    const a = await store.work.claim('replica-a', 1000, 1);
    expect(a.map((x) => x.id)).toContain(t.id);
    await new Promise((r) => setTimeout(r, 10));
    const b = await store.work.claim('replica-b', 1000, 60_000);
    const mine = b.find((x) => x.id === t.id)!;
    expect(mine).toBeTruthy();
    await store.work.record(
      outcome(mine, {
        kind: 'failed',
        error: { message: 'boom', code: 'x.y', retryInMs: 60_000, terminal: false },
      }),
    );
    await store.work.release([t.id], 'replica-b');
    const c = await store.work.claim('replica-c', 1000, 60_000);
    expect(c.map((x) => x.id)).not.toContain(t.id);
    expect((await store.tunnels.byId(t.id))!).toMatchObject({
      last_error: 'boom',
      last_error_code: 'x.y',
      attempts: 1,
    });
    await store.work.release(
      b.map((x) => x.id),
      'replica-b',
    );
    await store.work.release(
      c.map((x) => x.id),
      'replica-c',
    );
  });

  it('grants a named lease to one owner at a time, renews it for its owner only, and hands it over on release', async () => {
    expect(await store.leases.acquire('resync-test', 'a', 60_000)).toBe(true);
    expect(await store.leases.acquire('resync-test', 'b', 60_000)).toBe(false);
    expect(await store.leases.acquire('resync-test', 'a', 60_000)).toBe(true);
    expect(await store.leases.renew('resync-test', 'a', 60_000)).toBe(true);
    expect(await store.leases.renew('resync-test', 'b', 60_000)).toBe(false);
    await store.leases.release('resync-test', 'b');
    expect(await store.leases.acquire('resync-test', 'b', 60_000)).toBe(false);
    await store.leases.release('resync-test', 'a');
    expect(await store.leases.acquire('resync-test', 'b', 60_000)).toBe(true);
    // A clean stop releases the named leases and the tunnel claims of its owner.
    const u = await newUser();
    const t = await newTunnel(u.id);
    expect((await store.work.claim('b', 1000, 60_000)).map((x) => x.id)).toContain(t.id);
    await store.leases.releaseAll('b');
    expect(await store.leases.acquire('resync-test', 'c', 60_000)).toBe(true);
    expect((await store.work.claim('c', 1000, 60_000)).map((x) => x.id)).toContain(t.id);
    await store.leases.releaseAll('c');
  });

  it('claims fairly across owners: the first change of every owner before the second of any', async () => {
    const heavy = await newUser();
    const light = await newUser();
    const big = { tunnels: 20, routes: 20, protectedRoutes: 20, tcpRoutes: 20 };
    for (let i = 0; i < 6; i++)
      await store.tunnels.create(
        { ownerId: heavy.id, name: `h${uniq()}`, configMode: 'local', secretSealed: 's' },
        big,
        'test',
      );
    const mine = await store.tunnels.create(
      { ownerId: light.id, name: `l${uniq()}`, configMode: 'local', secretSealed: 's' },
      big,
      'test',
    );
    // Everything else dirty in this database is claimed away first.
    const others = await store.work.claim('elsewhere', 10_000, 60_000);
    await store.work.release(
      others.filter((x) => x.ownerId === heavy.id || x.ownerId === light.id).map((x) => x.id),
      'elsewhere',
    );
    const claimed = await store.work.claim('fair', 2, 60_000);
    expect(claimed.map((x) => x.ownerId).sort()).toEqual([heavy.id, light.id].sort());
    expect(claimed.map((x) => x.id)).toContain(mine.id);
    await store.leases.releaseAll('fair');
    // While another owner waits, one owner's share of a pass is capped; alone, it is not.
    const capped = await store.work.claim('fair', 100, 60_000, 2);
    expect(capped.filter((x) => x.ownerId === heavy.id)).toHaveLength(2);
    expect(capped.filter((x) => x.ownerId === light.id)).toHaveLength(1);
    await store.leases.releaseAll('fair');
    await store.work.record({
      tunnel: mine,
      kind: 'converged',
      readyRouteIds: [],
      goneRoutes: [],
      routeErrors: [],
    });
    expect(
      (await store.work.claim('fair', 100, 60_000, 2)).filter((x) => x.ownerId === heavy.id),
    ).toHaveLength(6);
    await store.leases.releaseAll('fair');
    await store.leases.releaseAll('elsewhere');
  });

  it('leaves tombstones of the rows it deletes, and forgets them after their time', async () => {
    const u = await newUser();
    const t = await newTunnel(u.id);
    const big = { tunnels: 9, routes: 9, protectedRoutes: 9, tcpRoutes: 9 };
    const a = await store.tunnels.addRoute(
      t,
      { name: 'a', hostname: `a-${t.name}.z`, zone: 'z', service: 's', protocol: 'http' },
      big,
      cap,
      'test',
    );
    const b = await store.tunnels.addRoute(
      t,
      { name: 'b', hostname: `b-${t.name}.z`, zone: 'z', service: 's', protocol: 'http' },
      big,
      cap,
      'test',
    );
    await store.work.record(outcome(t, { goneRoutes: [a] }));
    expect([...(await store.resync.tombstoned('route', [`${t.name}/a`, `${t.name}/b`])).keys()]).toEqual([
      `${t.name}/a`,
    ]);
    await store.work.deleteTunnel(t, [b.name]);
    expect([...(await store.resync.tombstoned('tunnel', [t.name])).keys()]).toEqual([t.name]);
    expect((await store.resync.tombstoned('route', [`${t.name}/b`])).size).toBe(1);
    expect(
      await store.resync.pruneTombstones(new Date(Date.now() + 1000).toISOString()),
    ).toBeGreaterThanOrEqual(3);
    expect((await store.resync.tombstoned('tunnel', [t.name])).size).toBe(0);
  });

  it('shares one call budget between replicas: reservations racing never exceed it', async () => {
    const owners = ['r1', 'r2', 'r3'];
    const asks = owners.flatMap((o) =>
      Array.from({ length: 10 }, () => store.budget.reserve(o, 7, 50, 60_000)),
    );
    const answers = await Promise.all(asks);
    expect(answers.reduce((n, a) => n + a.granted, 0)).toBe(50);
    const refused = answers.filter((a) => a.granted === 0);
    expect(refused.length).toBeGreaterThan(0);
    for (const a of refused) expect(a.retryInMs).toBeGreaterThan(0);
    // Another window later the budget is whole again.
    const later = (await import('./budget-repository.js')).createBudgetRepository(
      store.db,
      store.dialect,
      () => Date.now() + 61_000,
    );
    expect((await later.reserve('r1', 50, 50, 60_000)).granted).toBe(50);
  });

  it('creates a user and a setting once, whoever races for it', async () => {
    const name = `race${uniq()}`;
    const made = await Promise.all(
      Array.from({ length: 5 }, () => store.users.ensure({ name, passwordHash: 'x', role: 'user' })),
    );
    expect(made.filter((m) => m.created)).toHaveLength(1);
    expect(new Set(made.map((m) => m.user.id)).size).toBe(1);
    const key = `k${uniq()}`;
    const values = await Promise.all(['a', 'b', 'c'].map((v) => store.settings.setOnce(key, v)));
    expect(new Set(values).size).toBe(1);
  });

  it('keeps an audit trail per owner, newest first, paged', async () => {
    const u = await newUser();
    await newTunnel(u.id);
    await store.events.append({ ownerId: u.id, actor: 'x', action: 'a.b', target: 't', outcome: 'ok' });
    const page = await store.events.list([u.id], 1);
    expect(page.items[0]!.action).toBe('a.b');
    const next = await store.events.list([u.id], 10, page.nextCursor!);
    expect(next.items.map((e) => e.action)).toContain('tunnel.create');
  });
});

describe('the authenticating read on a SQLite file (its read-only connection)', () => {
  let store: Store;
  let close: () => Promise<void>;
  const hotPath = join(mkdtempSync(join(tmpdir(), 'tp-hot-')), 'db.sqlite');
  beforeAll(async () => {
    ({ store, close } = await connectStore(`sqlite:${hotPath}`));
  });
  afterAll(async () => close?.());

  it('gives the row the query builder gives, with both versions', async () => {
    const u = await store.users.create({ name: 'hot1', passwordHash: 'x', role: 'user' });
    const viaBuilder = await store.users.byName('hot1');
    expect(await store.users.byId(u.id)).toEqual(viaBuilder);
    expect(viaBuilder).toMatchObject({ tunnels_version: 0, auth_version: 0 });
    expect(await store.users.byId('no-such-id')).toBeUndefined();
  });

  it('never sees a transaction still open on the write connection, and sees its commit at once', async () => {
    const u = await store.users.create({ name: 'hot2', passwordHash: 'x', role: 'user' });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let written!: () => void;
    const inside = new Promise<void>((r) => (written = r));
    const trx = store.db.transaction().execute(async (t) => {
      await t.updateTable('users').set({ disabled: 1 }).where('id', '=', u.id).execute();
      written();
      await held;
    });
    await inside;
    expect((await store.users.byId(u.id))?.disabled).toBe(0);
    release();
    await trx;
    expect((await store.users.byId(u.id))?.disabled).toBe(1);
  });

  it('hands out the same row again until a connection commits, and never a row older than the last commit', async () => {
    const u = await store.users.create({ name: 'hot3', passwordHash: 'x', role: 'user' });
    const first = (await store.users.current(u.id))!;
    expect(first).toEqual(await store.users.byId(u.id));
    expect(Object.isFrozen(first)).toBe(true);
    // Kept: the very object, not read again.
    expect(await store.users.current(u.id)).toBe(first);

    // A commit of this store's write connection, to another user's row: every kept row goes.
    const other = await store.users.create({ name: 'hot4', passwordHash: 'x', role: 'user' });
    const second = (await store.users.current(u.id))!;
    expect(second).not.toBe(first);
    expect(second).toEqual(first);

    // What the versions follow, through triggers: a token of the user's.
    await store.db
      .insertInto('api_tokens')
      .values({
        id: randomUUID(),
        user_id: u.id,
        name: 't',
        token_hash: randomUUID(),
        created_at: new Date().toISOString(),
        last_used_at: null,
        expires_at: null,
      })
      .execute();
    await store.db.deleteFrom('api_tokens').where('user_id', '=', u.id).execute();
    expect((await store.users.current(u.id))!.auth_version).toBe(second.auth_version + 1);

    // Another process's connection (another replica, an operator's SQL): counted at the next call too.
    const foreign = new SqliteDatabase(hotPath);
    try {
      const kept = await store.users.current(u.id);
      expect(await store.users.current(u.id)).toBe(kept);
      foreign.prepare('UPDATE users SET disabled = 1 WHERE id = ?').run(u.id);
      expect((await store.users.current(u.id))?.disabled).toBe(1);
      foreign.prepare('DELETE FROM users WHERE id = ?').run(other.id);
      expect(await store.users.current(other.id)).toBeUndefined();
    } finally {
      foreign.close();
    }
    // Nobody unknown is kept: a user created after a miss is found.
    expect(await store.users.current('hot5-id')).toBeUndefined();
  });

  it("counts another process's commit at the next call, also after a checkpoint restarted the WAL", async () => {
    const u = await store.users.create({ name: 'hot6', passwordHash: 'x', role: 'user' });
    // Another process (another replica, `tunnelplane user`), its own locks and its own map of the WAL index.
    const inOtherProcess = (statements: string) =>
      execFileSync(process.execPath, [
        '-e',
        `const db = new (require('better-sqlite3'))(${JSON.stringify(hotPath)}); db.exec(${JSON.stringify(statements)}); db.close();`,
      ]);
    const kept = (await store.users.current(u.id))!;
    expect(await store.users.current(u.id)).toBe(kept);
    inOtherProcess(`UPDATE users SET disabled = 1 WHERE id = '${u.id}'`);
    expect((await store.users.current(u.id))?.disabled).toBe(1);
    // The WAL emptied, then the same update the other way: the same frames count, new salts.
    inOtherProcess('PRAGMA wal_checkpoint(TRUNCATE)');
    expect((await store.users.current(u.id))?.disabled).toBe(1);
    inOtherProcess(`UPDATE users SET disabled = 0 WHERE id = '${u.id}'`);
    expect((await store.users.current(u.id))?.disabled).toBe(0);
    inOtherProcess('PRAGMA wal_checkpoint(TRUNCATE)');
    inOtherProcess(`UPDATE users SET disabled = 1 WHERE id = '${u.id}'`);
    expect((await store.users.current(u.id))?.disabled).toBe(1);
  });

  it('asks SQLite (data_version) whether anyone committed when the file has no WAL index', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tp-journal-')), 'db.sqlite');
    const writer = new SqliteDatabase(path);
    const hot = readOnlyConnection(path);
    try {
      writer.exec('CREATE TABLE t (x)');
      expect(writer.pragma('journal_mode', { simple: true })).toBe('delete');
      const first = hot.reads.dataVersion();
      expect(hot.reads.dataVersion()).toBe(first);
      writer.exec('INSERT INTO t VALUES (1)');
      const second = hot.reads.dataVersion();
      expect(second).not.toBe(first);
      expect(hot.reads.dataVersion()).toBe(second);
      expect(existsSync(`${path}-shm`)).toBe(false);
    } finally {
      hot.close();
      writer.close();
    }
  });

  it('reads the WAL index SQLite uses when the file is reached through a symbolic link', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-link-'));
    mkdirSync(join(dir, 'real'));
    const real = join(dir, 'real', 'db.sqlite');
    const link = join(dir, 'db.sqlite');
    new SqliteDatabase(real).close();
    symlinkSync(real, link);
    // A stale WAL index beside the link (a copied directory, an old crash): not the one in use.
    writeFileSync(`${link}-shm`, Buffer.alloc(32768));
    const linked = await connectStore(`sqlite:${link}`);
    try {
      const u = await linked.store.users.create({ name: 'linked', passwordHash: 'x', role: 'user' });
      expect((await linked.store.users.current(u.id))?.disabled).toBe(0);
      const foreign = new SqliteDatabase(real);
      foreign.prepare('UPDATE users SET disabled = 1 WHERE id = ?').run(u.id);
      foreign.close();
      expect((await linked.store.users.current(u.id))?.disabled).toBe(1);
    } finally {
      await linked.close();
    }
  });

  it("closing one store leaves the locks of another store's connections to the same file", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tp-two-')), 'db.sqlite');
    const a = await connectStore(`sqlite:${path}`);
    const b = await connectStore(`sqlite:${path}`);
    const u = await a.store.users.create({ name: 'two', passwordHash: 'x', role: 'user' });
    await a.store.users.current(u.id);
    await b.store.users.current(u.id);
    // Another process's write, which must wait for any write transaction of ours.
    const otherWrites = () => {
      try {
        execFileSync(
          process.execPath,
          [
            '-e',
            `const db = new (require('better-sqlite3'))(${JSON.stringify(path)}); db.pragma('busy_timeout = 200'); db.exec("UPDATE users SET role = 'admin'"); db.close();`,
          ],
          { stdio: 'pipe' },
        );
        return 'written';
      } catch (err) {
        return /database is locked/.test(String((err as { stderr?: Buffer }).stderr))
          ? 'locked'
          : String(err);
      }
    };
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let inside!: () => void;
    const writing = new Promise<void>((r) => (inside = r));
    const trx = a.store.db.transaction().execute(async (t) => {
      await t.updateTable('users').set({ disabled: 1 }).where('id', '=', u.id).execute();
      inside();
      await held;
    });
    try {
      await writing;
      expect(otherWrites()).toBe('locked');
      await b.close();
      // Still a's transaction's: b's connections, and what b read the WAL index with, are gone.
      expect(otherWrites()).toBe('locked');
    } finally {
      release();
      await trx;
    }
    expect(otherWrites()).toBe('written');
    expect(await a.store.users.current(u.id)).toMatchObject({ disabled: 1, role: 'admin' });
    await a.close();
  });
});
