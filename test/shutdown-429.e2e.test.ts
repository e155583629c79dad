/**
 * A clean stop right after Cloudflare answered 429 with Retry-After 60: the pass asleep in the
 * rate limiter is released at once, records nothing worse than "try again", holds no lease, and
 * the next process on the same database finishes its work.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { eventually, startStack } from './support/stack.js';

describe('a clean stop while Cloudflare has said 429 Retry-After 60', () => {
  // The test's own timeout is the bound: waiting out the Retry-After would take 60 s.
  it('ends the pass waiting in the rate limiter, leaving its tunnel pending for the next process', async () => {
    const stack = await startStack();
    const db = stack.runtime.store.db;
    stack.cf.control.addFault({
      method: 'POST',
      path: '/accounts/*/cfd_tunnel',
      times: 1,
      action: { type: 'error', status: 429, retryAfter: 60 },
    });
    await stack.as('user1').post('/api/v1/tunnels?wait=0', {});
    await eventually(() => stack.cf.control.requests({ method: 'POST', status: 429 }).length === 1);
    // The second tunnel's pass claims it, then waits in the limiter for the Retry-After.
    const second = await stack.as('user1').post('/api/v1/tunnels?wait=0', {});
    await eventually(async () => {
      const row = await db
        .selectFrom('tunnels')
        .select('lease_owner')
        .where('name', '=', second.body.name)
        .executeTakeFirst();
      return row?.lease_owner;
    });
    await new Promise((r) => setTimeout(r, 300));

    await stack.runtime.close();

    // Nothing went out while paused; the pass recorded a transient failure, not an error.
    expect(stack.cf.control.requests({ method: 'POST', pathPrefix: '/accounts/' })).toHaveLength(1);
    const file = new Database(join(stack.dir, 'db.sqlite'), { readonly: true });
    const row = file
      .prepare(
        'select phase, cf_tunnel_id, lease_owner, last_error_code, observed_generation < generation as dirty from tunnels where name = ?',
      )
      .get(second.body.name);
    expect(row).toEqual({
      phase: 'pending',
      cf_tunnel_id: null,
      lease_owner: null,
      last_error_code: 'cloudflare.transient',
      dirty: 1,
    });
    expect(file.prepare('select * from leases').all()).toEqual([]);
    file.close();

    // The next process picks it up at once and finishes it.
    await stack.restart();
    await eventually(
      async () => (await stack.as('user1').get(`/api/v1/tunnels/${second.body.name}`)).body.phase === 'ready',
    );
    await stack.stop();
  }, 30_000);
});
