/**
 * Resync holds a page, not the installation: our DNS records are listed a page at a time and
 * the routes read by keyset pages. Over many pages (4 records, 3 routes each) it must do what a
 * single-page resync does: orphans deleted, drift repaired, nothing without our marker touched —
 * and a route created while the listing pages is never taken for an orphan.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretBox } from '../src/domain/secret-box.js';
import { ownership } from '../src/domain/ownership.js';
import { createReconciler, defaultReconcilerOptions } from '../src/reconciler/index.js';
import type { CloudflareApi } from '../src/providers/cloudflare/index.js';
import { startStack, eventually, type Stack } from './support/stack.js';
import { cfView } from './support/cloudflare-view.js';
import { cfHand } from './support/cloudflare-hand.js';

const RECORDS_PER_PAGE = 4;
const ROUTES_PER_PAGE = 3;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ configMode: 'local' });
  const user = (await stack.runtime.store.users.byName('user1'))!;
  await stack.runtime.store.users.update(user.id, { quota_routes: 100 });
  // Passes run only when the test drains, so the calls seen are the resync's.
  await stack.runtime.reconciler!.stop();
});
afterAll(async () => stack?.stop());

const silent = { info() {}, warn() {}, error() {} };

/** A reconciler over the stack's store with small resync pages; only its resync is used. */
function pagedResync(cloudflare: CloudflareApi = stack.runtime.cloudflare) {
  const store = stack.runtime.store;
  const reconciler = createReconciler({
    work: store.work,
    resync: store.resync,
    events: store.events,
    leases: store.leases,
    settings: store.settings,
    signals: store.signals,
    cloudflare,
    secrets: createSecretBox(randomBytes(32)),
    logger: silent,
    ownership: ownership('test'),
    zones: stack.runtime.zones,
    options: {
      ...defaultReconcilerOptions,
      owner: 'paged',
      resyncMs: 0,
      resyncRecordsPerPage: RECORDS_PER_PAGE,
      resyncRoutesPerPage: ROUTES_PER_PAGE,
    },
  });
  return async () => {
    // The stack's start-up resync holds the lease for its replica.
    await stack.runtime.store.db.deleteFrom('leases').where('name', '=', 'resync').execute();
    return reconciler.resync();
  };
}

interface Expected {
  tunnel: string;
  id: string;
  hostnames: string[];
}

async function exactRecords(expected: Expected[], others: string[]) {
  const want = expected.flatMap((t) => t.hostnames.map((h) => `${h} -> ${t.id}.cfargotunnel.com proxied`));
  const ours = cfView(stack.cf).records.filter((r) => r.comment?.startsWith('managed-by:tunnelplane/test '));
  expect(ours.map((r) => `${r.name} -> ${r.content}${r.proxied ? ' proxied' : ''}`).sort()).toEqual(
    want.sort(),
  );
  // Exactly one record per name: nothing duplicated.
  expect(new Set(ours.map((r) => r.name)).size).toBe(ours.length);
  const ids = new Set(cfView(stack.cf).records.map((r) => r.id));
  for (const id of others) expect(ids.has(id)).toBe(true);
}

async function allReady(n: number) {
  const u = stack.as('user1');
  await eventually(
    async () => {
      const items = (await u.get('/api/v1/tunnels?limit=10')).body.items as any[];
      return (
        items.length === n &&
        items.every((t) => t.phase === 'ready' && t.routes.every((r: any) => r.phase === 'ready'))
      );
    },
    20_000,
    100,
  );
}

describe('a resync over many pages', () => {
  const expected: Expected[] = [];
  const others: string[] = [];

  it('deletes orphans, repairs drift and leaves foreign records alone across page boundaries', async () => {
    const u = stack.as('user1');
    for (let i = 0; i < 3; i++) {
      const t = await u.post('/api/v1/tunnels?wait=0', {});
      expect(t.status).toBe(202);
      const entry: Expected = { tunnel: t.body.name, id: t.body.id, hostnames: [] };
      for (let j = 0; j < 10; j++) {
        // Names spread over the alphabet, so every listing page holds routes of every tunnel.
        const r = await u.post(`/api/v1/tunnels/${t.body.name}/routes?wait=0`, {
          name: `${String.fromCharCode(97 + ((j * 7 + i) % 26))}r${i}x${j}`,
          service: `http://10.0.${i}.${j}:80`,
        });
        expect(r.status).toBe(202);
        entry.hostnames.push(r.body.hostname);
      }
      expected.push(entry);
    }
    await stack.runtime.reconciler!.drain();
    await allReady(3);
    for (const t of expected) t.id = (await u.get(`/api/v1/tunnels/${t.tunnel}`)).body.id;
    await exactRecords(expected, others);

    const hand = cfHand(stack.cf);
    const ours = cfView(stack.cf).records.sort((a, b) => a.name.localeCompare(b.name));
    // Drift on several pages: records deleted and edited by hand.
    const deleted = [ours[1]!, ours[14]!, ours[28]!];
    const edited = [ours[6]!, ours[21]!];
    for (const r of deleted) await hand.deleteRecord(r.id);
    for (const r of edited) await hand.patchRecord(r.id, { content: 'elsewhere.example.net' });
    // Orphans with our marker, spread over the pages (names sort among ours).
    const orphans = [];
    for (const name of ['aaorphan', 'morphan', 'qorphan', 'zzorphan', 'zzzorphan']) {
      orphans.push(
        await hand.createRecord({
          type: 'CNAME',
          name: `${name}.example.com`,
          content: 'x.cfargotunnel.com',
          proxied: true,
          comment: `managed-by:tunnelplane/test tunnel=gone route=${name}`,
        }),
      );
    }
    // Not ours: no marker, another installation's marker, or a marker-like text not at the start.
    for (const [name, comment] of [
      ['bmanual', 'set by hand'],
      ['nmanual', null],
      ['keepme-prod', 'managed-by:tunnelplane/prod tunnel=prod route=keepme'],
      ['ymanual', 'see managed-by:tunnelplane/test tunnel=x route=y'],
    ] as const) {
      others.push(
        (
          await hand.createRecord({
            type: 'CNAME',
            name: `${name}.example.com`,
            content: 'x.example.net',
            proxied: true,
            ...(comment ? { comment } : {}),
          })
        ).id,
      );
    }

    // This installation deleted the rows that named them: provably ours.
    await stack.tombstone('tunnel', 'gone');
    stack.cf.control.clearRequests();
    const result = await pagedResync()();
    expect(result).toMatchObject({ orphanRecords: 5, orphanTunnels: 0, failed: 0 });
    const touched = new Set(
      [...deleted, ...edited].map((r) => expected.find((t) => t.hostnames.includes(r.name))!.tunnel),
    );
    expect(result.requeued).toBe(touched.size);
    // It did page: 27 of our records + 5 orphans, 4 a page (the last page ends the listing).
    const listings = stack.cf.control.requests({ method: 'GET', route: '/zones/:zone/dns_records' });
    expect(listings.map((r) => `${r.query.page}/${r.query.per_page}`)).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((p) => `${p}/${RECORDS_PER_PAGE}`),
    );
    // Nothing but the orphans was deleted, in one batch after the listing.
    const batches = stack.cf.control.requests({ method: 'POST', route: '/zones/:zone/dns_records/batch' });
    expect(batches).toHaveLength(1);
    expect(((batches[0]!.body as any).deletes as Array<{ id: string }>).map((d) => d.id).sort()).toEqual(
      orphans.map((o) => o.id).sort(),
    );
    expect(batches[0]!.id).toBeGreaterThan(Math.max(...listings.map((r) => r.id)));

    await stack.runtime.reconciler!.drain();
    await allReady(3);
    await exactRecords(expected, others);
  });

  it('finds nothing to do in a converged world', async () => {
    stack.cf.control.clearRequests();
    const result = await pagedResync()();
    expect(result).toMatchObject({ requeued: 0, orphanRecords: 0, orphanTunnels: 0, failed: 0 });
    expect(stack.cf.control.requests().filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('never takes a route created while the listing pages for an orphan', async () => {
    const u = stack.as('user1');
    const t = expected[0]!;
    const created: string[] = [];
    // Between the first and the second page, two routes are created and go live: one record
    // sorts first (it shifts the pages: one of ours is skipped, which only looks like drift and
    // is adopted back), the other sorts last (it is listed after its route exists: intact).
    const inner = stack.runtime.cloudflare.zone(stack.cf.zoneId);
    const cloudflare: CloudflareApi = {
      ...stack.runtime.cloudflare,
      zone: () => ({ ...inner, pagesByComment }),
    };
    async function* pagesByComment(prefix: string, perPage?: number) {
      {
        let n = 0;
        for await (const page of inner.pagesByComment(prefix, perPage)) {
          yield page;
          if (++n !== 1) continue;
          for (const name of ['aaanew', 'zzznew']) {
            const r = await u.post(`/api/v1/tunnels/${t.tunnel}/routes?wait=0`, {
              name,
              service: 'http://10.1.0.1:80',
            });
            expect(r.status).toBe(202);
            created.push(r.body.hostname);
          }
          await stack.runtime.reconciler!.drain();
        }
      }
    }
    stack.cf.control.clearRequests();
    const result = await pagedResync(cloudflare)();
    expect(created).toHaveLength(2);
    t.hostnames.push(...created);
    expect(result).toMatchObject({ orphanRecords: 0, failed: 0 });
    // The last page held the new record that sorts last.
    const pages = stack.cf.control
      .requests({ method: 'GET', route: '/zones/:zone/dns_records' })
      .filter((r) => r.query.per_page === String(RECORDS_PER_PAGE));
    expect(pages.length).toBe(Math.ceil(32 / RECORDS_PER_PAGE));
    expect(
      stack.cf.control
        .requests({ method: 'POST', route: '/zones/:zone/dns_records/batch' })
        .filter((r) => (r.body as any).deletes),
    ).toEqual([]);
    await stack.runtime.reconciler!.drain();
    await allReady(3);
    await exactRecords(expected, others);
  });
});
