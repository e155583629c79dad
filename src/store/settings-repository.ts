/** Small server-wide values: the installation id, whether allow-list WAF rules from before per-route Access remain. */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export function createSettingsRepository(db: Kysely<Database>) {
  return {
    async get(name: string): Promise<string | null> {
      const row = await db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirst();
      return row?.value ?? null;
    },
    async set(name: string, value: string | null) {
      if (value === null) {
        await db.deleteFrom('settings').where('name', '=', name).execute();
        return;
      }
      await db
        .insertInto('settings')
        .values({ name, value })
        .onConflict((oc) => oc.column('name').doUpdateSet({ value }))
        .execute();
    },
    /** Sets the value unless one is there (replicas may race); answers the value that is there. */
    async setOnce(name: string, value: string): Promise<string> {
      await db
        .insertInto('settings')
        .values({ name, value })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const row = await db
        .selectFrom('settings')
        .select('value')
        .where('name', '=', name)
        .executeTakeFirstOrThrow();
      return row.value;
    },
  };
}

export type SettingsRepository = ReturnType<typeof createSettingsRepository>;
