/**
 * The repositories over the schema: every read and write the server and the reconciler make.
 * They meet only here. Writes that belong together run in one transaction; desired-state
 * changes bump the tunnel's `generation` and wake the reconciler through `changes`.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { AppError, conflict, forbidden } from '../domain/errors.js';
import type { Database } from './schema.js';
import type { Dialect } from './migrations.js';
import { openDatabase } from './database.js';

/** A user, with the version of their tunnel list (`tunnel_list_versions`, 0 before their first tunnel). */
export type UserRow = Selectable<Database['users']> & { tunnels_version: number };
export type TokenRow = Selectable<Database['api_tokens']>;
export type TunnelRow = Selectable<Database['tunnels']>;
export type RouteRow = Selectable<Database['routes']>;
export type EventRow = Selectable<Database['events']>;

/** The columns the API shows and acts on: half of a route row, so lists read half as much. */
const ROUTE_VIEW_COLUMNS = [
  'id',
  'tunnel_id',
  'name',
  'hostname',
  'service',
  'protocol',
  'phase',
  'last_error',
  'deleting',
  'created_at',
  'access_app_id',
  'service_token_id',
  'allow_ips',
  'access_rule',
  'k8s_ready',
  'k8s_reason',
] as const;
export type RouteView = Pick<RouteRow, (typeof ROUTE_VIEW_COLUMNS)[number]>;

/** The columns a tunnel list shows (no secret, no reconciler bookkeeping). */
const TUNNEL_VIEW_COLUMNS = [
  'id',
  'owner_id',
  'name',
  'config_mode',
  'cf_tunnel_id',
  'generation',
  'observed_generation',
  'phase',
  'last_error',
  'deleting',
  'routes_version',
  'created_at',
] as const;
export type TunnelView = Pick<TunnelRow, (typeof TUNNEL_VIEW_COLUMNS)[number]>;
const TUNNEL_VIEW_SELECT = sql.raw(TUNNEL_VIEW_COLUMNS.join(', '));

type Db = Kysely<Database> | Transaction<Database>;

export interface Quotas {
  tunnels: number;
  routes: number;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface NewEvent {
  ownerId: string | null;
  actor: string;
  action: string;
  target: string;
  outcome: 'ok' | 'error';
  details?: Record<string, unknown>;
}

const now = () => new Date().toISOString();
const later = (ms: number) => new Date(Date.now() + ms).toISOString();

const encodeCursor = (parts: (string | number)[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
function decodeCursor(cursor: string | undefined): (string | number)[] | null {
  if (!cursor) return null;
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parts) && parts.every((p) => typeof p === 'string' || typeof p === 'number')) return parts;
  } catch {
    // fall through
  }
  throw new AppError('request.invalid', 400, 'The cursor is not one this server handed out.', { field: 'cursor' });
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint/.test(e?.message ?? '');
}

export function createStore(db: Kysely<Database>, dialect: Dialect) {
  const changes = new EventEmitter();
  changes.setMaxListeners(0);
  /** Tells in-process listeners (the reconciler, waiters) that desired or observed state moved. */
  const changed = (kind: 'desired' | 'observed', tunnelId: string) => changes.emit(kind, tunnelId);

  const lockUser = (trx: Db, userId: string) =>
    dialect === 'postgres'
      ? trx.selectFrom('users').select('id').where('id', '=', userId).forNoKeyUpdate().executeTakeFirst()
      : Promise.resolve();

  /**
   * PostgreSQL lock order, the same in every transaction so none can wait in a cycle: the user
   * row (FOR NO KEY UPDATE: it does not conflict with the KEY SHARE that foreign-key checks
   * take), then tunnel rows in id order, then their routes, then (by triggers only) the list
   * versions. A write to a route therefore first locks its tunnel: the routes_version trigger
   * would lock it after the route otherwise, and a transaction locking the tunnel first (as a
   * tunnel deletion does) would close a cycle. SQLite serialises writers: nothing to lock.
   */
  const lockTunnels = async (trx: Db, tunnelIds: string[]) => {
    if (dialect !== 'postgres' || tunnelIds.length === 0) return;
    await trx
      .selectFrom('tunnels')
      .select('id')
      .where('id', 'in', [...new Set(tunnelIds)].sort())
      .orderBy('id')
      .forNoKeyUpdate()
      .execute();
  };
  /** Writes routes (by id) after locking their tunnels, in one transaction. */
  const withRoutesLocked = async (routeIds: string[], fn: (trx: Db) => Promise<unknown>) => {
    if (routeIds.length === 0) return;
    if (dialect !== 'postgres') {
      await fn(db);
      return;
    }
    await db.transaction().execute(async (trx) => {
      const owners: string[] = [];
      for (let i = 0; i < routeIds.length; i += 500) {
        const rows = await trx.selectFrom('routes').select('tunnel_id').where('id', 'in', routeIds.slice(i, i + 500)).execute();
        owners.push(...rows.map((r) => r.tunnel_id));
      }
      await lockTunnels(trx, owners);
      await fn(trx);
    });
  };

  /** Live (not being deleted) tunnels and routes a user owns: what quotas count. */
  const countTunnels = async (trx: Db, ownerId: string) =>
    Number(
      (
        await trx
          .selectFrom('tunnels')
          .select(trx.fn.countAll<number>().as('n'))
          .where('owner_id', '=', ownerId)
          .where('deleting', '=', 0)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const countRoutes = async (trx: Db, ownerId: string) =>
    Number(
      (
        await trx
          .selectFrom('routes')
          .innerJoin('tunnels', 'tunnels.id', 'routes.tunnel_id')
          .select(trx.fn.countAll<number>().as('n'))
          .where('tunnels.owner_id', '=', ownerId)
          .where('routes.deleting', '=', 0)
          .executeTakeFirstOrThrow()
      ).n,
    );
  function checkQuota(resource: 'tunnels' | 'routes', used: number, limit: number) {
    if (used >= limit) {
      throw forbidden('quota.exceeded', `You have reached your quota of ${limit} ${resource}.`, { resource, limit, used });
    }
  }

  async function appendEvent(trx: Db, e: NewEvent) {
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

  /** Users with their tunnel list's version: one query, read before any tunnel it versions. */
  const selectUsers = () =>
    db
      .selectFrom('users')
      .leftJoin('tunnel_list_versions as v', 'v.owner_id', 'users.id')
      .selectAll('users')
      .select(sql<number>`coalesce(v.version, 0)`.as('tunnels_version'));

  const users = {
    byId: (id: string): Promise<UserRow | undefined> => selectUsers().where('users.id', '=', id).executeTakeFirst(),
    byName: (name: string): Promise<UserRow | undefined> => selectUsers().where('users.name', '=', name).executeTakeFirst(),
    list: (): Promise<UserRow[]> => selectUsers().orderBy('users.name').execute(),
    async create(u: { name: string; passwordHash: string; role: 'user' | 'admin' }): Promise<UserRow> {
      const row = {
        id: randomUUID(),
        name: u.name,
        password_hash: u.passwordHash,
        role: u.role,
        quota_tunnels: null,
        quota_routes: null,
        created_at: now(),
        updated_at: now(),
      };
      try {
        await db.insertInto('users').values(row).execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict('user.name_taken', `A user named ${u.name} already exists.`);
        throw err;
      }
      return { ...row, tunnels_version: 0 };
    },
    async update(id: string, patch: Partial<Pick<UserRow, 'password_hash' | 'role' | 'quota_tunnels' | 'quota_routes'>>) {
      await db.updateTable('users').set({ ...patch, updated_at: now() }).where('id', '=', id).execute();
    },
    async remove(id: string) {
      const owned = await db.selectFrom('tunnels').select(db.fn.countAll<number>().as('n')).where('owner_id', '=', id).executeTakeFirstOrThrow();
      if (Number(owned.n) > 0) {
        throw conflict('user.has_tunnels', 'The user still owns tunnels; delete them first.', { tunnels: Number(owned.n) });
      }
      await db.deleteFrom('users').where('id', '=', id).execute();
    },
    /** Tunnels (not being deleted) and routes (not being deleted) the user owns. */
    async usage(id: string): Promise<Quotas> {
      return { tunnels: await countTunnels(db, id), routes: await countRoutes(db, id) };
    },
  };

  const tokens = {
    async create(t: { userId: string; name: string; tokenHash: string; expiresAt: string | null }): Promise<TokenRow> {
      const row: TokenRow = {
        id: randomUUID(),
        user_id: t.userId,
        name: t.name,
        token_hash: t.tokenHash,
        created_at: now(),
        last_used_at: null,
        expires_at: t.expiresAt,
      };
      await db.insertInto('api_tokens').values(row).execute();
      return row;
    },
    byHash: (hash: string) => db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst(),
    listForUser: (userId: string) =>
      db.selectFrom('api_tokens').selectAll().where('user_id', '=', userId).orderBy('created_at').execute(),
    async remove(userId: string, id: string): Promise<boolean> {
      const res = await db.deleteFrom('api_tokens').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
      return Number(res.numDeletedRows) > 0;
    },
    async touch(id: string, at: string) {
      await db.updateTable('api_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
    },
  };

  /** Routes of the given tunnels, newest first within each tunnel (the ingress order). */
  function routesOf(tunnelIds: string[]): Promise<Map<string, RouteRow[]>> {
    return groupRoutes(tunnelIds, (chunk) =>
      db.selectFrom('routes').selectAll().where('tunnel_id', 'in', chunk).orderBy('created_at', 'desc').orderBy('id', 'desc').execute(),
    );
  }

  /** The same, with only the columns the API needs. */
  function routeViewsOf(tunnelIds: string[]): Promise<Map<string, RouteView[]>> {
    return groupRoutes(tunnelIds, (chunk) =>
      db
        .selectFrom('routes')
        .select(ROUTE_VIEW_COLUMNS)
        .where('tunnel_id', 'in', chunk)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute(),
    );
  }

  async function groupRoutes<R extends { tunnel_id: string }>(tunnelIds: string[], fetch: (chunk: string[]) => Promise<R[]>) {
    const out = new Map<string, R[]>(tunnelIds.map((id) => [id, []]));
    for (let i = 0; i < tunnelIds.length; i += 500) {
      for (const r of await fetch(tunnelIds.slice(i, i + 500))) out.get(r.tunnel_id)!.push(r);
    }
    return out;
  }

  async function bumpTunnel(trx: Db, tunnelId: string) {
    await trx
      .updateTable('tunnels')
      .set({
        generation: sql`generation + 1`,
        attempts: 0,
        next_attempt_at: null,
        updated_at: now(),
      })
      .where('id', '=', tunnelId)
      .execute();
  }

  const tunnels = {
    routesOf,
    routeViewsOf,
    byName: (name: string) => db.selectFrom('tunnels').selectAll().where('name', '=', name).executeTakeFirst(),
    byId: (id: string) => db.selectFrom('tunnels').selectAll().where('id', '=', id).executeTakeFirst(),

    async create(
      t: { ownerId: string; name: string; configMode: 'local' | 'remote'; secretSealed: string },
      quota: Quotas,
      actor: string,
    ): Promise<TunnelRow> {
      const row: TunnelRow = {
        id: randomUUID(),
        owner_id: t.ownerId,
        name: t.name,
        config_mode: t.configMode,
        secret_sealed: t.secretSealed,
        cf_tunnel_id: null,
        generation: 1,
        observed_generation: 0,
        phase: 'pending',
        last_error: null,
        deleting: 0,
        config_hash: null,
        config_version: null,
        routes_version: 0,
        attempts: 0,
        next_attempt_at: null,
        lease_owner: null,
        lease_until: null,
        created_at: now(),
        updated_at: now(),
      };
      try {
        await db.transaction().execute(async (trx) => {
          await lockUser(trx, t.ownerId);
          checkQuota('tunnels', await countTunnels(trx, t.ownerId), quota.tunnels);
          await trx.insertInto('tunnels').values(row).execute();
          await appendEvent(trx, {
            ownerId: t.ownerId,
            actor,
            action: 'tunnel.create',
            target: t.name,
            outcome: 'ok',
            details: { configMode: t.configMode },
          });
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict('tunnel.name_taken', `A tunnel named ${t.name} already exists.`);
        throw err;
      }
      changed('desired', row.id);
      return row;
    },

    async listForOwner(ownerId: string | null, limit: number, cursor?: string): Promise<Page<TunnelView>> {
      const after = decodeCursor(cursor) as [string, string] | null;
      // The API's hottest query, written as SQL: the query builder's compilation would cost as
      // much again as the statement itself (measured: 50 µs against 28 µs for ten rows).
      const where = [
        ...(ownerId ? [sql`owner_id = ${ownerId}`] : []),
        ...(after ? [sql`(created_at > ${after[0]} or (created_at = ${after[0]} and id > ${after[1]}))`] : []),
      ];
      const { rows } = await sql<TunnelView>`select ${TUNNEL_VIEW_SELECT} from tunnels ${
        where.length ? sql`where ${sql.join(where, sql` and `)}` : sql``
      } order by created_at, id limit ${limit + 1}`.execute(db);
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.created_at, last.id]) : null };
    },

    async markDeleting(tunnel: TunnelRow, actor: string) {
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('tunnels')
          .set({ deleting: 1, phase: 'deleting', last_error: null })
          .where('id', '=', tunnel.id)
          .execute();
        await trx.updateTable('routes').set({ deleting: 1, phase: 'deleting', updated_at: now() }).where('tunnel_id', '=', tunnel.id).execute();
        await bumpTunnel(trx, tunnel.id);
        await appendEvent(trx, { ownerId: tunnel.owner_id, actor, action: 'tunnel.delete', target: tunnel.name, outcome: 'ok' });
      });
      changed('desired', tunnel.id);
    },

    async addRoute(
      tunnel: TunnelRow,
      r: {
        name: string;
        hostname: string;
        service: string;
        protocol: string;
        allowIps?: string[] | null;
        access?: { emails: string[]; emailDomains: string[] } | null;
      },
      quota: Quotas,
      actor: string,
    ): Promise<RouteRow> {
      const row: RouteRow = {
        id: randomUUID(),
        tunnel_id: tunnel.id,
        name: r.name,
        hostname: r.hostname,
        service: r.service,
        protocol: r.protocol,
        phase: 'pending',
        last_error: null,
        deleting: 0,
        dns_record_id: null,
        dns_uncertain: 0,
        access_app_id: null,
        access_aud: null,
        access_policy_id: null,
        service_token_id: null,
        service_token_client_id: null,
        service_token_sealed: null,
        token_version: 0,
        access_uncertain: 0,
        rotate_requested: 0,
        k8s_hash: null,
        k8s_ready: 0,
        k8s_reason: null,
        allow_ips: r.allowIps ? JSON.stringify(r.allowIps) : null,
        access_rule: r.access ? JSON.stringify(r.access) : null,
        created_at: now(),
        updated_at: now(),
      };
      try {
        await db.transaction().execute(async (trx) => {
          await lockUser(trx, tunnel.owner_id);
          await lockTunnels(trx, [tunnel.id]);
          const current = await trx.selectFrom('tunnels').select(['deleting']).where('id', '=', tunnel.id).executeTakeFirst();
          if (!current || current.deleting) {
            throw conflict('tunnel.deleting', `Tunnel ${tunnel.name} is being deleted.`);
          }
          checkQuota('routes', await countRoutes(trx, tunnel.owner_id), quota.routes);
          await trx.insertInto('routes').values(row).execute();
          await bumpTunnel(trx, tunnel.id);
          await appendEvent(trx, {
            ownerId: tunnel.owner_id,
            actor,
            action: 'route.create',
            target: `${tunnel.name}/${r.name}`,
            outcome: 'ok',
            details: { hostname: r.hostname, service: r.service },
          });
        });
      } catch (err) {
        if (isUniqueViolation(err)) {
          const sameName = await db.selectFrom('routes').select('id').where('tunnel_id', '=', tunnel.id).where('name', '=', r.name).executeTakeFirst();
          if (sameName) throw conflict('route.name_taken', `Tunnel ${tunnel.name} already has a route named ${r.name}.`);
          throw conflict('route.hostname_taken', `The hostname ${r.hostname} is taken; choose another route name.`);
        }
        throw err;
      }
      changed('desired', tunnel.id);
      return row;
    },

    async markRoutesDeleting(tunnel: TunnelRow, routes: Array<Pick<RouteRow, 'id' | 'name' | 'hostname' | 'service'>>, actor: string) {
      if (routes.length === 0) return;
      await db.transaction().execute(async (trx) => {
        await lockTunnels(trx, [tunnel.id]);
        await trx
          .updateTable('routes')
          .set({ deleting: 1, phase: 'deleting', updated_at: now() })
          .where('id', 'in', routes.map((r) => r.id))
          .execute();
        await bumpTunnel(trx, tunnel.id);
        for (const r of routes) {
          await appendEvent(trx, {
            ownerId: tunnel.owner_id,
            actor,
            action: 'route.delete',
            target: `${tunnel.name}/${r.name}`,
            outcome: 'ok',
            details: { hostname: r.hostname, service: r.service },
          });
        }
      });
      changed('desired', tunnel.id);
    },

    async requestRotation(tunnel: TunnelRow, route: Pick<RouteRow, 'id' | 'name'>, actor: string) {
      await db.transaction().execute(async (trx) => {
        await lockTunnels(trx, [tunnel.id]);
        await trx.updateTable('routes').set({ rotate_requested: 1, updated_at: now() }).where('id', '=', route.id).execute();
        await bumpTunnel(trx, tunnel.id);
        await appendEvent(trx, { ownerId: tunnel.owner_id, actor, action: 'route.rotate_token', target: `${tunnel.name}/${route.name}`, outcome: 'ok' });
      });
      changed('desired', tunnel.id);
    },

    /** Route rows by id (for waiting); missing ids are gone. */
    routesById: (ids: string[]) =>
      ids.length === 0 ? Promise.resolve([]) : db.selectFrom('routes').selectAll().where('id', 'in', ids).execute(),

    async count(): Promise<{ tunnels: number; routes: number; dirty: number }> {
      const t = await db
        .selectFrom('tunnels')
        .select([
          db.fn.countAll<number>().as('n'),
          sql<number>`sum(case when generation > observed_generation or deleting = 1 then 1 else 0 end)`.as('dirty'),
        ])
        .executeTakeFirstOrThrow();
      const r = await db.selectFrom('routes').select(db.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      return { tunnels: Number(t.n), routes: Number(r.n), dirty: Number(t.dirty ?? 0) };
    },
  };

  /** What the reconciler reads and records. */
  const work = {
    /**
     * Claims up to `limit` tunnels whose desired state moved past what was observed, or that are
     * being deleted, and whose backoff has passed, with a lease so no other replica takes them.
     */
    async claim(owner: string, limit: number, leaseMs: number): Promise<TunnelRow[]> {
      const at = now();
      const candidates = db
        .selectFrom('tunnels')
        .select('id')
        .where((eb) => eb.or([eb('generation', '>', eb.ref('observed_generation')), eb('deleting', '=', 1)]))
        .where((eb) => eb.or([eb('next_attempt_at', 'is', null), eb('next_attempt_at', '<=', at)]))
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', at)]))
        .orderBy('updated_at')
        .limit(limit);
      const locked = dialect === 'postgres' ? candidates.forNoKeyUpdate().skipLocked() : candidates;
      return db
        .updateTable('tunnels')
        .set({ lease_owner: owner, lease_until: later(leaseMs) })
        .where('id', 'in', locked)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', at)]))
        .returningAll()
        .execute();
    },
    /** When the earliest backed-off tunnel becomes due (to sleep until then), or null. */
    async nextDue(): Promise<string | null> {
      const row = await db
        .selectFrom('tunnels')
        .select((eb) => eb.fn.min('next_attempt_at').as('due'))
        .where((eb) => eb.or([eb('generation', '>', eb.ref('observed_generation')), eb('deleting', '=', 1)]))
        .executeTakeFirst();
      return (row?.due as string | null | undefined) ?? null;
    },
    async release(tunnelId: string, owner: string) {
      await db
        .updateTable('tunnels')
        .set({ lease_owner: null, lease_until: null })
        .where('id', '=', tunnelId)
        .where('lease_owner', '=', owner)
        .execute();
    },
    async extend(tunnelIds: string[], owner: string, leaseMs: number) {
      if (tunnelIds.length === 0) return;
      await db
        .updateTable('tunnels')
        .set({ lease_until: later(leaseMs) })
        .where('id', 'in', tunnelIds)
        .where('lease_owner', '=', owner)
        .execute();
    },
    async setCloudflareId(tunnelId: string, cfTunnelId: string | null) {
      await db.updateTable('tunnels').set({ cf_tunnel_id: cfTunnelId, updated_at: now() }).where('id', '=', tunnelId).execute();
    },
    async setRouteDns(routeId: string, recordId: string | null, uncertain: boolean) {
      await withRoutesLocked([routeId], (trx) =>
        trx
          .updateTable('routes')
          .set({ dns_record_id: recordId, dns_uncertain: uncertain ? 1 : 0, updated_at: now() })
          .where('id', '=', routeId)
          .execute(),
      );
    },
    /** Records what the reconciler learned about a route's Access and Kubernetes objects. */
    async patchRoute(
      routeId: string,
      patch: Partial<
        Pick<
          RouteRow,
          | 'access_app_id'
          | 'access_aud'
          | 'access_policy_id'
          | 'service_token_id'
          | 'service_token_client_id'
          | 'service_token_sealed'
          | 'token_version'
          | 'access_uncertain'
          | 'rotate_requested'
          | 'k8s_hash'
          | 'k8s_ready'
          | 'k8s_reason'
        >
      >,
    ) {
      await withRoutesLocked([routeId], (trx) => trx.updateTable('routes').set({ ...patch, updated_at: now() }).where('id', '=', routeId).execute());
    },
    /** A route that cannot converge for a reason of its own; its tunnel goes on. */
    async routeError(routeId: string, message: string) {
      await withRoutesLocked([routeId], (trx) =>
        trx.updateTable('routes').set({ phase: 'error', last_error: message.slice(0, 1000), updated_at: now() }).where('id', '=', routeId).execute(),
      );
      const row = await db.selectFrom('routes').select('tunnel_id').where('id', '=', routeId).executeTakeFirst();
      if (row) changed('observed', row.tunnel_id);
    },
    async markRoutesUncertain(routeIds: string[]) {
      await withRoutesLocked(routeIds, (trx) => trx.updateTable('routes').set({ dns_uncertain: 1 }).where('id', 'in', routeIds).execute());
    },
    async setConfig(tunnelId: string, hash: string | null, version: number | null) {
      await db.updateTable('tunnels').set({ config_hash: hash, config_version: version }).where('id', '=', tunnelId).execute();
    },
    async deleteRoutes(routeIds: string[]) {
      await withRoutesLocked(routeIds, (trx) => trx.deleteFrom('routes').where('id', 'in', routeIds).execute());
    },
    /** The finalizer's last step: the row goes only once its external objects are gone. */
    async deleteTunnel(tunnel: TunnelRow) {
      await db.transaction().execute(async (trx) => {
        await lockTunnels(trx, [tunnel.id]);
        await trx.deleteFrom('routes').where('tunnel_id', '=', tunnel.id).execute();
        await trx.deleteFrom('tunnels').where('id', '=', tunnel.id).execute();
      });
      changed('observed', tunnel.id);
    },
    /** Records a converged pass: routes ready, the generation seen, the backoff cleared. */
    async converged(tunnel: TunnelRow, readyRouteIds: string[]) {
      await db.transaction().execute(async (trx) => {
        await lockTunnels(trx, [tunnel.id]);
        if (readyRouteIds.length > 0) {
          await trx
            .updateTable('routes')
            .set({ phase: 'ready', last_error: null, updated_at: now() })
            .where('id', 'in', readyRouteIds)
            .where('deleting', '=', 0)
            .execute();
        }
        await trx
          .updateTable('tunnels')
          .set({
            observed_generation: tunnel.generation,
            // The user may have asked for deletion while the pass ran: the row decides.
            phase: sql<TunnelRow['phase']>`case when deleting = 1 then 'deleting' else 'ready' end`,
            last_error: null,
            attempts: 0,
            next_attempt_at: null,
            updated_at: now(),
          })
          .where('id', '=', tunnel.id)
          .execute();
      });
      changed('observed', tunnel.id);
    },
    /** Records a failed pass and when to try again; terminal errors set phase `error`. */
    async failed(tunnel: TunnelRow, error: string, retryInMs: number, terminal: boolean, routeIds: string[] = []) {
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('tunnels')
          .set({
            phase: sql<TunnelRow['phase']>`case when deleting = 1 then 'deleting' else ${terminal ? 'error' : 'pending'} end`,
            last_error: error.slice(0, 1000),
            attempts: sql`attempts + 1`,
            next_attempt_at: later(retryInMs),
            updated_at: now(),
          })
          .where('id', '=', tunnel.id)
          .execute();
        if (routeIds.length > 0) {
          await trx
            .updateTable('routes')
            .set({ last_error: error.slice(0, 1000), phase: terminal ? 'error' : 'pending' })
            .where('id', 'in', routeIds)
            .where('deleting', '=', 0)
            .execute();
        }
      });
      changed('observed', tunnel.id);
    },
    /** Everything, for resync: compared against what Cloudflare holds. */
    /** What resync compares with the outside: only the columns it needs, for every row. */
    allTunnels: () =>
      db
        .selectFrom('tunnels')
        .select(['id', 'owner_id', 'name', 'cf_tunnel_id', 'deleting', 'config_mode', 'config_hash'])
        .execute(),
    /**
     * For resync, page by page: the routes at these hostnames (one listing page of DNS records),
     * with what deciding "orphan or intact" needs. Chunked so no statement exceeds the
     * databases' bound-parameter limits.
     */
    async routesAtHostnames(hostnames: string[]) {
      const out: Array<{
        id: string;
        hostname: string;
        deleting: number;
        dns_record_id: string | null;
        dns_uncertain: number;
        tunnel_cf_id: string | null;
      }> = [];
      for (let i = 0; i < hostnames.length; i += 500) {
        const chunk = hostnames.slice(i, i + 500);
        out.push(
          ...(await db
            .selectFrom('routes')
            .innerJoin('tunnels', 'tunnels.id', 'routes.tunnel_id')
            .select(['routes.id', 'routes.hostname', 'routes.deleting', 'routes.dns_record_id', 'routes.dns_uncertain', 'tunnels.cf_tunnel_id as tunnel_cf_id'])
            .where('routes.hostname', 'in', chunk)
            .execute()),
        );
      }
      return out;
    },
    /**
     * For resync: every route, `perPage` at a time in id order (keyset paging, so the caller
     * holds one page, not the installation), with the columns it compares and its tunnel's
     * name, deletion mark and Cloudflare id.
     */
    async *routePages(perPage: number) {
      for (let after: string | null = null; ; ) {
        let q = db
          .selectFrom('routes')
          .innerJoin('tunnels', 'tunnels.id', 'routes.tunnel_id')
          .select([
            'routes.id',
            'routes.tunnel_id',
            'routes.name',
            'routes.protocol',
            'routes.phase',
            'routes.deleting',
            'routes.dns_record_id',
            'routes.dns_uncertain',
            'routes.access_app_id',
            'routes.service_token_id',
            'routes.access_rule',
            'routes.k8s_hash',
            'tunnels.name as tunnel_name',
            'tunnels.deleting as tunnel_deleting',
            'tunnels.cf_tunnel_id as tunnel_cf_id',
          ]);
        if (after !== null) q = q.where('routes.id', '>', after);
        const page = await q.orderBy('routes.id').limit(perPage).execute();
        if (page.length > 0) yield page;
        if (page.length < perPage) return;
        after = page[page.length - 1]!.id;
      }
    },
    /** Marks every route of a tunnel uncertain (its Cloudflare tunnel vanished: look before writing). */
    async markTunnelRoutesUncertain(tunnelId: string) {
      await db.transaction().execute(async (trx) => {
        await lockTunnels(trx, [tunnelId]);
        await trx.updateTable('routes').set({ dns_uncertain: 1, updated_at: now() }).where('tunnel_id', '=', tunnelId).execute();
      });
    },
    /** Live TCP routes whose access pods were applied: the ones readiness is read for. */
    appliedAccessRoutes: () =>
      db
        .selectFrom('routes')
        .innerJoin('tunnels', 'tunnels.id', 'routes.tunnel_id')
        .select(['routes.id', 'routes.name', 'routes.k8s_ready', 'routes.k8s_reason', 'tunnels.name as tunnel_name'])
        .where('routes.protocol', 'in', ['tcp', 'ssh', 'rdp', 'smb'])
        .where('routes.deleting', '=', 0)
        .where('routes.k8s_hash', 'is not', null)
        .where('routes.k8s_hash', '!=', 'removed')
        .execute(),
    /** Marks a tunnel dirty again (resync found drift). */
    async requeue(tunnelId: string) {
      await bumpTunnel(db, tunnelId);
      changed('desired', tunnelId);
    },
    async getSetting(name: string): Promise<string | null> {
      const row = await db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirst();
      return row?.value ?? null;
    },
    async setSetting(name: string, value: string | null) {
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
    /** Routes carrying an allow-list (few; read whole for the zone's firewall rules). */
    allowListedRoutes: () =>
      db
        .selectFrom('routes')
        .innerJoin('tunnels', 'tunnels.id', 'routes.tunnel_id')
        .select(['routes.id', 'routes.hostname', 'routes.allow_ips', 'routes.deleting', 'routes.dns_record_id', 'routes.dns_uncertain', 'tunnels.deleting as tunnel_deleting'])
        .where('routes.allow_ips', 'is not', null)
        .execute(),
    async tryLease(name: string, owner: string, ms: number): Promise<boolean> {
      const at = now();
      const until = later(ms);
      const res = await db
        .insertInto('leases')
        .values({ name, owner, until })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet({ owner, until })
            .where((eb) => eb.or([eb('leases.until', '<', at), eb('leases.owner', '=', owner)])),
        )
        .executeTakeFirst();
      return Number(res.numInsertedOrUpdatedRows ?? 0) > 0;
    },
  };

  const events = {
    append: (e: NewEvent) => appendEvent(db, e),
    async list(ownerId: string | null, limit: number, cursor?: string): Promise<Page<EventRow>> {
      const before = decodeCursor(cursor);
      let q = db.selectFrom('events').selectAll();
      if (ownerId) q = q.where('owner_id', '=', ownerId);
      if (before) {
        const id = before[0];
        if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
          throw new AppError('request.invalid', 400, 'The cursor is not one this server handed out.', { field: 'cursor' });
        }
        q = q.where('id', '<', id);
      }
      const rows = await q.orderBy('id', 'desc').limit(limit + 1).execute();
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor([Number(last.id)]) : null };
    },
  };

  return {
    dialect,
    db,
    changes,
    users,
    tokens,
    tunnels,
    work,
    events,
    /** Cheap liveness query for /readyz. */
    async ping() {
      await sql`select 1`.execute(db);
    },
  };
}

export type Store = ReturnType<typeof createStore>;

/** Opens, migrates and wraps a database in one step: what entrypoints and tests use. */
export async function connectStore(url: string, opts: { migrate?: boolean; poolSize?: number } = {}) {
  const opened = openDatabase(url, opts);
  if (opts.migrate !== false) await opened.migrate();
  const store = createStore(opened.db, opened.dialect);
  return { store, migrate: opened.migrate, close: opened.close };
}
