/**
 * An installation touches only what it can prove it made. Two installations with default
 * settings on one zone and one token never delete each other's objects (each database has an
 * identity of its own, carried in every marker); a database restored from an older copy adopts
 * what its rows name and reports, never deletes, what was made after the copy; and a resync
 * that would delete more than a few of ours deletes nothing until `tunnelplane gc --confirm`.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import { startStack, type Stack } from './support/stack.js';
import { cfView } from './support/cloudflare-view.js';
import { cfHand } from './support/cloudflare-hand.js';

const run = promisify(execFile);
let cf: StartedCloudflareEmulator;
beforeAll(async () => {
  cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com', retryAfterSeconds: 1 });
});
afterAll(async () => cf?.close());

/** Everything an installation made, as Cloudflare holds it (by its marker). */
function madeBy(installation: string) {
  const s = cf.control.state() as any;
  const view = cfView(cf);
  return {
    tunnels: view.tunnels
      .filter((t) => t.name.startsWith(`tunnelplane-${installation}-`))
      .map((t) => t.id)
      .sort(),
    records: view.records
      .filter((r) => r.comment?.startsWith(`managed-by:tunnelplane/${installation} `))
      .map((r) => r.id)
      .sort(),
    apps: s.accessApps
      .filter((a: any) => a.fields.name.startsWith(`tunnelplane-${installation}-`))
      .map((a: any) => a.id)
      .sort(),
    tokens: s.serviceTokens
      .filter((t: any) => t.name.startsWith(`tunnelplane-${installation}-`))
      .map((t: any) => t.id)
      .sort(),
  };
}

/** A few tunnels with HTTP, TCP and allow-listed routes, all live. */
async function populate(stack: Stack, user: string) {
  const u = stack.as(user);
  const made: Array<{ tunnel: string; hostnames: string[] }> = [];
  for (let i = 0; i < 2; i++) {
    const t = await u.post('/api/v1/tunnels?wait=10', {});
    expect(t.status).toBe(201);
    const hostnames = [];
    for (const body of [
      { service: 'http://localhost:8000' },
      { service: 'tcp://10.0.0.5:5432' },
      { service: 'http://localhost:9000', allowIps: ['203.0.113.0/24'] },
    ]) {
      const r = await u.post(`/api/v1/tunnels/${t.body.name}/routes?wait=10`, body);
      expect(r.status).toBe(201);
      hostnames.push(r.body.hostname);
    }
    made.push({ tunnel: t.body.name, hostnames });
  }
  return made;
}

describe('two installations with default settings on one zone and one token', () => {
  let a: Stack;
  let b: Stack;
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  it("each keeps an identity of its own and never deletes the other's objects, through resyncs and restarts", async () => {
    a = await startStack({ cf, instance: null, configMode: 'remote' });
    b = await startStack({ cf, instance: null, configMode: 'local' });
    expect(a.runtime.installationId).not.toBe(b.runtime.installationId);
    await populate(a, 'user1');
    await populate(b, 'user2');
    const before = { a: madeBy(a.runtime.installationId), b: madeBy(b.runtime.installationId) };
    expect(before.a.tunnels).toHaveLength(2);
    expect(before.a.records).toHaveLength(6);
    expect(before.a.apps).toHaveLength(4);
    expect(before.b.tokens).toHaveLength(2);
    for (let i = 0; i < 3; i++) {
      for (const s of [a, b]) {
        const result = await s.runtime.reconciler!.resync();
        expect(result).toMatchObject({
          orphanRecords: 0,
          orphanTunnels: 0,
          orphanAccess: 0,
          unvouched: 0,
          held: 0,
        });
        await s.runtime.reconciler!.drain();
      }
    }
    const ids = { a: a.runtime.installationId, b: b.runtime.installationId };
    await a.restart();
    await b.restart();
    // The identity lives in the database: a restart keeps it.
    expect(a.runtime.installationId).toBe(ids.a);
    expect(b.runtime.installationId).toBe(ids.b);
    for (const s of [a, b]) {
      await s.runtime.reconciler!.resync();
      await s.runtime.reconciler!.drain();
    }
    expect({ a: madeBy(ids.a), b: madeBy(ids.b) }).toEqual(before);
  });
});

describe('a configuration copied to a second installation (the same `instance`, a new database)', () => {
  const stacks: Stack[] = [];
  afterAll(async () => {
    for (const s of stacks) await s.stop();
  });

  it('refuses to start, and touches nothing, unless told the database replaces a lost one', async () => {
    const first = await startStack({ cf, instance: 'copied' });
    stacks.push(first);
    await populate(first, 'user1');
    const before = madeBy('copied');
    expect(before.tunnels).toHaveLength(2);

    const refused = await startStack({ cf, instance: 'copied' }).then(
      (s) => (stacks.push(s), null),
      (err: Error) => err,
    );
    expect(refused?.message).toMatch(/Cloudflare already holds objects with this installation's marker/);
    expect(refused?.message).toMatch(/--adopt-installation/);
    expect(madeBy('copied')).toEqual(before);

    // The first installation's database is lost; a new one takes its place, knowingly.
    await first.runtime.close();
    const replacement = await startStack({ cf, instance: 'copied', config: { adoptInstallation: true } });
    stacks.push(replacement);
    expect(replacement.runtime.installationId).toBe('copied');
    // What it finds but does not know is reported, never deleted.
    expect(await replacement.runtime.reconciler!.resync()).toMatchObject({
      orphanTunnels: 0,
      orphanRecords: 0,
    });
    expect(madeBy('copied')).toEqual(before);
  });

  it('a new database with a configured `instance` Cloudflare has never seen starts as before', async () => {
    const fresh = await startStack({ cf, instance: 'brandnew' });
    stacks.push(fresh);
    expect(fresh.runtime.installationId).toBe('brandnew');
  });
});

describe('a database restored from an older copy', () => {
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'tp-restore-'));
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('adopts what its rows name, and reports but never deletes what was made after the copy', async () => {
    stack = await startStack({ cf, instance: null, dir, configMode: 'remote' });
    const id = stack.runtime.installationId;
    await populate(stack, 'user1');
    // The backup: taken with the server stopped (the database file alone is the copy).
    await stack.runtime.close();
    copyFileSync(join(dir, 'db.sqlite'), join(dir, 'backup.sqlite'));
    await stack.restart();
    const later = await populate(stack, 'user1');
    const everything = madeBy(id);
    expect(everything.tunnels).toHaveLength(4);

    await stack.runtime.close();
    copyFileSync(join(dir, 'backup.sqlite'), join(dir, 'db.sqlite'));
    rmSync(join(dir, 'db.sqlite-wal'), { force: true });
    rmSync(join(dir, 'db.sqlite-shm'), { force: true });
    await stack.restart();
    expect(stack.runtime.installationId).toBe(id);
    const result = await stack.runtime.reconciler!.resync();
    // 2 tunnels, 6 records, 4 applications, 2 tokens made after the copy: reported, kept.
    expect(result).toMatchObject({
      orphanRecords: 0,
      orphanTunnels: 0,
      orphanAccess: 0,
      held: 0,
      unvouched: 14,
    });
    await stack.runtime.reconciler!.drain();
    await stack.runtime.reconciler!.resync();
    expect(madeBy(id)).toEqual(everything);
    const records = cfView(cf).records.map((r) => r.name);
    for (const t of later) for (const h of t.hostnames) expect(records).toContain(h);
    // What the copy knew is still served.
    const items = (await stack.as('user1').get('/api/v1/tunnels')).body.items;
    expect(items).toHaveLength(2);
    expect(items.every((t: any) => t.phase === 'ready')).toBe(true);
    // Clean up by hand what the restored database does not know, as the operator would.
    for (const t of later)
      for (const h of t.hostnames) {
        const rec = cfView(cf).records.find((r) => r.name === h)!;
        await cfHand(cf).deleteRecord(rec.id);
      }
    // Four starts and two populations of live tunnels: ~17 s alone, more beside the whole suite.
  }, 90_000);
});

describe('a restored copy that deleted a name used again after the copy', () => {
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'tp-reused-'));
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deletes nothing made under that name after the copy: its tombstone is older than they are', async () => {
    stack = await startStack({ cf, instance: null, dir });
    const id = stack.runtime.installationId;
    const u = () => stack.as('user1');
    expect((await u().post('/api/v1/tunnels?wait=10', { name: 'reused' })).status).toBe(201);
    const route = { name: 'api', service: 'http://localhost:1' };
    expect((await u().post('/api/v1/tunnels/reused/routes?wait=10', route)).status).toBe(201);
    expect((await u().del('/api/v1/tunnels/reused?wait=10')).status).toBe(204);
    // The copy holds the tombstone of `reused`.
    await stack.runtime.close();
    copyFileSync(join(dir, 'db.sqlite'), join(dir, 'backup.sqlite'));
    await stack.restart();
    expect((await u().post('/api/v1/tunnels?wait=10', { name: 'reused' })).status).toBe(201);
    expect((await u().post('/api/v1/tunnels/reused/routes?wait=10', route)).status).toBe(201);
    const adm = { name: 'adm', service: 'http://localhost:2', allowIps: ['203.0.113.0/24'] };
    expect((await u().post('/api/v1/tunnels/reused/routes?wait=10', adm)).status).toBe(201);
    const made = madeBy(id);
    expect(made.tunnels).toHaveLength(1);
    expect(made.records).toHaveLength(2);
    expect(made.apps).toHaveLength(1);

    await stack.runtime.close();
    copyFileSync(join(dir, 'backup.sqlite'), join(dir, 'db.sqlite'));
    rmSync(join(dir, 'db.sqlite-wal'), { force: true });
    rmSync(join(dir, 'db.sqlite-shm'), { force: true });
    await stack.restart();
    const result = await stack.runtime.reconciler!.resync();
    expect(result).toMatchObject({ orphanRecords: 0, orphanTunnels: 0, orphanAccess: 0, unvouched: 4 });
    expect(madeBy(id)).toEqual(made);
    // And the plan `tunnelplane gc` shows agrees: nothing to collect, four left alone.
    const plan = await stack.runtime.reconciler!.planOrphans();
    expect(plan.collectable).toEqual([]);
    expect(plan.unvouched).toHaveLength(4);
  });
});

describe('mass deletion', () => {
  let stack: Stack;
  const dir = mkdtempSync(join(tmpdir(), 'tp-gc-'));
  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const gcCli = async (...args: string[]) => {
    const res = await run(process.execPath, ['bin/tunnelplane.js', 'gc', ...args], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TUNNELPLANE_DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
        TUNNELPLANE_SECRET_KEY: stack.runtime.config.secretKey,
        TUNNELPLANE_CLOUDFLARE_API_TOKEN: cf.token,
        TUNNELPLANE_CLOUDFLARE_ACCOUNT_ID: cf.accountId,
        TUNNELPLANE_CLOUDFLARE_ZONE: cf.zoneName,
        TUNNELPLANE_CLOUDFLARE_BASE_URL: cf.url,
        TUNNELPLANE_INSTANCE: 'gctest',
        TUNNELPLANE_LOG_LEVEL: 'warn',
      },
    });
    return res.stdout;
  };

  it('waits for a person: a resync deleting more than the bound deletes nothing until `tunnelplane gc --confirm`', async () => {
    stack = await startStack({ cf, instance: 'gctest', dir, config: { 'reconciler.gcMaxDeletes': 3 } });
    const hand = cfHand(cf);
    const made = await populate(stack, 'user2');
    // Twelve records of routes this installation deleted the rows of (a tombstone each), and one it never knew.
    const orphans = [];
    for (let i = 0; i < 12; i++) {
      const name = `o${i}`;
      orphans.push(
        (
          await hand.createRecord({
            type: 'CNAME',
            name: `${name}-gone.example.com`,
            content: 'x.cfargotunnel.com',
            proxied: true,
            comment: `managed-by:tunnelplane/gctest tunnel=gone route=${name}`,
          })
        ).id,
      );
      await stack.tombstone('route', `gone/${name}`);
    }
    const stranger = await hand.createRecord({
      type: 'CNAME',
      name: 'x-unknown.example.com',
      content: 'x.cfargotunnel.com',
      proxied: true,
      comment: 'managed-by:tunnelplane/gctest tunnel=unknown route=x',
    });

    const result = await stack.runtime.reconciler!.resync();
    expect(result).toMatchObject({ held: 12, orphanRecords: 0, unvouched: 1 });
    const ids = () => new Set(cfView(cf).records.map((r) => r.id));
    for (const o of orphans) expect(ids().has(o)).toBe(true);
    const events = (await stack.as('admin').get('/api/v1/events?limit=50')).body.items;
    expect(events.find((e: any) => e.action === 'resync.deletion_held')).toMatchObject({
      outcome: 'error',
      details: { count: 12 },
    });
    const metrics = (await fetch(`${stack.url}/metrics`).then((r) => r.text())).split('\n');
    expect(metrics).toContain('tunnelplane_resync_held_orphans 12');
    expect(metrics).toContain('tunnelplane_resync_unvouched_objects 1');

    // gc shows the plan and deletes nothing without --confirm.
    const plan = await gcCli();
    expect(plan).toMatch(/12 provably ours/);
    expect(plan).toMatch(/o0-gone\.example\.com/);
    expect(plan).toMatch(/1 carrying its marker that its database does not know/);
    const digest = /run again with --confirm ([0-9a-f]{12}) to delete 12/.exec(plan)?.[1];
    expect(digest).toBeDefined();
    for (const o of orphans) expect(ids().has(o)).toBe(true);

    // The plan changes after it was reviewed (one more orphan): the reviewed digest deletes nothing.
    const extra = await hand.createRecord({
      type: 'CNAME',
      name: 'o12-gone.example.com',
      content: 'x.cfargotunnel.com',
      proxied: true,
      comment: 'managed-by:tunnelplane/gctest tunnel=gone route=o12',
    });
    await stack.tombstone('route', 'gone/o12');
    const stale = await gcCli('--confirm', digest!).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(stale?.code).toBe(1);
    expect(stale?.stderr).toMatch(/the plan changed since it was reviewed/);
    for (const o of [...orphans, extra.id]) expect(ids().has(o)).toBe(true);
    // Reviewed again, confirmed by its new digest.
    const again = /--confirm ([0-9a-f]{12}) to delete 13/.exec(await gcCli())?.[1];
    const applied = await gcCli('--confirm', again!);
    expect(applied).toMatch(/deleted 13/);
    expect(ids().has(extra.id)).toBe(false);
    for (const o of orphans) expect(ids().has(o)).toBe(false);
    expect(ids().has(stranger.id)).toBe(true);
    // Everything live is untouched.
    const records = cfView(cf).records.map((r) => r.name);
    for (const t of made) for (const h of t.hostnames) expect(records).toContain(h);
    await hand.deleteRecord(stranger.id);
  }, 90_000);
});
