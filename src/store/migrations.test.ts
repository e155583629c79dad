/**
 * Migration 0011_zones on a database with routes from before it (SQLite; the same SQL shape
 * serves PostgreSQL), and what 0013_tunnels_dirty's index is for.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { migrationProvider } from './migrations.js';
import type { Database } from './schema.js';
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

describe('0013_tunnels_dirty', () => {
  it("is what the reconciler's idle queries read, not every tunnel row", async () => {
    const path = join(dir, 'dirty.sqlite');
    const opened = openDatabase(`sqlite:${path}`);
    await opened.migrate();
    await opened.close();
    // The store's own queries, as it sends them, over a connection that records them.
    const sent: Array<{ sql: string; parameters: readonly unknown[] }> = [];
    const sqlite = new SqliteDatabase(path);
    const db = new Kysely<Database>({
      dialect: new SqliteDialect({ database: sqlite }),
      log: (e) => {
        if (e.level === 'query') sent.push({ sql: e.query.sql, parameters: e.query.parameters });
      },
    });
    try {
      const store = createStore(db, 'sqlite');
      const user = await store.users.create({ name: 'u', passwordHash: 'x', role: 'user' });
      for (const name of ['a', 'b', 'c'])
        await store.tunnels.create(
          { ownerId: user.id, name, configMode: 'local', secretSealed: 'sealed' },
          { tunnels: 5, routes: 5, protectedRoutes: 5, tcpRoutes: 5 },
          'test',
        );
      sent.length = 0;
      expect(await store.work.queueDepth()).toBe(3);
      expect(await store.work.nextDue()).toBeNull();
      expect(await store.work.claim('me', 10, 60_000)).toHaveLength(3);
      const reads = sent.filter((q) => q.sql.includes('generation > observed_generation'));
      expect(reads).toHaveLength(3);
      for (const q of reads) {
        const plan = plansOf(sqlite, q);
        expect(plan, q.sql).toMatch(/USING (COVERING )?INDEX tunnels_dirty/);
        // Scanning the partial index reads the dirty rows alone; any other read of tunnels reads them all.
        expect(plan, q.sql).not.toMatch(/SCAN tunnels(?! USING (COVERING )?INDEX tunnels_dirty)/);
      }
    } finally {
      await db.destroy();
    }
  });
});

function plansOf(sqlite: SqliteDatabase.Database, q: { sql: string; parameters: readonly unknown[] }) {
  return (
    sqlite.prepare(`explain query plan ${q.sql}`).all(...(q.parameters as unknown[])) as Array<{
      detail: string;
    }>
  )
    .map((p) => p.detail)
    .join('; ');
}
