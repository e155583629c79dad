/**
 * Webhook deliveries on SQLite and (when TUNNELPLANE_TEST_POSTGRES_URL is set) PostgreSQL, in a
 * scratch database: the cursor, claims, attempts, the admin's status, the test event, pruning.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratchDatabase, type ScratchDatabase } from '../../test/support/scratch-database.js';
import { connectStore, type Store } from './index.js';

const pgUrl = process.env.TUNNELPLANE_TEST_POSTGRES_URL;
const backends: string[] = ['sqlite', ...(pgUrl ? ['postgres'] : [])];

describe.each(backends)('webhook deliveries on %s', (backend) => {
  let store: Store;
  let close: () => Promise<void>;
  let scratch: ScratchDatabase | undefined;
  const all = () => true;
  const settled = () => ({ settledBefore: new Date(Date.now() + 1000).toISOString() });
  const event = (action: string, ownerId: string | null = null) =>
    store.events.append({ ownerId, actor: 'alice', action, target: 't', outcome: 'ok', details: { n: 1 } });
  const later = (ms: number) => new Date(Date.now() + ms).toISOString();

  beforeAll(async () => {
    let url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'tp-webhooks-')), 'db.sqlite')}`;
    if (backend === 'postgres') {
      scratch = await createScratchDatabase(pgUrl!, 'tp_webhooks');
      url = scratch.url;
    }
    ({ store, close } = await connectStore(url));
  });
  afterAll(async () => {
    await close?.();
    await scratch?.drop();
  });

  it('starts a new webhook at the newest event, then enqueues what matches once', async () => {
    await event('tunnel.create');
    expect(await store.webhooks.enqueue('a', all, settled())).toBe(0);
    const start = await store.webhooks.cursorOf('a');
    expect(start).toBeGreaterThan(0);
    const user = await store.users.create({ name: 'owner1', passwordHash: 'x', role: 'user' });
    await event('tunnel.create', user.id);
    await event('route.create', user.id);
    await event('webhook.test');
    const tunnelsOnly = (a: string) => a.startsWith('tunnel.');
    expect(await store.webhooks.enqueue('a', tunnelsOnly, settled())).toBe(1);
    expect(await store.webhooks.enqueue('a', tunnelsOnly, settled())).toBe(0);
    expect(await store.webhooks.cursorOf('a')).toBe(start! + 3);

    const [d, ...rest] = await store.webhooks.claim('a', 10, 60_000);
    expect(rest).toEqual([]);
    expect(d).toMatchObject({
      webhook: 'a',
      attempts: 0,
      event: { action: 'tunnel.create', owner: 'owner1', actor: 'alice', details: { n: 1 } },
    });
    // Claimed: not due again while in flight.
    expect(await store.webhooks.claim('a', 10, 60_000)).toEqual([]);

    await store.webhooks.record(
      { id: d!.id, webhook: 'a', eventId: d!.event.id },
      { ok: false, status: 500, error: 'HTTP 500', retryAt: later(-1) },
    );
    const [again] = await store.webhooks.claim('a', 10, 60_000);
    expect(again).toMatchObject({ id: d!.id, attempts: 1 });
    await store.webhooks.record({ id: d!.id, webhook: 'a', eventId: d!.event.id }, { ok: true, status: 204 });

    const [status] = await store.webhooks.status(['a']);
    expect(status).toMatchObject({ webhook: 'a', delivered: 1, pending: 0, failed: 0, recentFailures: [] });
    expect(status!.lastDeliveredAt).toBeTruthy();
    expect(status!.lastError).toMatchObject({ status: 500, error: 'HTTP 500', eventId: d!.event.id });
  });

  it('leaves the cursor before events that may still have lower ids to come', async () => {
    await store.webhooks.enqueue('b', all, settled());
    const start = await store.webhooks.cursorOf('b');
    await event('tunnel.ready');
    const notYet = { settledBefore: new Date(Date.now() - 60_000).toISOString() };
    expect(await store.webhooks.enqueue('b', all, notYet)).toBe(1);
    expect(await store.webhooks.cursorOf('b')).toBe(start);
    // Read again: not enqueued twice.
    expect(await store.webhooks.enqueue('b', all, settled())).toBe(0);
    expect(await store.webhooks.cursorOf('b')).toBe(start! + 1);
  });

  it('marks failed for good, shows recent failures, sends test events to one webhook, prunes', async () => {
    const { eventId, deliveryId } = await store.webhooks.enqueueTest('c', 'admin');
    // Another webhook that takes every event does not get it.
    await store.webhooks.enqueue('d', all, settled());
    await store.webhooks.enqueue('d', all, settled());
    expect(await store.webhooks.claim('d', 10, 60_000)).toEqual([]);
    const [t] = await store.webhooks.claim('c', 10, 60_000);
    expect(t).toMatchObject({
      id: deliveryId,
      event: { id: eventId, action: 'webhook.test', actor: 'admin' },
    });
    await store.webhooks.record(
      { id: deliveryId, webhook: 'c', eventId },
      { ok: false, status: null, error: 'connection failed: ECONNREFUSED', retryAt: null },
    );
    const [c] = await store.webhooks.status(['c']);
    expect(c).toMatchObject({ delivered: 0, pending: 0, failed: 1, lastDeliveredAt: null });
    expect(c!.recentFailures).toEqual([
      expect.objectContaining({
        deliveryId,
        eventId,
        action: 'webhook.test',
        attempts: 1,
        lastStatus: null,
        lastError: 'connection failed: ECONNREFUSED',
        nextAttemptAt: null,
      }),
    ]);
    expect((await store.webhooks.status(['none']))[0]).toMatchObject({ delivered: 0, lastError: null });

    // Unclaimed (a stop interrupted it): due at once.
    const { deliveryId: second } = await store.webhooks.enqueueTest('c', 'admin');
    await store.webhooks.claim('c', 10, 60_000);
    await store.webhooks.unclaim([second]);
    expect((await store.webhooks.claim('c', 10, 60_000)).map((d) => d.id)).toEqual([second]);

    // Finished rows older than the retention go (a's delivered, c's failed); pending ones stay.
    expect(await store.webhooks.prune(later(1000))).toBe(2);
    const left = await store.webhooks.status(['a', 'b', 'c']);
    expect(left.map((s) => [s.webhook, s.delivered, s.pending, s.failed])).toEqual([
      ['a', 0, 0, 0],
      ['b', 0, 1, 0],
      ['c', 0, 1, 0],
    ]);
  });
});
