/** API tokens: only their SHA-256 is kept. */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import { now, type TokenRow } from './rows.js';

export function createTokensRepository(db: Kysely<Database>) {
  return {
    async create(t: {
      userId: string;
      name: string;
      tokenHash: string;
      expiresAt: string | null;
      scopes: string;
    }): Promise<TokenRow> {
      const row: TokenRow = {
        id: randomUUID(),
        user_id: t.userId,
        name: t.name,
        token_hash: t.tokenHash,
        created_at: now(),
        last_used_at: null,
        expires_at: t.expiresAt,
        scopes: t.scopes,
      };
      await db.insertInto('api_tokens').values(row).execute();
      return row;
    },
    byHash: (hash: string) =>
      db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst(),
    listForUser: (userId: string) =>
      db.selectFrom('api_tokens').selectAll().where('user_id', '=', userId).orderBy('created_at').execute(),
    async remove(userId: string, id: string): Promise<boolean> {
      const res = await db
        .deleteFrom('api_tokens')
        .where('id', '=', id)
        .where('user_id', '=', userId)
        .executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
    /** Every token of the user (a password change may revoke them); answers how many. */
    async removeAllForUser(userId: string): Promise<number> {
      const res = await db.deleteFrom('api_tokens').where('user_id', '=', userId).executeTakeFirst();
      return Number(res.numDeletedRows);
    },
    async touch(id: string, at: string) {
      await db.updateTable('api_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
    },
  };
}

export type TokensRepository = ReturnType<typeof createTokensRepository>;
