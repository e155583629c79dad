/**
 * Browser sessions and sign-in flows. Only hashes of their secrets are keys (the cookie, the
 * `state` of an authorization request, the handle of a device sign-in); a flow is taken once:
 * `take` deletes it in the same statement that reads it, so a replayed state finds nothing.
 */
import type { Kysely } from 'kysely';
import type { Database, SessionsTable } from './schema.js';
import { now } from './rows.js';

export function createSessionsRepository(db: Kysely<Database>) {
  return {
    async create(s: SessionsTable) {
      await db.insertInto('sessions').values(s).execute();
    },
    /** A live session by its hash. */
    byHash: (idHash: string) =>
      db
        .selectFrom('sessions')
        .selectAll()
        .where('id_hash', '=', idHash)
        .where('expires_at', '>', now())
        .executeTakeFirst(),
    async remove(idHash: string) {
      await db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
    },
    async removeAllForUser(userId: string): Promise<number> {
      const res = await db.deleteFrom('sessions').where('user_id', '=', userId).executeTakeFirst();
      return Number(res.numDeletedRows);
    },

    async saveFlow(f: { idHash: string; kind: 'code' | 'device'; dataSealed: string; expiresAt: string }) {
      await db
        .insertInto('sign_in_flows')
        .values({ id_hash: f.idHash, kind: f.kind, data_sealed: f.dataSealed, expires_at: f.expiresAt })
        .execute();
    },
    /** A live flow, removed as it is read (a code flow: once; a device flow: `keepFlow` puts it back while pending). */
    async takeFlow(idHash: string, kind: 'code' | 'device'): Promise<string | null> {
      const row = await db
        .deleteFrom('sign_in_flows')
        .where('id_hash', '=', idHash)
        .where('kind', '=', kind)
        .returning(['data_sealed', 'expires_at'])
        .executeTakeFirst();
      return row && row.expires_at > now() ? row.data_sealed : null;
    },
    /** Rewrites a live flow's data (a device flow told to slow down keeps the longer interval). */
    async updateFlow(idHash: string, dataSealed: string) {
      await db
        .updateTable('sign_in_flows')
        .set({ data_sealed: dataSealed })
        .where('id_hash', '=', idHash)
        .execute();
    },
    /** Reads a flow without taking it. */
    async peekFlow(idHash: string, kind: 'code' | 'device'): Promise<string | null> {
      const row = await db
        .selectFrom('sign_in_flows')
        .select(['data_sealed', 'expires_at'])
        .where('id_hash', '=', idHash)
        .where('kind', '=', kind)
        .executeTakeFirst();
      return row && row.expires_at > now() ? row.data_sealed : null;
    },
    /** Expired sessions and flows go. */
    async sweep(): Promise<number> {
      const at = now();
      const a = await db.deleteFrom('sessions').where('expires_at', '<=', at).executeTakeFirst();
      const b = await db.deleteFrom('sign_in_flows').where('expires_at', '<=', at).executeTakeFirst();
      return Number(a.numDeletedRows) + Number(b.numDeletedRows);
    },
  };
}

export type SessionsRepository = ReturnType<typeof createSessionsRepository>;
