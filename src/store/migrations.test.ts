/** Migration 0011_zones on a database with routes from before it (SQLite; the same SQL shape serves PostgreSQL). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { migrationProvider } from './migrations.js';
import { createStore } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'tp-migrations-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('0011_zones', () => {
  it('gives existing routes the zone their hostname is one label under, and pins nobody', async () => {
    const opened = openDatabase(`sqlite:${join(dir, 'db.sqlite')}`);
    try {
      const migrator = new Migrator({ db: opened.db, provider: migrationProvider(opened.dialect) });
      const before = await migrator.migrateTo('0009_live');
      expect(before.error).toBeUndefined();
      const store = createStore(opened.db, opened.dialect);
      const user = await store.users.create({ name: 'old', passwordHash: 'x', role: 'user' });
      const tunnel = await store.tunnels.create(
        { ownerId: user.id, name: 'web', configMode: 'local', secretSealed: 'sealed' },
        { tunnels: 5, routes: 5, protectedRoutes: 5, tcpRoutes: 5 },
        'test',
      );
      const now = new Date().toISOString();
      const old: Array<[string, string]> = [
        ['r1', 'api-web.example.com'],
        ['r2', 'db-web.dev.example.co.uk'],
      ];
      for (const [id, hostname] of old)
        await opened.db
          .insertInto('routes')
          .values({
            id,
            tunnel_id: tunnel.id,
            name: hostname.split('-')[0]!,
            hostname,
            service: 'http://localhost:1',
            protocol: 'http',
            phase: 'ready',
            created_at: now,
            updated_at: now,
          } as never)
          .execute();
      expect(await opened.migrate()).toContain('0011_zones');
      const rows = await opened.db.selectFrom('routes').select(['id', 'zone']).orderBy('id').execute();
      expect(rows).toEqual([
        { id: 'r1', zone: 'example.com' },
        { id: 'r2', zone: 'dev.example.co.uk' },
      ]);
      expect(await store.zoneGrants.pinsOf([user.id])).toEqual([]);
    } finally {
      await opened.close();
    }
  });
});
