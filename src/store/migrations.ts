/** Schema migrations, in code so the binary carries them; each runs once, in order. */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/** The tunnel columns the API shows, as migration 0005 knew them: a change bumps the owner's list version. */
const LIST_COLUMNS_0005 = [
  'name',
  'config_mode',
  'cf_tunnel_id',
  'generation',
  'observed_generation',
  'phase',
  'last_error',
  'deleting',
  'routes_version',
  'owner_id',
];

/** Since 0009: the connectors' health and the expiry are shown too. */
const LIST_COLUMNS_0009 = [
  ...LIST_COLUMNS_0005,
  'connector_status',
  'connector_connections',
  'connector_checked_at',
  'expires_at',
];

/** The triggers that bump `tunnel_list_versions` when a shown column of a tunnel changes. */
async function createListVersionTriggers(db: Kysely<unknown>, dialect: Dialect, shown: readonly string[]) {
  const bump = (owners: string) =>
    `INSERT INTO tunnel_list_versions (owner_id, version) ${owners} ON CONFLICT (owner_id) DO UPDATE SET version = tunnel_list_versions.version + 1`;
  if (dialect === 'postgres') {
    // Statement-level: one bump per user per statement, rows taken in owner order. An UPDATE
    // trigger with transition tables takes no column list: the function compares the rows.
    const changed =
      `SELECT n.owner_id FROM new_tunnels n JOIN old_tunnels o ON o.id = n.id WHERE (${shown.map((c) => `n.${c}`).join(', ')}) IS DISTINCT FROM (${shown.map((c) => `o.${c}`).join(', ')}) ` +
      `UNION SELECT o.owner_id FROM new_tunnels n JOIN old_tunnels o ON o.id = n.id WHERE n.owner_id IS DISTINCT FROM o.owner_id`;
    const triggers = [
      ['insert', 'AFTER INSERT', 'NEW TABLE AS changed_tunnels', 'SELECT owner_id FROM changed_tunnels'],
      ['delete', 'AFTER DELETE', 'OLD TABLE AS changed_tunnels', 'SELECT owner_id FROM changed_tunnels'],
      ['update', 'AFTER UPDATE', 'OLD TABLE AS old_tunnels NEW TABLE AS new_tunnels', changed],
    ] as const;
    for (const [name, event, tables, owners] of triggers) {
      const fn = `tunnelplane_tunnel_list_version_${name}`;
      await sql
        .raw(
          `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ` +
            `${bump(`SELECT DISTINCT owner_id, 1 FROM (${owners}) AS owners ORDER BY owner_id`)}; RETURN NULL; END $$`,
        )
        .execute(db);
      await sql
        .raw(
          `CREATE TRIGGER tunnel_list_version_${name} ${event} ON tunnels REFERENCING ${tables} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
        )
        .execute(db);
    }
  } else {
    // (SQLite reads `INSERT … SELECT … ON CONFLICT` only with a WHERE clause.)
    const one = (owner: string, when = 'true') => bump(`SELECT ${owner}, 1 WHERE ${when}`);
    await sql
      .raw(
        `CREATE TRIGGER tunnel_list_version_insert AFTER INSERT ON tunnels BEGIN ${one('NEW.owner_id')}; END`,
      )
      .execute(db);
    await sql
      .raw(
        `CREATE TRIGGER tunnel_list_version_delete AFTER DELETE ON tunnels BEGIN ${one('OLD.owner_id')}; END`,
      )
      .execute(db);
    await sql
      .raw(
        `CREATE TRIGGER tunnel_list_version_update AFTER UPDATE OF ${shown.join(', ')} ON tunnels ` +
          `WHEN ${shown.map((c) => `NEW.${c} IS NOT OLD.${c}`).join(' OR ')} BEGIN ` +
          `${one('NEW.owner_id')}; ${one('OLD.owner_id', 'OLD.owner_id IS NOT NEW.owner_id')}; END`,
      )
      .execute(db);
  }
}

async function dropListVersionTriggers(db: Kysely<unknown>, dialect: Dialect) {
  for (const name of ['insert', 'delete', 'update']) {
    await sql
      .raw(`DROP TRIGGER IF EXISTS tunnel_list_version_${name}${dialect === 'postgres' ? ' ON tunnels' : ''}`)
      .execute(db);
    if (dialect === 'postgres')
      await sql.raw(`DROP FUNCTION IF EXISTS tunnelplane_tunnel_list_version_${name}()`).execute(db);
  }
}

/**
 * The triggers that bump a person's `auth_versions` row whenever what authenticates them and is
 * not on their `users` row changes: one of their API tokens (revoked, or its scopes, expiry or
 * owner changed; not its last use), their team memberships, a team's name. The authenticator
 * caches verified tokens and teams under that version (server/auth.ts).
 */
async function createAuthVersionTriggers(db: Kysely<unknown>, dialect: Dialect) {
  const bump = (users: string) =>
    `INSERT INTO auth_versions (user_id, version) ${users} ON CONFLICT (user_id) DO UPDATE SET version = auth_versions.version + 1`;
  const members = (team: string) =>
    `SELECT user_id, 1 FROM team_members WHERE team_id = ${team} ORDER BY user_id`;
  if (dialect === 'postgres') {
    const triggers = [
      [
        'tokens',
        'AFTER UPDATE OF user_id, token_hash, scopes, expires_at OR DELETE ON api_tokens',
        `IF TG_OP = 'UPDATE' THEN ${bump('SELECT DISTINCT u, 1 FROM (VALUES (OLD.user_id), (NEW.user_id)) AS t(u) ORDER BY u')}; ` +
          `ELSE ${bump('SELECT OLD.user_id, 1')}; END IF;`,
      ],
      [
        'members',
        'AFTER INSERT OR UPDATE OR DELETE ON team_members',
        `IF TG_OP <> 'INSERT' THEN ${bump('SELECT OLD.user_id, 1')}; END IF; ` +
          `IF TG_OP <> 'DELETE' THEN ${bump('SELECT NEW.user_id, 1')}; END IF;`,
      ],
      [
        'teams',
        'AFTER UPDATE OF name ON users',
        `IF NEW.kind = 'team' AND NEW.name IS DISTINCT FROM OLD.name THEN ${bump(members('NEW.id'))}; END IF;`,
      ],
    ] as const;
    for (const [name, event, body] of triggers) {
      const fn = `tunnelplane_auth_version_${name}`;
      await sql
        .raw(
          `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${body} RETURN NULL; END $$`,
        )
        .execute(db);
      await sql
        .raw(`CREATE TRIGGER auth_version_${name} ${event} FOR EACH ROW EXECUTE FUNCTION ${fn}()`)
        .execute(db);
    }
  } else {
    // (SQLite reads `INSERT … SELECT … ON CONFLICT` only with a WHERE clause.)
    const one = (user: string, when = 'true') => bump(`SELECT ${user}, 1 WHERE ${when}`);
    const triggers = [
      ['tokens_delete', 'AFTER DELETE ON api_tokens', one('OLD.user_id')],
      [
        'tokens_update',
        'AFTER UPDATE OF user_id, token_hash, scopes, expires_at ON api_tokens',
        `${one('OLD.user_id')}; ${one('NEW.user_id', 'NEW.user_id IS NOT OLD.user_id')}`,
      ],
      ['members_insert', 'AFTER INSERT ON team_members', one('NEW.user_id')],
      ['members_delete', 'AFTER DELETE ON team_members', one('OLD.user_id')],
      [
        'members_update',
        'AFTER UPDATE ON team_members',
        `${one('OLD.user_id')}; ${one('NEW.user_id', 'NEW.user_id IS NOT OLD.user_id')}`,
      ],
      [
        'teams',
        "AFTER UPDATE OF name ON users WHEN NEW.kind = 'team' AND NEW.name IS NOT OLD.name",
        bump(members('NEW.id').replace(' ORDER BY user_id', '')),
      ],
    ] as const;
    for (const [name, event, body] of triggers)
      await sql.raw(`CREATE TRIGGER auth_version_${name} ${event} BEGIN ${body}; END`).execute(db);
  }
}

const migrations = (dialect: Dialect): Record<string, Migration> => ({
  '0001_initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('quota_tunnels', 'integer')
        .addColumn('quota_routes', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .addColumn('expires_at', 'text')
        .execute();
      await db.schema.createIndex('api_tokens_user').on('api_tokens').column('user_id').execute();
      await db.schema
        .createTable('tunnels')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('config_mode', 'text', (c) => c.notNull())
        .addColumn('secret_sealed', 'text', (c) => c.notNull())
        .addColumn('cf_tunnel_id', 'text')
        .addColumn('generation', 'integer', (c) => c.notNull())
        .addColumn('observed_generation', 'integer', (c) => c.notNull())
        .addColumn('phase', 'text', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('deleting', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('config_hash', 'text')
        .addColumn('config_version', 'integer')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'text')
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('tunnels_owner')
        .on('tunnels')
        .columns(['owner_id', 'created_at', 'id'])
        .execute();
      await db.schema.createIndex('tunnels_created').on('tunnels').columns(['created_at', 'id']).execute();
      await db.schema.createIndex('tunnels_cf').on('tunnels').column('cf_tunnel_id').execute();
      await db.schema
        .createTable('routes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tunnel_id', 'text', (c) => c.notNull().references('tunnels.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('hostname', 'text', (c) => c.notNull().unique())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('phase', 'text', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addColumn('deleting', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('dns_record_id', 'text')
        .addColumn('dns_uncertain', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('routes_tunnel_name', ['tunnel_id', 'name'])
        .execute();
      await db.schema
        .createIndex('routes_tunnel')
        .on('routes')
        .columns(['tunnel_id', 'created_at'])
        .execute();
      await db.schema
        .createTable('events')
        .addColumn('id', dialect === 'postgres' ? sql`bigint` : 'integer', (c) =>
          dialect === 'postgres'
            ? c.primaryKey().generatedAlwaysAsIdentity()
            : c.primaryKey().autoIncrement(),
        )
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text')
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_owner').on('events').columns(['owner_id', 'id']).execute();
      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('until', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0002_tcp_access': {
    async up(db: Kysely<unknown>) {
      const columns: Array<[string, 'text' | 'integer']> = [
        ['access_app_id', 'text'],
        ['access_aud', 'text'],
        ['access_policy_id', 'text'],
        ['service_token_id', 'text'],
        ['service_token_client_id', 'text'],
        ['service_token_sealed', 'text'],
        ['k8s_hash', 'text'],
        ['k8s_reason', 'text'],
      ];
      for (const [name, type] of columns)
        await db.schema.alterTable('routes').addColumn(name, type).execute();
      for (const name of ['token_version', 'access_uncertain', 'rotate_requested', 'k8s_ready']) {
        await db.schema
          .alterTable('routes')
          .addColumn(name, 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      }
    },
  },
  '0003_allow_lists': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('routes').addColumn('allow_ips', 'text').execute();
      await db.schema.alterTable('routes').addColumn('access_rule', 'text').execute();
      await db.schema
        .createTable('settings')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  },
  /**
   * `tunnels.routes_version` changes whenever a route of the tunnel is inserted, updated or
   * deleted, by a trigger, so that no write path (API, reconciler, another replica, an
   * operator's SQL) can forget it. The API's response cache is keyed by it.
   */
  '0004_routes_version': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('tunnels')
        .addColumn('routes_version', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      if (dialect === 'postgres') {
        // Statement-level: each tunnel a statement touches is bumped once (in id order), not once
        // per route row, so a multi-route statement never re-locks its tunnel mid-statement.
        for (const [event, table] of [
          ['INSERT', 'NEW'],
          ['UPDATE', 'NEW'],
          ['DELETE', 'OLD'],
        ] as const) {
          const fn = `tunnelplane_routes_version_${event.toLowerCase()}`;
          await sql
            .raw(
              `CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ` +
                `PERFORM 1 FROM tunnels WHERE id IN (SELECT DISTINCT tunnel_id FROM changed_routes) ORDER BY id FOR NO KEY UPDATE; ` +
                `UPDATE tunnels SET routes_version = routes_version + 1 WHERE id IN (SELECT DISTINCT tunnel_id FROM changed_routes); ` +
                `RETURN NULL; END $$`,
            )
            .execute(db);
          await sql
            .raw(
              `CREATE TRIGGER routes_version_${event.toLowerCase()} AFTER ${event} ON routes ` +
                `REFERENCING ${table} TABLE AS changed_routes FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
            )
            .execute(db);
        }
      } else {
        for (const [event, row] of [
          ['INSERT', 'NEW'],
          ['UPDATE', 'NEW'],
          ['DELETE', 'OLD'],
        ] as const) {
          await sql
            .raw(
              `CREATE TRIGGER routes_version_${event.toLowerCase()} AFTER ${event} ON routes BEGIN ` +
                `UPDATE tunnels SET routes_version = routes_version + 1 WHERE id = ${row}.tunnel_id; END`,
            )
            .execute(db);
        }
      }
    },
  },
  /**
   * `tunnel_list_versions.version` (one row per user who ever owned a tunnel) changes whenever
   * one of the user's tunnels is created, deleted or changes a field the API shows (its
   * `routes_version` included, so a write to a route counts too), by triggers like 0004's. A
   * user's own tunnel list is cached under it; the query that authenticates a request reads it
   * with the user, so a cached page costs no query of its own. Lease and retry bookkeeping
   * (claims, attempts) leaves it alone. A table of its own, not a column of `users`: on
   * PostgreSQL the API locks the user row first (quotas) and the tunnel row next, so a trigger
   * locking the user row after a tunnel row would close a deadlock cycle; these rows are
   * always locked last.
   */
  '0005_tunnel_list_versions': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('tunnel_list_versions')
        .addColumn('owner_id', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();
      await createListVersionTriggers(db, dialect, LIST_COLUMNS_0005);
    },
  },
  /**
   * What the second round's safety work records: the Access policies last applied to a route's
   * application (a hash: protection is one object per route, see domain/access-policies.ts), a
   * service token's expiry (renewed before it comes), a stable code beside a route's error, the
   * Kubernetes objects' removal as a flag (was `k8s_hash = 'removed'`), and tombstones: the
   * names of tunnels and routes whose rows this installation deleted — what resync may collect
   * as provably ours (an object carrying our marker but no row nor tombstone is reported, never
   * deleted).
   */
  '0006_safety': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('routes').addColumn('access_policies_hash', 'text').execute();
      await db.schema.alterTable('routes').addColumn('service_token_expires_at', 'text').execute();
      await db.schema.alterTable('routes').addColumn('last_error_code', 'text').execute();
      await db.schema
        .alterTable('routes')
        .addColumn('k8s_removed', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await sql`update routes set k8s_removed = 1, k8s_hash = null where k8s_hash = 'removed'`.execute(db);
      await db.schema.alterTable('tunnels').addColumn('last_error_code', 'text').execute();
      await db.schema
        .createTable('tombstones')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('tombstones_pk', ['kind', 'name'])
        .execute();
      await db.schema.createIndex('tombstones_deleted').on('tombstones').column('deleted_at').execute();
    },
  },
  /**
   * The token's call budget shared by every replica: each reserves slots here before it calls
   * (providers/cloudflare/rate-limiter.ts), so that together they stay within it.
   */
  '0007_rate_grants': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('rate_grants')
        .addColumn('id', dialect === 'postgres' ? sql`bigint` : 'integer', (c) =>
          dialect === 'postgres'
            ? c.primaryKey().generatedAlwaysAsIdentity()
            : c.primaryKey().autoIncrement(),
        )
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('n', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('rate_grants_at').on('rate_grants').column('at').execute();
    },
  },
  /**
   * Identity (issue 14): a user may be disabled, may come from an OpenID provider (issuer +
   * subject, never the email alone), and may be a team: a principal that owns tunnels and has
   * members, in the same table so that ownership, quotas and list versions work unchanged.
   * Tokens carry scopes (rows made before carry their owner's full rights). Browser sessions
   * and sign-in flows (state, nonce, PKCE verifier; a device code) live here too, so that any
   * replica can finish what another began, and a used flow is gone (no replay).
   */
  '0008_identity': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('users')
        .addColumn('kind', 'text', (c) => c.notNull().defaultTo('person'))
        .execute();
      await db.schema
        .alterTable('users')
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('users').addColumn('oidc_issuer', 'text').execute();
      await db.schema.alterTable('users').addColumn('oidc_subject', 'text').execute();
      await db.schema.alterTable('users').addColumn('email', 'text').execute();
      await db.schema
        .createIndex('users_oidc')
        .on('users')
        .columns(['oidc_issuer', 'oidc_subject'])
        .unique()
        .execute();
      await db.schema
        .alterTable('api_tokens')
        .addColumn('scopes', 'text', (c) => c.notNull().defaultTo('read write admin'))
        .execute();
      await db.schema
        .createTable('team_members')
        .addColumn('team_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('team_members_pk', ['team_id', 'user_id'])
        .execute();
      await db.schema.createIndex('team_members_user').on('team_members').column('user_id').execute();
      await db.schema
        .createTable('sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('csrf', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
      await db.schema
        .createTable('sign_in_flows')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('data_sealed', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  /**
   * Live (issue 15): what Cloudflare says of each tunnel's connectors (status, connections, when
   * last confirmed and since when; shown, so the list-version triggers now watch them), when a
   * tunnel or route expires (`ttlSeconds`: reaped by the reconciler),
   * and webhook deliveries (one row per event and webhook: attempts, the last answer, when it
   * was delivered; a cursor per webhook in `settings`).
   */
  '0009_live': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('tunnels').addColumn('expires_at', 'text').execute();
      // What Cloudflare says of the tunnel's connectors (the health refresh writes them).
      for (const c of [
        'connector_status',
        'connector_connections',
        'connector_checked_at',
        'connector_since',
      ])
        await db.schema.alterTable('tunnels').addColumn(c, 'text').execute();
      await db.schema
        .alterTable('tunnels')
        .addColumn('never_connected_reported', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await dropListVersionTriggers(db, dialect);
      await createListVersionTriggers(db, dialect, LIST_COLUMNS_0009);
      await db.schema.alterTable('routes').addColumn('expires_at', 'text').execute();
      await db.schema.createIndex('tunnels_expires').on('tunnels').column('expires_at').execute();
      await db.schema.createIndex('routes_expires').on('routes').column('expires_at').execute();
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', dialect === 'postgres' ? sql`bigint` : 'integer', (c) =>
          dialect === 'postgres'
            ? c.primaryKey().generatedAlwaysAsIdentity()
            : c.primaryKey().autoIncrement(),
        )
        .addColumn('webhook', 'text', (c) => c.notNull())
        .addColumn('event_id', 'integer', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'text')
        .addColumn('last_status', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('delivered_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addUniqueConstraint('webhook_deliveries_once', ['webhook', 'event_id'])
        .execute();
      await db.schema
        .createIndex('webhook_deliveries_due')
        .on('webhook_deliveries')
        .columns(['delivered_at', 'next_attempt_at'])
        .execute();
    },
  },
  /**
   * Routes (issue 16): a route's own generation (the `If-Match` of a PATCH) and its cloudflared
   * origin options (JSON), and the answers to POSTs sent with an `Idempotency-Key` (per user,
   * kept `api.idempotencyHours`).
   */
  '0010_routes': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('routes')
        .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema.alterTable('routes').addColumn('origin_request', 'text').execute();
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('body', 'text')
        .addColumn('location', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['user_id', 'key'])
        .execute();
      await db.schema
        .createIndex('idempotency_keys_expires')
        .on('idempotency_keys')
        .column('expires_at')
        .execute();
    },
  },
  /**
   * Zones (issue 16): each route names the zone its record lives in. Existing rows get the zone
   * they were made under: their hostname is one label under it (`<label>.<zone>`), which is the
   * proof of concept's single zone, now the default. And the zones an admin lets a user or team
   * use (no row for someone: every zone), kept by zone name.
   */
  '0011_zones': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('routes')
        .addColumn('zone', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      await sql
        .raw(
          dialect === 'postgres'
            ? "UPDATE routes SET zone = substring(hostname from position('.' in hostname) + 1)"
            : "UPDATE routes SET zone = substr(hostname, instr(hostname, '.') + 1)",
        )
        .execute(db);
      await db.schema.createIndex('routes_zone').on('routes').column('zone').execute();
      await db.schema
        .createTable('zone_grants')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('zone', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('zone_grants_pk', ['user_id', 'zone'])
        .execute();
    },
  },
  /**
   * Performance (issue 19): `auth_versions`, one row per person whose tokens or team
   * memberships ever changed, bumped by triggers (createAuthVersionTriggers), so that a verified
   * token and a person's teams can be cached under it and re-read only when it changes —
   * whoever made the change (this replica, another, an operator's SQL).
   */
  '0012_auth_versions': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('auth_versions')
        .addColumn('user_id', 'text', (c) => c.primaryKey())
        .addColumn('version', 'integer', (c) => c.notNull())
        .execute();
      await createAuthVersionTriggers(db, dialect);
    },
  },
  /**
   * Performance (issue 19): the dirty tunnels, the only ones the reconciler's idle loop asks
   * about (claim, next backoff due, queue depth, every `pollMs`), in a partial index that is empty
   * when nothing is to do: without it each of those was a scan of every tunnel row (with 10,000
   * tunnels, ~14 ms a second of an idle server's CPU). The predicate is written exactly as the
   * queries write it (rows.ts `DIRTY`): SQLite uses a partial index only for a query
   * whose WHERE holds the index's own terms.
   */
  '0013_tunnels_dirty': {
    async up(db: Kysely<unknown>) {
      await sql`create index tunnels_dirty on tunnels (updated_at, id) where generation > observed_generation or deleting = 1`.execute(
        db,
      );
    },
  },
});

export const migrationProvider = (dialect: Dialect): MigrationProvider => ({
  async getMigrations() {
    return migrations(dialect);
  },
});
