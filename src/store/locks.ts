/**
 * PostgreSQL lock order, the same in every transaction so that none can wait in a cycle:
 *
 *   user row → tunnel rows (id order) → their owners' list versions (owner order)
 *   → the account's capacity (advisory, route creates only) → their routes
 *
 * The user row is taken FOR NO KEY UPDATE (quotas), which does not conflict with the KEY SHARE
 * that foreign-key checks take. A write to a route first locks its tunnel: the routes_version
 * trigger would lock the tunnel after the route otherwise, and a transaction that locks the
 * tunnel first (a tunnel deletion does) would close a cycle. SQLite serialises writers: nothing
 * to lock there. The list versions are bumped by triggers on every tunnel and route write; a
 * statement that writes routes of several owners would take them in the order it meets them,
 * so they are locked, in owner order, with the tunnels. Should a cycle happen anyway (a path
 * this order misses), `transact` tries the transaction again. A lock waited for longer than
 * `lock_timeout` (set on every connection: database.ts) fails the statement instead of
 * stalling every replica behind a paused one. test/pg-locks.e2e.test.ts holds this under load.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Dialect } from './migrations.js';
import type { Database } from './schema.js';
import { chunks, type Db } from './rows.js';

/** Deadlock (40P01) or serialization failure (40001): the transaction may simply run again. */
export const isRetryableConflict = (err: unknown) =>
  ['40P01', '40001'].includes((err as { code?: string } | null)?.code ?? '');

/** A transaction, run again (up to three times, after a short random pause) if PostgreSQL broke a cycle. */
export async function transact<T>(
  db: Kysely<Database>,
  fn: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(fn);
    } catch (err) {
      if (attempt >= 3 || !isRetryableConflict(err)) throw err;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
    }
  }
}

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
    /** The tunnels, then their owners' list versions; each in byte order, in chunks as JavaScript sorts. */
    async tunnels(trx: Db, tunnelIds: readonly string[]) {
      if (!pg || tunnelIds.length === 0) return;
      const owners = new Set<string>();
      for (const ids of chunks([...new Set(tunnelIds)].sort())) {
        const rows = await trx
          .selectFrom('tunnels')
          .select(['id', 'owner_id'])
          .where('id', 'in', ids)
          .orderBy(sql`id collate "C"`)
          .forNoKeyUpdate()
          .execute();
        for (const r of rows) owners.add(r.owner_id);
      }
      for (const ids of chunks([...owners].sort())) {
        await trx
          .selectFrom('tunnel_list_versions')
          .select('owner_id')
          .where('owner_id', 'in', ids)
          .orderBy(sql`owner_id collate "C"`)
          .forUpdate()
          .execute();
      }
    },
  };
}

export type Locks = ReturnType<typeof createLocks>;
