/**
 * The store: repositories over one database, each handed only to those who need it (the
 * composition root gives the server users, tokens, tunnels and events; the reconciler work,
 * resync, leases, settings and events). Only the store emits its signal (signals.ts).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { Dialect } from './migrations.js';
import { openDatabase, type DatabaseOptions, type HotReads } from './database.js';
import { createLocks } from './locks.js';
import { createSignals } from './signals.js';
import { createUsersRepository } from './users-repository.js';
import { createTokensRepository } from './tokens-repository.js';
import { createTeamsRepository } from './teams-repository.js';
import { createSessionsRepository } from './sessions-repository.js';
import { createHealthRepository } from './health-repository.js';
import { createTunnelsRepository } from './tunnels-repository.js';
import { createWorkRepository } from './work-repository.js';
import { createResyncRepository } from './resync-repository.js';
import { createEventsRepository } from './events-repository.js';
import { createLeasesRepository } from './leases-repository.js';
import { createSettingsRepository } from './settings-repository.js';
import { createBudgetRepository } from './budget-repository.js';
import { createWebhooksRepository } from './webhooks-repository.js';
import { createIdempotencyRepository } from './idempotency-repository.js';
import { createZoneGrantsRepository } from './zone-grants-repository.js';

export function createStore(db: Kysely<Database>, dialect: Dialect, hotReads?: HotReads) {
  const locks = createLocks(dialect);
  const signals = createSignals();
  const users = createUsersRepository(db, hotReads);
  return {
    dialect,
    db,
    /** Listen only: the repositories emit. */
    signals: { on: signals.on, off: signals.off },
    users,
    teams: createTeamsRepository(db, users),
    tokens: createTokensRepository(db),
    sessions: createSessionsRepository(db),
    health: createHealthRepository(db),
    tunnels: createTunnelsRepository(db, locks, signals),
    work: createWorkRepository(db, dialect, locks, signals),
    resync: createResyncRepository(db),
    events: createEventsRepository(db),
    leases: createLeasesRepository(db),
    settings: createSettingsRepository(db),
    budget: createBudgetRepository(db, dialect),
    webhooks: createWebhooksRepository(db),
    idempotency: createIdempotencyRepository(db),
    zoneGrants: createZoneGrantsRepository(db),
    /** Cheap liveness query for /readyz. */
    async ping() {
      await sql`select 1`.execute(db);
    },
  };
}

export type Store = ReturnType<typeof createStore>;

/** Opens, migrates and wraps a database in one step: what entrypoints and tests use. */
export async function connectStore(url: string, opts: DatabaseOptions & { migrate?: boolean } = {}) {
  const opened = openDatabase(url, opts);
  try {
    if (opts.migrate !== false) await opened.migrate();
  } catch (err) {
    await opened.close();
    throw err;
  }
  const store = createStore(opened.db, opened.dialect, opened.hotReads);
  return { store, migrate: opened.migrate, close: opened.close };
}
