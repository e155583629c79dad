import { describe, expect, it } from 'vitest';
import { createZones } from '../domain/zones.js';
import type { CloudflareApi, DnsRecord } from '../providers/cloudflare/index.js';
import { classify, deleteOrphans, tooMany, type Orphan } from './orphans.js';

const BEFORE = '2026-03-01T00:00:00Z';
const DELETED = '2026-03-02T00:00:00Z';
const AFTER = '2026-03-03T00:00:00Z';

const orphan = (over: Partial<Orphan> = {}): Orphan => ({
  kind: 'dns',
  id: 'x',
  name: 'api-web.example.com',
  tunnel: 'web',
  route: 'api',
  createdAt: BEFORE,
  ...over,
});

const zones = createZones(
  [
    { name: 'example.com', id: 'z1', plan: null, dnsBatchLimit: 2 },
    { name: 'other.org', id: 'z2', plan: null, dnsBatchLimit: 10 },
  ],
  'example.com',
);

describe('classify: a tombstone vouches only for what was made before its row was deleted', () => {
  const tombstones = (routes: Record<string, string>, tunnels: Record<string, string>) => ({
    tombstoned: async (kind: 'tunnel' | 'route') =>
      new Map(Object.entries(kind === 'route' ? routes : tunnels)),
  });
  const cases: Array<
    [string, Orphan, Record<string, string>, Record<string, string>, 'collectable' | 'unvouched']
  > = [
    ["made before its route's row was deleted", orphan(), { 'web/api': DELETED }, {}, 'collectable'],
    ["made before its tunnel's row was deleted", orphan(), {}, { web: DELETED }, 'collectable'],
    [
      'made after the deletion (the name used again later: a restored copy does not know it)',
      orphan({ createdAt: AFTER }),
      { 'web/api': DELETED },
      { web: DELETED },
      'unvouched',
    ],
    [
      'made when, its provider did not say',
      orphan({ createdAt: null }),
      { 'web/api': DELETED },
      {},
      'unvouched',
    ],
    ['no tombstone names it', orphan(), {}, {}, 'unvouched'],
    [
      'no marker',
      orphan({ tunnel: null, route: null }),
      { 'web/api': DELETED },
      { web: DELETED },
      'unvouched',
    ],
    [
      'a tunnel (no route) made before its row was deleted',
      orphan({ kind: 'tunnel', route: null }),
      {},
      { web: DELETED },
      'collectable',
    ],
    [
      'a route tombstone of another tunnel vouches for nothing',
      orphan({ tunnel: 'other' }),
      { 'web/api': DELETED },
      {},
      'unvouched',
    ],
  ];
  it.each(cases)('%s', async (_, c, routes, tunnels, expected) => {
    const plan = await classify([c], tombstones(routes, tunnels));
    expect(plan[expected]).toEqual([c]);
  });
});

describe('deleteOrphans', () => {
  /** Records by zone id, then by name; every batch is logged with its zone. */
  function fakeCloudflare(
    opts: { records?: Record<string, Record<string, DnsRecord[]>>; failBatch?: boolean } = {},
  ) {
    const deleted: string[] = [];
    const batches: string[] = [];
    const cf = {
      zone: (zoneId: string) => ({
        batch: async (ops: { deletes?: string[] }) => {
          if (opts.failBatch) throw new Error('batch failed');
          batches.push(`${zoneId}:${(ops.deletes ?? []).length}`);
          deleted.push(...(ops.deletes ?? []).map((id) => `dns:${zoneId}:${id}`));
          const inZone = opts.records?.[zoneId] ?? {};
          for (const id of ops.deletes ?? [])
            for (const [k, list] of Object.entries(inZone)) inZone[k] = list.filter((r) => r.id !== id);
          return [];
        },
        listByName: async (name: string) => opts.records?.[zoneId]?.[name] ?? [],
      }),
      deleteAccessApp: async (id: string) => void deleted.push(`app:${id}`),
      deleteServiceToken: async (id: string) => void deleted.push(`token:${id}`),
      cleanConnections: async () => undefined,
      deleteTunnel: async (id: string) => void deleted.push(`tunnel:${id}`),
    } as unknown as CloudflareApi;
    return { cf, deleted, batches };
  }
  const rec = (id: string, name: string) =>
    ({ id, name, type: 'CNAME', content: 'c', proxied: true, comment: null, createdAt: null }) as DnsRecord;
  const app = orphan({
    kind: 'access-app',
    id: 'a1',
    name: 'tunnelplane-i-web-api',
    domain: 'api-web.example.com',
  });
  const token = orphan({ kind: 'service-token', id: 's1', name: 'tunnelplane-i-web-api' });

  it('deletes the record first, then the application that protected it', async () => {
    const { cf, deleted } = fakeCloudflare({
      records: { z1: { 'api-web.example.com': [rec('r1', 'api-web.example.com')] } },
    });
    const out = await deleteOrphans([orphan({ id: 'r1', zone: 'example.com' }), app, token], {
      cloudflare: cf,
      kubernetes: null,
      zones,
    });
    expect(out).toEqual({ deleted: 3, failed: [] });
    expect(deleted).toEqual(['dns:z1:r1', 'app:a1', 'token:s1']);
  });

  it('keeps the application while its record failed to go: the service never stands unprotected', async () => {
    const { cf, deleted } = fakeCloudflare({
      records: { z1: { 'api-web.example.com': [rec('r1', 'api-web.example.com')] } },
      failBatch: true,
    });
    const out = await deleteOrphans([orphan({ id: 'r1', zone: 'example.com' }), app, token], {
      cloudflare: cf,
      kubernetes: null,
      zones,
    });
    expect(out.failed.map((f) => f.orphan.id)).toEqual(['r1', 'a1']);
    expect(out.failed[1]!.error).toMatch(/a DNS record still stands at api-web.example.com/);
    expect(deleted).toEqual(['token:s1']);
  });

  it('keeps an application while any record (another of ours, or not ours) stands at its hostname', async () => {
    const { cf, deleted } = fakeCloudflare({
      records: { z1: { 'api-web.example.com': [rec('foreign', 'api-web.example.com')] } },
    });
    const out = await deleteOrphans([app], { cloudflare: cf, kubernetes: null, zones });
    expect(out.deleted).toBe(0);
    expect(deleted).toEqual([]);
  });

  it("deletes each record in the zone it was listed in, in chunks of that zone's batch limit", async () => {
    const { cf, deleted, batches } = fakeCloudflare();
    const out = await deleteOrphans(
      [
        orphan({ id: 'a', zone: 'example.com' }),
        orphan({ id: 'b', name: 'api-web.other.org', zone: 'other.org' }),
        orphan({ id: 'c', zone: 'example.com' }),
        orphan({ id: 'd', zone: 'example.com' }),
      ],
      { cloudflare: cf, kubernetes: null, zones },
    );
    expect(out).toEqual({ deleted: 4, failed: [] });
    expect(batches).toEqual(['z1:2', 'z1:1', 'z2:1']);
    expect(deleted.sort()).toEqual(['dns:z1:a', 'dns:z1:c', 'dns:z1:d', 'dns:z2:b']);
  });

  it('deletes nothing in a zone no longer configured (it fails, kept for the next resync)', async () => {
    const { cf, deleted } = fakeCloudflare();
    const out = await deleteOrphans([orphan({ id: 'a', zone: 'gone.net' })], {
      cloudflare: cf,
      kubernetes: null,
      zones,
    });
    expect(out.deleted).toBe(0);
    expect(out.failed[0]!.error).toMatch(/zone gone.net is not configured/);
    expect(deleted).toEqual([]);
  });

  it("looks for a record at an application's hostname in the zone the name is under", async () => {
    const { cf, deleted } = fakeCloudflare({
      records: { z2: { 'api-web.other.org': [rec('r', 'api-web.other.org')] } },
    });
    const other = { ...app, id: 'a2', domain: 'api-web.other.org' };
    const unknown = { ...app, id: 'a3', domain: 'api-web.gone.net' };
    const out = await deleteOrphans([other, app, unknown], { cloudflare: cf, kubernetes: null, zones });
    expect(out.failed.map((f) => [f.orphan.id, f.error])).toEqual([
      ['a2', 'kept: a DNS record still stands at api-web.other.org'],
      ['a3', 'kept: api-web.gone.net is in no configured zone'],
    ]);
    expect(deleted).toEqual(['app:a1']);
  });
});

describe('tooMany', () => {
  it.each([
    [10, 50, false],
    [11, 50, true],
    [20, 200, false],
    [21, 200, true],
  ])('%i of %i', (n, ours, expected) => {
    expect(tooMany(n, ours, { maxDeletes: 10, maxDeletePercent: 10 })).toBe(expected);
  });
});
