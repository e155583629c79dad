/**
 * Named leases (one replica at a time does the resync): short, renewed while the work goes on,
 * and released when it ends or the process stops cleanly, so a restarted process never waits
 * for a lease its predecessor held.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { later, now } from './rows.js';

export function createLeasesRepository(db: Kysely<Database>) {
  return {
    /** Takes the lease if it is free, expired, or already ours; true when we hold it. */
    async acquire(name: string, owner: string, ms: number): Promise<boolean> {
      const at = now();
      const until = later(ms);
      const res = await db
        .insertInto('leases')
        .values({ name, owner, until })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet({ owner, until })
            .where((eb) => eb.or([eb('leases.until', '<', at), eb('leases.owner', '=', owner)])),
        )
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    /** Extends a lease we hold; false when it is no longer ours. */
    async renew(name: string, owner: string, ms: number): Promise<boolean> {
      const res = await db
        .updateTable('leases')
        .set({ until: later(ms) })
        .where('name', '=', name)
        .where('owner', '=', owner)
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },
    async release(name: string, owner: string) {
      await db.deleteFrom('leases').where('name', '=', name).where('owner', '=', owner).execute();
    },
    /** Every lease of this owner: named ones and tunnel claims (a clean stop). */
    async releaseAll(owner: string) {
      await db.deleteFrom('leases').where('owner', '=', owner).execute();
      await db
        .updateTable('tunnels')
        .set({ lease_owner: null, lease_until: null })
        .where('lease_owner', '=', owner)
        .execute();
    },
  };
}

export type LeasesRepository = ReturnType<typeof createLeasesRepository>;
