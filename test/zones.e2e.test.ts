/**
 * Several zones (issue 16), end to end through the HTTP API against the emulator: the operator
 * configures example.com (the proof of concept's single zone, the default) and second.org (and
 * tiny.net, with a record quota of its own); routes live in both, each record in its own zone
 * with our marker; a record deleted behind Tunnelplane's back in the second zone is put back by
 * resync; deleting routes takes their records from each zone and leaves foreign records alone;
 * an admin's pins decide which zones a user may use; a full zone's quota stops only its routes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import { ownership } from '../src/domain/ownership.js';
import { startStack, type Stack } from './support/stack.js';
import { cfHand } from './support/cloudflare-hand.js';
import { tunnelctl, userEnv } from './cli/harness.js';

let cf: StartedCloudflareEmulator;
let stack: Stack;
let second: { id: string; name: string };
let tiny: { id: string; name: string };
const own = ownership('test');

beforeAll(async () => {
  cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com', retryAfterSeconds: 1 });
  second = cf.control.addZone('second.org', 'free');
  tiny = cf.control.addZone('tiny.net', 'free', { recordQuota: 1 });
  stack = await startStack({
    cf,
    config: { 'cloudflare.zones': [{ name: 'second.org' }, { name: 'tiny.net', id: tiny.id }] },
  });
});
afterAll(async () => {
  await stack?.stop();
  await cf?.close();
});

/** The records of one zone, as Cloudflare holds them. */
const recordsIn = (zoneId: string) =>
  cf.control
    .state()
    .dnsRecords.filter((r) => r.zoneId === zoneId)
    .map((r) => ({ id: r.id, name: r.name, comment: r.comment ?? null }));
const hand = () => cfHand(cf);
const foreign = (zoneId: string, name: string) =>
  hand().call('POST', `/zones/${zoneId}/dns_records`, {
    type: 'CNAME',
    name,
    content: 'elsewhere.example.net',
    proxied: false,
    ttl: 1,
    comment: 'made by a person',
  });

describe('zones', () => {
  it('lists the zones a user may use, with the default (the single zone of the configuration)', async () => {
    const res = await stack.as('user1').get('/api/v1/zones');
    expect(res.status).toBe(200);
    expect(res.body.defaultZone).toBe('example.com');
    expect(
      res.body.items.map((z: { name: string; id: string; default: boolean; dnsBatchLimit: number }) => [
        z.name,
        z.id,
        z.default,
        z.dnsBatchLimit,
      ]),
    ).toEqual([
      ['example.com', cf.zoneId, true, 200],
      ['second.org', second.id, false, 200],
      ['tiny.net', tiny.id, false, 200],
    ]);
  });

  it('puts routes in both zones, each record in its own zone with our marker; resync repairs the second; deletion clears both', async () => {
    const u = stack.as('user1');
    const t = (await u.post('/api/v1/tunnels?wait=10', { name: 'zoned' })).body.name as string;
    const keepFirst = await foreign(cf.zoneId, 'keep.example.com');
    const keepSecond = await foreign(second.id, 'keep.second.org');
    cf.control.clearRequests();

    const a = await u.post(`/api/v1/tunnels/${t}/routes?wait=10`, {
      name: 'web',
      service: 'http://localhost:1',
    });
    const b = await u.post(`/api/v1/tunnels/${t}/routes?wait=10`, {
      name: 'api',
      service: 'http://localhost:2',
      zone: 'Second.org',
    });
    expect([a.status, a.body.hostname, a.body.zone]).toEqual([201, 'web-zoned.example.com', 'example.com']);
    expect([b.status, b.body.hostname, b.body.zone]).toEqual([201, 'api-zoned.second.org', 'second.org']);
    // Each record went out in its own zone's batch, marked as ours.
    const batches = cf.control.requests({ method: 'POST', route: '/zones/:zone/dns_records/batch' });
    expect(new Set(batches.map((r) => r.path.split('/')[2]))).toEqual(new Set([cf.zoneId, second.id]));
    const first = recordsIn(cf.zoneId).find((r) => r.name === 'web-zoned.example.com')!;
    const inSecond = recordsIn(second.id).find((r) => r.name === 'api-zoned.second.org')!;
    expect(first.comment).toBe(own.dnsComment(t, 'web'));
    expect(inSecond.comment).toBe(own.dnsComment(t, 'api'));
    expect(recordsIn(cf.zoneId).some((r) => r.name.endsWith('second.org'))).toBe(false);
    // The views show the zone too.
    const listed = await u.get(`/api/v1/tunnels/${t}/routes`);
    expect(listed.body.items.map((r: { name: string; zone: string }) => [r.name, r.zone]).sort()).toEqual([
      ['api', 'second.org'],
      ['web', 'example.com'],
    ]);

    // Deleted behind Tunnelplane's back in the second zone: resync puts it back there.
    await hand().call('DELETE', `/zones/${second.id}/dns_records/${inSecond.id}`);
    const result = await stack.runtime.reconciler!.resync();
    expect(result).toMatchObject({ failed: 0, orphanRecords: 0 });
    await stack.runtime.reconciler!.drain();
    const back = recordsIn(second.id).find((r) => r.name === 'api-zoned.second.org');
    expect(back).toBeDefined();
    expect(back!.id).not.toBe(inSecond.id);
    expect(back!.comment).toBe(own.dnsComment(t, 'api'));
    expect(recordsIn(cf.zoneId).find((r) => r.name === 'web-zoned.example.com')!.id).toBe(first.id);
    expect((await u.get(`/api/v1/tunnels/${t}/routes/api`)).body.phase).toBe('ready');

    // Deleting the routes deletes each record in its zone; the foreign ones stay.
    expect((await u.del(`/api/v1/tunnels/${t}/routes/web?wait=10`)).status).toBe(204);
    expect((await u.del(`/api/v1/tunnels/${t}/routes/api?wait=10`)).status).toBe(204);
    expect(recordsIn(cf.zoneId).map((r) => r.name)).not.toContain('web-zoned.example.com');
    expect(recordsIn(second.id).map((r) => r.name)).not.toContain('api-zoned.second.org');
    expect(recordsIn(cf.zoneId).map((r) => r.id)).toContain(keepFirst.id);
    expect(recordsIn(second.id).map((r) => r.id)).toContain(keepSecond.id);
    // A resync now finds nothing to collect in either zone, and touches no foreign record.
    await stack.runtime.reconciler!.resync();
    expect(recordsIn(cf.zoneId).map((r) => r.id)).toContain(keepFirst.id);
    expect(recordsIn(second.id).map((r) => r.id)).toContain(keepSecond.id);
  });

  it('deletes a tunnel with routes in two zones: its records go from each', async () => {
    const u = stack.as('user1');
    const t = (await u.post('/api/v1/tunnels?wait=10', {})).body.name as string;
    await u.post(`/api/v1/tunnels/${t}/routes?wait=10`, { name: 'one', service: 'http://localhost:1' });
    await u.post(`/api/v1/tunnels/${t}/routes?wait=10`, {
      name: 'two',
      service: 'http://localhost:2',
      zone: 'second.org',
    });
    expect(recordsIn(second.id).map((r) => r.name)).toContain(`two-${t}.second.org`);
    expect((await u.del(`/api/v1/tunnels/${t}?wait=10`)).status).toBe(204);
    expect(recordsIn(cf.zoneId).map((r) => r.name)).not.toContain(`one-${t}.example.com`);
    expect(recordsIn(second.id).map((r) => r.name)).not.toContain(`two-${t}.second.org`);
  });

  it('collects a provable orphan of ours in the second zone there, and leaves an unvouched one and foreign ones', async () => {
    const ours = (name: string, tunnel: string) =>
      hand().call('POST', `/zones/${second.id}/dns_records`, {
        type: 'CNAME',
        name,
        content: 'abc.cfargotunnel.com',
        proxied: true,
        ttl: 1,
        comment: own.dnsComment(tunnel, 'x'),
      });
    const orphan = await ours('x-gonezone.second.org', 'gonezone');
    const unvouched = await ours('x-nevermine.second.org', 'nevermine');
    const other = await foreign(second.id, 'x-gonezone2.second.org');
    await new Promise((r) => setTimeout(r, 5));
    await stack.tombstone('tunnel', 'gonezone');
    const result = await stack.runtime.reconciler!.resync();
    expect(result).toMatchObject({ orphanRecords: 1, unvouched: 1 });
    const ids = recordsIn(second.id).map((r) => r.id);
    expect(ids).not.toContain(orphan.id);
    expect(ids).toEqual(expect.arrayContaining([unvouched.id, other.id]));
    const deletes = cf.control
      .requests({ method: 'POST', route: '/zones/:zone/dns_records/batch' })
      .filter((r) => (r.body as { deletes?: unknown[] }).deletes);
    expect(deletes.at(-1)!.path).toContain(`/zones/${second.id}/`);
    await hand().call('DELETE', `/zones/${second.id}/dns_records/${unvouched.id}`);
  });

  it('refuses a zone that is not configured (422 route.unknown_zone), writing nothing', async () => {
    const u = stack.as('user1');
    const t = (await u.post('/api/v1/tunnels?wait=10', {})).body.name as string;
    const res = await u.post(`/api/v1/tunnels/${t}/routes?wait=0`, {
      service: 'http://localhost:1',
      zone: 'nope.net',
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('route.unknown_zone');
    expect(res.body.error.details.zones).toEqual(['example.com', 'second.org', 'tiny.net']);
    expect((await u.get(`/api/v1/tunnels/${t}/routes`)).body.items).toEqual([]);
  });

  it("enforces an admin's pins: a user (and their teams) may use only the zones pinned", async () => {
    const admin = stack.as('admin');
    const u2 = stack.as('user2');
    // Only admins pin; only configured zones.
    expect((await u2.request('PUT', '/api/v1/admin/users/user2/zones', { zones: [] })).status).toBe(403);
    const bad = await admin.request('PUT', '/api/v1/admin/users/user2/zones', { zones: ['nope.net'] });
    expect([bad.status, bad.body.error.code]).toEqual([422, 'zone.unknown']);
    const pinned = await admin.request('PUT', '/api/v1/admin/users/user2/zones', { zones: ['SECOND.org'] });
    expect([pinned.status, pinned.body]).toEqual([200, { zones: ['second.org'] }]);
    expect((await admin.get('/api/v1/admin/users/user2/zones')).body).toEqual({ zones: ['second.org'] });

    const zones = (await u2.get('/api/v1/zones')).body;
    expect(zones.items.map((z: { name: string }) => z.name)).toEqual(['second.org']);
    expect(zones.defaultZone).toBe('second.org');
    const t = (await u2.post('/api/v1/tunnels?wait=10', {})).body.name as string;
    // No zone asked for: the user's default (their only zone), not the operator's.
    const r = await u2.post(`/api/v1/tunnels/${t}/routes?wait=10`, {
      name: 'pin',
      service: 'http://localhost:1',
    });
    expect([r.status, r.body.zone, r.body.hostname]).toEqual([201, 'second.org', `pin-${t}.second.org`]);
    const refused = await u2.post(`/api/v1/tunnels/${t}/routes?wait=0`, {
      service: 'http://localhost:1',
      zone: 'example.com',
    });
    expect([refused.status, refused.body.error.code, refused.body.error.details.zones]).toEqual([
      403,
      'route.zone_forbidden',
      ['second.org'],
    ]);

    // A team's pins add to its members' own.
    expect((await admin.post('/api/v1/admin/teams', { name: 'zoneteam' })).status).toBe(201);
    await admin.request('PUT', '/api/v1/admin/teams/zoneteam/members/user2');
    await admin.request('PUT', '/api/v1/admin/teams/zoneteam/zones', { zones: ['example.com'] });
    const both = (await u2.get('/api/v1/zones')).body;
    expect(both.items.map((z: { name: string }) => z.name)).toEqual(['example.com', 'second.org']);
    expect(both.defaultZone).toBe('example.com');
    const ok = await u2.post(`/api/v1/tunnels/${t}/routes?wait=10`, {
      service: 'http://localhost:1',
      zone: 'example.com',
    });
    expect([ok.status, ok.body.zone]).toEqual([201, 'example.com']);

    // Unpinned: every zone again. Admins are never pinned.
    await admin.request('PUT', '/api/v1/admin/users/user2/zones', { zones: [] });
    await admin.request('PUT', '/api/v1/admin/teams/zoneteam/zones', { zones: [] });
    expect((await u2.get('/api/v1/zones')).body.items).toHaveLength(3);
    await admin.request('PUT', '/api/v1/admin/users/admin/zones', { zones: ['tiny.net'] });
    expect((await admin.get('/api/v1/zones')).body.items).toHaveLength(3);
    await admin.request('PUT', '/api/v1/admin/users/admin/zones', { zones: [] });
  });

  it("counts each zone's record quota apart: a full zone stops only its own routes", async () => {
    // tiny.net holds one record, and someone else's is already there.
    const filler = await foreign(tiny.id, 'filler.tiny.net');
    const u = stack.as('user1');
    const t = (await u.post('/api/v1/tunnels?wait=10', {})).body.name as string;
    const full = await u.post(`/api/v1/tunnels/${t}/routes?wait=5`, {
      name: 'full',
      service: 'http://localhost:1',
      zone: 'tiny.net',
    });
    const fine = await u.post(`/api/v1/tunnels/${t}/routes?wait=10`, {
      name: 'fine',
      service: 'http://localhost:1',
    });
    expect(fine.body.phase).toBe('ready');
    const stuck = (await u.get(`/api/v1/tunnels/${t}/routes/full`)).body;
    expect(full.status).toBe(202);
    expect([stuck.phase, stuck.errorCode]).toEqual(['error', 'dns.record_quota']);
    expect(stuck.lastError).toMatch(/zone tiny\.net's record quota/);
    // Room made in that zone: the next resync takes the route on.
    await hand().call('DELETE', `/zones/${tiny.id}/dns_records/${filler.id}`);
    await stack.runtime.reconciler!.resync();
    await stack.runtime.reconciler!.drain();
    expect((await u.get(`/api/v1/tunnels/${t}/routes/full`)).body.phase).toBe('ready');
    expect(recordsIn(tiny.id).map((r) => r.name)).toEqual([`full-${t}.tiny.net`]);
  });

  it('tunnelctl: zones, route add --zone (the ZONE column once routes span zones), admin users zones', async () => {
    const env = userEnv(stack.url);
    const zones = await tunnelctl(['zones'], { env });
    expect([zones.code, zones.stderr]).toEqual([0, '']);
    expect(zones.stdout).toMatch(/^NAME\s+DEFAULT\s+PLAN\s+ID$/m);
    expect(zones.stdout).toMatch(new RegExp(`^example\\.com\\s+yes\\s+Free Website\\s+${cf.zoneId}$`, 'm'));
    expect(zones.stdout).toMatch(/^second\.org\s+-\s+/m);
    expect((await tunnelctl(['zones', '-o', 'name'], { env })).stdout).toBe(
      'example.com\nsecond.org\ntiny.net\n',
    );

    const t = (await stack.as('user1').post('/api/v1/tunnels?wait=10', {})).body.name as string;
    const one = await tunnelctl(['route', 'add', t, 'http://localhost:7', '--name', 'cli'], {
      env,
    });
    expect([one.code, one.stderr]).toMatchObject([0, expect.any(String)]);
    expect(one.stdout).not.toMatch(/ZONE/);
    const two = await tunnelctl(
      ['route', 'add', t, 'http://localhost:8', '--name', 'cli2', '--zone', 'second.org', '-o', 'json'],
      { env },
    );
    expect(two.code).toBe(0);
    expect(JSON.parse(two.stdout)).toMatchObject({
      hostname: `cli2-${t}.second.org`,
      zone: 'second.org',
      phase: 'ready',
    });
    const list = await tunnelctl(['route', 'list', t], { env });
    expect(list.stdout).toMatch(/^NAME\s+HOSTNAME\s+ZONE\s+SERVICE/m);
    expect(list.stdout).toMatch(new RegExp(`^cli2\\s+cli2-${t}\\.second\\.org\\s+second\\.org\\s+`, 'm'));
    const refused = await tunnelctl(['route', 'add', t, 'http://localhost:9', '--zone', 'nope.net'], { env });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/nope\.net is not a zone of this server/);

    const admin = userEnv(stack.url, 'admin');
    const pin = await tunnelctl(['admin', 'users', 'zones', 'user2', '--zones', 'second.org,tiny.net'], {
      env: admin,
    });
    expect([pin.code, pin.stdout]).toEqual([0, 'user2: second.org, tiny.net\n']);
    expect((await tunnelctl(['admin', 'users', 'zones', 'user2'], { env: admin })).stdout).toBe(
      'user2: second.org, tiny.net\n',
    );
    expect((await tunnelctl(['zones', '-o', 'name'], { env: userEnv(stack.url, 'user2') })).stdout).toBe(
      'second.org\ntiny.net\n',
    );
    const unpin = await tunnelctl(['admin', 'users', 'zones', 'user2', '--zones', 'all'], { env: admin });
    expect(unpin.stdout).toBe('user2: every zone (nothing pinned)\n');
  });
});
