/** The audit trail: who did what, and what the reconciler did. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { decodeIdCursor, encodeCursor, now, type Db, type EventRow, type Page } from './rows.js';

export interface NewEvent {
  ownerId: string | null;
  actor: string;
  action: string;
  target: string;
  outcome: 'ok' | 'error';
  details?: Record<string, unknown>;
}

/** Appends an event inside the caller's transaction (desired-state writes carry theirs). */
export async function appendEvent(trx: Db, e: NewEvent) {
  await trx
    .insertInto('events')
    .values({
      at: now(),
      owner_id: e.ownerId,
      actor: e.actor,
      action: e.action,
      target: e.target,
      outcome: e.outcome,
      details: JSON.stringify(e.details ?? {}),
    })
    .execute();
}

export function createEventsRepository(db: Kysely<Database>) {
  return {
    append: (e: NewEvent) => appendEvent(db, e),
    /** Deletes events older than `before` (RFC 3339), at most `limit` of them; answers how many. */
    async prune(before: string, limit = 10_000): Promise<number> {
      const oldest = db.selectFrom('events').select('id').where('at', '<', before).orderBy('id').limit(limit);
      const res = await db.deleteFrom('events').where('id', 'in', oldest).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
    /** Oldest first: events after `afterId` (of these owners, or everyone's: null), at most `limit`. */
    after: (ownerIds: string[] | null, afterId: number, limit: number): Promise<EventRow[]> => {
      let q = db.selectFrom('events').selectAll().where('id', '>', afterId);
      if (ownerIds) q = q.where('owner_id', 'in', ownerIds);
      return q.orderBy('id').limit(limit).execute();
    },
    /** The newest event's id (0 when there is none). */
    async latestId(): Promise<number> {
      const r = await db.selectFrom('events').select(db.fn.max('id').as('id')).executeTakeFirst();
      return Number(r?.id ?? 0);
    },
    /** Newest first: the events of these owners (a person and their teams), or everyone's (null). */
    async list(ownerIds: string[] | null, limit: number, cursor?: string): Promise<Page<EventRow>> {
      const before = decodeIdCursor(cursor);
      let q = db.selectFrom('events').selectAll();
      if (ownerIds) q = q.where('owner_id', 'in', ownerIds);
      if (before !== null) q = q.where('id', '<', before);
      const rows = await q
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor([Number(last.id)]) : null };
    },
  };
}

export type EventsRepository = ReturnType<typeof createEventsRepository>;
