/**
 * The answers to POSTs sent with an `Idempotency-Key`, per user: the first request claims the
 * key (a row without a status), stores its answer when it has one, or releases the key when it
 * failed in a way worth retrying (5xx, the database away). A retry with the same key and the
 * same request gets the stored answer; with another request, a refusal. Rows expire.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { isUniqueViolation, later, now } from './rows.js';

export interface StoredAnswer {
  status: number;
  body: string;
  location: string | null;
}

export type Claim =
  | { kind: 'claimed' }
  | { kind: 'replay'; answer: StoredAnswer }
  /** The first request with this key is still being answered (since when). */
  | { kind: 'running'; since: string }
  /** The key was used for another request (another method, path or body). */
  | { kind: 'mismatch' };

export function createIdempotencyRepository(db: Kysely<Database>) {
  const row = (userId: string, key: string) =>
    db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('user_id', '=', userId)
      .where('key', '=', key)
      .executeTakeFirst();
  const remove = (userId: string, key: string) =>
    db.deleteFrom('idempotency_keys').where('user_id', '=', userId).where('key', '=', key).execute();

  return {
    async claim(userId: string, key: string, fingerprint: string, ttlMs: number): Promise<Claim> {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await db
            .insertInto('idempotency_keys')
            .values({
              user_id: userId,
              key,
              fingerprint,
              status: null,
              body: null,
              location: null,
              created_at: now(),
              expires_at: later(ttlMs),
            })
            .execute();
          return { kind: 'claimed' };
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
        }
        const held = await row(userId, key);
        if (!held) continue; // released meanwhile: claim it
        if (held.expires_at <= now()) {
          await db
            .deleteFrom('idempotency_keys')
            .where('user_id', '=', userId)
            .where('key', '=', key)
            .where('expires_at', '=', held.expires_at)
            .execute();
          continue;
        }
        if (held.fingerprint !== fingerprint) return { kind: 'mismatch' };
        if (held.status === null) return { kind: 'running', since: held.created_at };
        return {
          kind: 'replay',
          answer: { status: held.status, body: held.body ?? '', location: held.location },
        };
      }
      return { kind: 'running', since: now() };
    },

    /** Lets go of a first request that never answered (its process is gone), if it is still that one. */
    async abandon(userId: string, key: string, since: string) {
      await db
        .deleteFrom('idempotency_keys')
        .where('user_id', '=', userId)
        .where('key', '=', key)
        .where('status', 'is', null)
        .where('created_at', '=', since)
        .execute();
    },

    async complete(userId: string, key: string, answer: StoredAnswer) {
      await db
        .updateTable('idempotency_keys')
        .set({ status: answer.status, body: answer.body, location: answer.location })
        .where('user_id', '=', userId)
        .where('key', '=', key)
        .execute();
    },

    release: remove,

    /** Forgets expired keys; answers how many. */
    async sweep(at = now()): Promise<number> {
      const r = await db.deleteFrom('idempotency_keys').where('expires_at', '<=', at).executeTakeFirst();
      return Number(r.numDeletedRows ?? 0);
    },
  };
}

export type IdempotencyRepository = ReturnType<typeof createIdempotencyRepository>;
