import { describe, expect, it } from 'vitest';
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
  function fakeCloudflare(opts: { records?: Record<string, DnsRecord[]>; failBatch?: boolean } = {}) {
    const deleted: string[] = [];
    const cf = {
      batch: async (ops: { deletes?: string[] }) => {
        if (opts.failBatch) throw new Error('batch failed');
        deleted.push(...(ops.deletes ?? []).map((id) => `dns:${id}`));
        for (const id of ops.deletes ?? [])
          for (const [k, list] of Object.entries(opts.records ?? {}))
            opts.records![k] = list.filter((r) => r.id !== id);
        return [];
      },
      listByName: async (name: string) => opts.records?.[name] ?? [],
      deleteAccessApp: async (id: string) => void deleted.push(`app:${id}`),
      deleteServiceToken: async (id: string) => void deleted.push(`token:${id}`),
      cleanConnections: async () => undefined,
      deleteTunnel: async (id: string) => void deleted.push(`tunnel:${id}`),
    } as unknown as CloudflareApi;
    return { cf, deleted };
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
      records: { 'api-web.example.com': [rec('r1', 'api-web.example.com')] },
    });
    const out = await deleteOrphans([orphan({ id: 'r1' }), app, token], {
      cloudflare: cf,
      kubernetes: null,
      dnsBatchLimit: 10,
    });
    expect(out).toEqual({ deleted: 3, failed: [] });
    expect(deleted).toEqual(['dns:r1', 'app:a1', 'token:s1']);
  });

  it('keeps the application while its record failed to go: the service never stands unprotected', async () => {
    const { cf, deleted } = fakeCloudflare({
      records: { 'api-web.example.com': [rec('r1', 'api-web.example.com')] },
      failBatch: true,
    });
    const out = await deleteOrphans([orphan({ id: 'r1' }), app, token], {
      cloudflare: cf,
      kubernetes: null,
      dnsBatchLimit: 10,
    });
    expect(out.failed.map((f) => f.orphan.id)).toEqual(['r1', 'a1']);
    expect(out.failed[1]!.error).toMatch(/a DNS record still stands at api-web.example.com/);
    expect(deleted).toEqual(['token:s1']);
  });

  it('keeps an application while any record (another of ours, or not ours) stands at its hostname', async () => {
    const { cf, deleted } = fakeCloudflare({
      records: { 'api-web.example.com': [rec('foreign', 'api-web.example.com')] },
    });
    const out = await deleteOrphans([app], { cloudflare: cf, kubernetes: null, dnsBatchLimit: 10 });
    expect(out.deleted).toBe(0);
    expect(deleted).toEqual([]);
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
