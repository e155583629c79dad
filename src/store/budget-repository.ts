/**
 * The Cloudflare token's call budget shared by every replica on this database. A replica
 * reserves slots before it calls; a reservation counts from when it is made for the whole
 * window (its slots may be spent a little later: the caller passes a window widened by that),
 * so the replicas' calls together never exceed the budget in any window.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { transact } from './locks.js';
import type { Database } from './schema.js';
import type { Dialect } from './migrations.js';

async function databaseNow(trx: Transaction<Database>): Promise<number> {
  const { rows } = await sql<{
    ms: string;
  }>`select floor(extract(epoch from clock_timestamp()) * 1000) as ms`.execute(trx);
  return Number(rows[0]!.ms);
}

/** `clock`: milliseconds since the epoch, a fake one in tests; by default the database's (PostgreSQL) or this process's. */
export function createBudgetRepository(db: Kysely<Database>, dialect: Dialect, clock?: () => number) {
  return {
    /** Up to `n` of `requests` per `windowMs` for `owner`; none left: when the oldest reservation leaves the window. */
    async reserve(
      owner: string,
      n: number,
      requests: number,
      windowMs: number,
    ): Promise<{ granted: number; retryInMs: number }> {
      return transact(db, async (trx) => {
        // One reservation at a time across replicas (SQLite serialises writers already).
        // A replica that holds the lock and stalls makes the others wait at most a moment: no
        // grant this time, and the caller asks again.
        if (dialect === 'postgres') {
          await sql`set local lock_timeout = '2s'`.execute(trx);
          try {
            await sql`select pg_advisory_xact_lock(hashtext('tunnelplane_rate_budget'))`.execute(trx);
          } catch (err) {
            if ((err as { code?: string }).code === '55P03') return { granted: 0, retryInMs: 250 };
            throw err;
          }
        }
        // Every replica counts in the database's time: their own clocks may disagree.
        const t = clock ? clock() : dialect === 'postgres' ? await databaseNow(trx) : Date.now();
        const since = new Date(t - windowMs).toISOString();
        await trx.deleteFrom('rate_grants').where('at', '<=', since).execute();
        const rows = await trx.selectFrom('rate_grants').select(['at', 'n']).orderBy('at').execute();
        const used = rows.reduce((sum, r) => sum + Number(r.n), 0);
        const granted = Math.max(0, Math.min(n, requests - used));
        if (granted > 0) {
          await trx
            .insertInto('rate_grants')
            .values({ owner, at: new Date(t).toISOString(), n: granted })
            .execute();
          return { granted, retryInMs: 0 };
        }
        const oldest = rows[0] ? Date.parse(rows[0].at) : t;
        return { granted: 0, retryInMs: Math.max(50, oldest + windowMs - t) };
      });
    },
  };
}

export type BudgetRepository = ReturnType<typeof createBudgetRepository>;
