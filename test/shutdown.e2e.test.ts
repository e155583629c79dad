/**
 * A clean stop hands over promptly: requests waiting for convergence answer at once, every
 * answer given while closing ends its connection (an idle keep-alive connection would hold the
 * exit for its timeout), and the leases held are released so the next process needs no wait.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startStack } from './support/stack.js';

describe('a clean stop', () => {
  it('answers a waiting request at once, closing its connection, and releases its leases', async () => {
    const stack = await startStack();
    const fault = stack.cf.control.addFault({
      method: 'POST',
      path: '/accounts/*/cfd_tunnel',
      times: 1000,
      action: { type: 'error', status: 503 },
    });
    try {
      const waiting = stack.as('user1').post('/api/v1/tunnels?wait=60', {});
      // The request is being handled (its tunnel row exists) when the stop begins.
      for (
        let i = 0;
        i < 200 && (await stack.runtime.store.db.selectFrom('tunnels').select('id').execute()).length === 0;
        i++
      )
        await new Promise((r) => setTimeout(r, 25));
      const closing = stack.runtime.close();
      const res = await waiting;
      expect(res.status).toBe(202);
      expect(res.body.phase).toBe('pending');
      expect(res.headers.get('connection')).toBe('close');
      await closing;
    } finally {
      stack.cf.control.removeFault(fault);
    }
    // Nothing is left held: the next process claims and resyncs at once.
    const db = new Database(join(stack.dir, 'db.sqlite'), { readonly: true });
    expect(db.prepare('select * from leases').all()).toEqual([]);
    expect(db.prepare('select count(*) as n from tunnels where lease_owner is not null').get()).toEqual({
      n: 0,
    });
    db.close();
    await stack.restart();
    await stack.stop();
  });
});
