/**
 * PostgreSQL lock order, the same in every transaction so that none can wait in a cycle:
 *
 *   user row → tunnel rows (id order) → the account's capacity (advisory, route creates only)
 *   → their routes → list versions (by triggers only)
 *
 * The user row is taken FOR NO KEY UPDATE (quotas), which does not conflict with the KEY SHARE
 * that foreign-key checks take. A write to a route first locks its tunnel: the routes_version
 * trigger would lock the tunnel after the route otherwise, and a transaction that locks the
 * tunnel first (a tunnel deletion does) would close a cycle. SQLite serialises writers: nothing
 * to lock there. test/pg-locks.e2e.test.ts holds this under load.
 */
import { sql } from 'kysely';
import type { Dialect } from './migrations.js';
import { chunks, type Db } from './rows.js';

export function createLocks(dialect: Dialect) {
  const pg = dialect === 'postgres';
  return {
    async user(trx: Db, userId: string) {
      if (pg) await trx.selectFrom('users').select('id').where('id', '=', userId).forNoKeyUpdate().execute();
    },
    /** The account's shared capacity (Access applications, service tokens): one writer at a time, last in the order. */
    async capacity(trx: Db) {
      if (pg) await sql`select pg_advisory_xact_lock(hashtext('tunnelplane_capacity'))`.execute(trx);
    },
    async tunnels(trx: Db, tunnelIds: readonly string[]) {
      if (!pg || tunnelIds.length === 0) return;
      for (const ids of chunks([...new Set(tunnelIds)].sort())) {
        await trx
          .selectFrom('tunnels')
          .select('id')
          .where('id', 'in', ids)
          .orderBy('id')
          .forNoKeyUpdate()
          .execute();
      }
    },
  };
}

export type Locks = ReturnType<typeof createLocks>;
