/**
 * The zones an admin lets a user or team use (issue 16; migration 0011): rows of (user, zone
 * name). Someone with no row may use every zone; the pure rule is domain/zones.ts `usableZones`.
 * A change replaces someone's whole set in one transaction, with its audit event.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { appendEvent, type NewEvent } from './events-repository.js';
import { now } from './rows.js';
import { transact } from './locks.js';

export function createZoneGrantsRepository(db: Kysely<Database>) {
  return {
    /** The zones pinned to any of these users or teams (distinct, sorted). */
    async pinsOf(userIds: readonly string[]): Promise<string[]> {
      if (userIds.length === 0) return [];
      const rows = await db
        .selectFrom('zone_grants')
        .select('zone')
        .distinct()
        .where('user_id', 'in', [...userIds])
        .orderBy('zone')
        .execute();
      return rows.map((r) => r.zone);
    },
    /** Replaces the zones pinned to one user or team (none: every zone again). */
    async setPins(userId: string, zones: readonly string[], event: NewEvent): Promise<void> {
      await transact(db, async (trx) => {
        await trx.deleteFrom('zone_grants').where('user_id', '=', userId).execute();
        if (zones.length > 0)
          await trx
            .insertInto('zone_grants')
            .values(zones.map((zone) => ({ user_id: userId, zone, created_at: now() })))
            .execute();
        await appendEvent(trx, event);
      });
    },
  };
}

export type ZoneGrantsRepository = ReturnType<typeof createZoneGrantsRepository>;
