/**
 * Tunnels and routes as the API changes them: each desired-state write is one transaction that
 * checks the owner's quotas and the account's capacity, bumps the tunnel's `generation` and
 * appends its audit event, then signals `desired` so the reconciler wakes. Reads are
 * tunnels-reads.ts; the reconciler's side is work-repository.ts.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { AppError } from '../domain/errors.js';
import type { AccessRule, ConfigMode } from '../domain/model.js';
import type { OriginRequest } from '../domain/origin-request.js';
import type { Database } from './schema.js';
import { transact, type Locks } from './locks.js';
import type { SignalEmitter } from './signals.js';
import { appendEvent } from './events-repository.js';
import { countHeld, countRoutes, countTunnels, TCP_LIKE_PROTOCOLS } from './users-repository.js';
import {
  isUniqueViolation,
  now,
  type AccountCapacity,
  type Db,
  type Quotas,
  type RouteRow,
  type TunnelRow,
} from './rows.js';

export interface NewRoute {
  name: string;
  hostname: string;
  /** The zone the hostname is one label under. */
  zone: string;
  service: string;
  protocol: string;
  allowIps?: string[] | null;
  access?: AccessRule | null;
  originRequest?: OriginRequest | null;
  /** When the route is deleted by itself (RFC 3339); none: never. */
  expiresAt?: string | null;
}

/** What a PATCH changes of a route (absent: unchanged; null: cleared). */
export interface RouteChanges {
  service?: { service: string; protocol: string };
  allowIps?: string[] | null;
  access?: AccessRule | null;
  originRequest?: OriginRequest | null;
}

/** The generation `If-Match` named is not the object's: someone changed it since it was read. */
export const preconditionFailed = (what: string, generation: number) =>
  new AppError(
    'request.precondition_failed',
    `${what} changed since you read it (it is at generation ${generation}); read it again and retry.`,
    { generation },
  );

const QUOTA_WORDS: Record<keyof Quotas, string> = {
  tunnels: 'tunnels',
  routes: 'routes',
  protectedRoutes: 'protected routes (Access, allow-lists, TCP)',
  tcpRoutes: 'TCP routes',
};

function checkQuota(resource: keyof Quotas, used: number, limit: number) {
  if (used >= limit) {
    throw new AppError(
      'quota.exceeded',
      `You have reached your quota of ${limit} ${QUOTA_WORDS[resource]}.`,
      {
        resource,
        limit,
        used,
      },
    );
  }
}

function checkCapacity(resource: keyof AccountCapacity, used: number, limit: number) {
  if (used >= limit) {
    const what =
      resource === 'serviceTokens'
        ? 'service tokens (one per TCP route)'
        : 'Access applications (one per protected route)';
    throw new AppError(
      'capacity.exhausted',
      `The Cloudflare account has no room for another route of this kind: ${used} of its ${limit} ${what} are in use. Delete unused routes, or ask the operator.`,
      {
        resource,
        limit,
        used,
      },
    );
  }
}

/** Bumps the desired generation (and clears the backoff: a new change is tried at once). */
export async function bumpTunnel(trx: Db, tunnelId: string) {
  await trx
    .updateTable('tunnels')
    .set({ generation: sql`generation + 1`, attempts: 0, next_attempt_at: null, updated_at: now() })
    .where('id', '=', tunnelId)
    .execute();
}

export function createTunnelWrites(db: Kysely<Database>, locks: Locks, signals: SignalEmitter) {
  /** One more protected route (and TCP route) fits the owner's quotas and the account's capacity. */
  async function checkProtected(
    trx: Db,
    ownerId: string,
    tcp: boolean,
    quota: Quotas,
    capacity: AccountCapacity,
  ) {
    checkQuota('protectedRoutes', await countRoutes(trx, ownerId, 'protected'), quota.protectedRoutes);
    if (tcp) checkQuota('tcpRoutes', await countRoutes(trx, ownerId, 'tcp'), quota.tcpRoutes);
    await locks.capacity(trx);
    checkCapacity('accessApplications', await countHeld(trx, 'protected'), capacity.accessApplications);
    if (tcp) checkCapacity('serviceTokens', await countHeld(trx, 'tcp'), capacity.serviceTokens);
  }

  const writes = {
    async create(
      t: {
        ownerId: string;
        name: string;
        configMode: ConfigMode;
        secretSealed: string;
        expiresAt?: string | null;
      },
      quota: Quotas,
      actor: string,
    ): Promise<TunnelRow> {
      const row: TunnelRow = {
        expires_at: t.expiresAt ?? null,
        connector_status: null,
        connector_connections: null,
        connector_checked_at: null,
        connector_since: null,
        never_connected_reported: 0,
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
        last_error_code: null,
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
        await transact(db, async (trx) => {
          await locks.user(trx, t.ownerId);
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
        if (isUniqueViolation(err))
          throw new AppError('tunnel.name_taken', `A tunnel named ${t.name} already exists.`);
        throw err;
      }
      signals.desiredChanged(row.id, row.owner_id);
      return row;
    },

    async markDeleting(tunnel: TunnelRow, actor: string, action = 'tunnel.delete') {
      await transact(db, async (trx) => {
        await trx
          .updateTable('tunnels')
          .set({ deleting: 1, phase: 'deleting', last_error: null, last_error_code: null })
          .where('id', '=', tunnel.id)
          .execute();
        await trx
          .updateTable('routes')
          .set({ deleting: 1, phase: 'deleting', updated_at: now() })
          .where('tunnel_id', '=', tunnel.id)
          .execute();
        await bumpTunnel(trx, tunnel.id);
        await appendEvent(trx, {
          ownerId: tunnel.owner_id,
          actor,
          action,
          target: tunnel.name,
          outcome: 'ok',
        });
      });
      signals.desiredChanged(tunnel.id, tunnel.owner_id);
    },

    /**
     * A new route, within the owner's quotas and the account's capacity (both checked in the
     * writing transaction; the account's under one lock, so two owners racing for the last
     * application cannot both get it).
     */
    async addRoute(
      tunnel: TunnelRow,
      r: NewRoute,
      quota: Quotas,
      capacity: AccountCapacity,
      actor: string,
    ): Promise<RouteRow> {
      const row: RouteRow = {
        expires_at: r.expiresAt ?? null,
        id: randomUUID(),
        tunnel_id: tunnel.id,
        name: r.name,
        hostname: r.hostname,
        zone: r.zone,
        service: r.service,
        protocol: r.protocol,
        phase: 'pending',
        last_error: null,
        last_error_code: null,
        deleting: 0,
        dns_record_id: null,
        dns_uncertain: 0,
        access_app_id: null,
        access_aud: null,
        access_policy_id: null,
        access_policies_hash: null,
        service_token_id: null,
        service_token_client_id: null,
        service_token_sealed: null,
        service_token_expires_at: null,
        token_version: 0,
        access_uncertain: 0,
        rotate_requested: 0,
        k8s_hash: null,
        k8s_removed: 0,
        k8s_ready: 0,
        k8s_reason: null,
        allow_ips: r.allowIps ? JSON.stringify(r.allowIps) : null,
        access_rule: r.access ? JSON.stringify(r.access) : null,
        origin_request: r.originRequest ? JSON.stringify(r.originRequest) : null,
        generation: 1,
        created_at: now(),
        updated_at: now(),
      };
      try {
        await transact(db, async (trx) => {
          await locks.user(trx, tunnel.owner_id);
          await locks.tunnels(trx, [tunnel.id]);
          const current = await trx
            .selectFrom('tunnels')
            .select(['deleting'])
            .where('id', '=', tunnel.id)
            .executeTakeFirst();
          if (!current || current.deleting)
            throw new AppError('tunnel.deleting', `Tunnel ${tunnel.name} is being deleted.`);
          checkQuota('routes', await countRoutes(trx, tunnel.owner_id), quota.routes);
          const tcp = TCP_LIKE_PROTOCOLS.includes(r.protocol);
          if (tcp || r.access || r.allowIps) await checkProtected(trx, tunnel.owner_id, tcp, quota, capacity);
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
          const sameName = await db
            .selectFrom('routes')
            .select('id')
            .where('tunnel_id', '=', tunnel.id)
            .where('name', '=', r.name)
            .executeTakeFirst();
          if (sameName)
            throw new AppError(
              'route.name_taken',
              `Tunnel ${tunnel.name} already has a route named ${r.name}.`,
            );
          throw new AppError(
            'route.hostname_taken',
            `The hostname ${r.hostname} is taken; choose another route name.`,
          );
        }
        throw err;
      }
      signals.desiredChanged(tunnel.id, tunnel.owner_id);
      return row;
    },

    /**
     * Changes what a route asks for in place: its hostname and record stay. `ifGeneration`
     * (the client's `If-Match`) must be the route's generation; a route that becomes protected
     * must fit the owner's quotas and the account's capacity. Answers the route as written.
     */
    async updateRoute(
      tunnel: TunnelRow,
      routeId: string,
      changes: RouteChanges,
      ifGeneration: number | null,
      quota: Quotas,
      capacity: AccountCapacity,
      actor: string,
    ): Promise<RouteRow> {
      const row = await transact(db, async (trx) => {
        await locks.user(trx, tunnel.owner_id);
        await locks.tunnels(trx, [tunnel.id]);
        const current = await trx
          .selectFrom('routes')
          .selectAll()
          .where('id', '=', routeId)
          .executeTakeFirst();
        if (!current || current.deleting)
          throw new AppError('route.not_found', `Tunnel ${tunnel.name} has no route with that name.`);
        if (ifGeneration !== null && ifGeneration !== current.generation)
          throw preconditionFailed(`Route ${current.name}`, current.generation);
        const set: Partial<RouteRow> = {};
        if (changes.service) {
          set.service = changes.service.service;
          set.protocol = changes.service.protocol;
        }
        if (changes.allowIps !== undefined)
          set.allow_ips = changes.allowIps ? JSON.stringify(changes.allowIps) : null;
        if (changes.access !== undefined)
          set.access_rule = changes.access ? JSON.stringify(changes.access) : null;
        if (changes.originRequest !== undefined)
          set.origin_request = changes.originRequest ? JSON.stringify(changes.originRequest) : null;
        const changed = (Object.keys(set) as (keyof RouteRow)[]).filter((k) => set[k] !== current[k]);
        if (changed.length === 0) return current;
        const tcp = TCP_LIKE_PROTOCOLS.includes(current.protocol);
        const wasProtected = tcp || !!current.access_rule || !!current.allow_ips;
        const after = { ...current, ...set };
        if (!wasProtected && (after.access_rule || after.allow_ips))
          await checkProtected(trx, tunnel.owner_id, false, quota, capacity);
        // Pending until the reconciler has made Cloudflare (and Kubernetes) say what it now asks.
        const next = {
          ...current,
          ...set,
          phase: 'pending' as const,
          generation: current.generation + 1,
          updated_at: now(),
        };
        await trx
          .updateTable('routes')
          .set({ ...set, phase: 'pending', generation: next.generation, updated_at: next.updated_at })
          .where('id', '=', routeId)
          .execute();
        await bumpTunnel(trx, tunnel.id);
        await appendEvent(trx, {
          ownerId: tunnel.owner_id,
          actor,
          action: 'route.update',
          target: `${tunnel.name}/${current.name}`,
          outcome: 'ok',
          details: {
            changed: changed
              .map((k) => (k === 'protocol' ? 'service' : k))
              .filter((k, i, a) => a.indexOf(k) === i),
          },
        });
        return next;
      });
      signals.desiredChanged(tunnel.id, tunnel.owner_id);
      return row;
    },

    /** A tunnel's configuration moves from local to remote (Cloudflare's one-way migration). */
    async updateTunnel(
      tunnel: TunnelRow,
      changes: { configMode?: ConfigMode },
      ifGeneration: number | null,
      actor: string,
    ): Promise<TunnelRow> {
      const row = await transact(db, async (trx) => {
        await locks.tunnels(trx, [tunnel.id]);
        const current = await trx
          .selectFrom('tunnels')
          .selectAll()
          .where('id', '=', tunnel.id)
          .executeTakeFirst();
        if (!current || current.deleting)
          throw new AppError('tunnel.deleting', `Tunnel ${tunnel.name} is being deleted.`);
        if (ifGeneration !== null && ifGeneration !== current.generation)
          throw preconditionFailed(`Tunnel ${current.name}`, current.generation);
        if (!changes.configMode || changes.configMode === current.config_mode) return current;
        await trx
          .updateTable('tunnels')
          .set({ config_mode: changes.configMode, config_hash: null })
          .where('id', '=', tunnel.id)
          .execute();
        await bumpTunnel(trx, tunnel.id);
        await appendEvent(trx, {
          ownerId: tunnel.owner_id,
          actor,
          action: 'tunnel.update',
          target: tunnel.name,
          outcome: 'ok',
          details: { configMode: changes.configMode },
        });
        return {
          ...current,
          config_mode: changes.configMode,
          config_hash: null,
          generation: current.generation + 1,
        };
      });
      signals.desiredChanged(tunnel.id, tunnel.owner_id);
      return row;
    },

    async markRoutesDeleting(
      tunnel: TunnelRow,
      routes: Array<Pick<RouteRow, 'id' | 'name' | 'hostname' | 'service'>>,
      actor: string,
      action = 'route.delete',
    ) {
      if (routes.length === 0) return;
      await transact(db, async (trx) => {
        await locks.tunnels(trx, [tunnel.id]);
        await trx
          .updateTable('routes')
          .set({ deleting: 1, phase: 'deleting', updated_at: now() })
          .where(
            'id',
            'in',
            routes.map((r) => r.id),
          )
          .execute();
        await bumpTunnel(trx, tunnel.id);
        for (const r of routes) {
          await appendEvent(trx, {
            ownerId: tunnel.owner_id,
            actor,
            action,
            target: `${tunnel.name}/${r.name}`,
            outcome: 'ok',
            details: { hostname: r.hostname, service: r.service },
          });
        }
      });
      signals.desiredChanged(tunnel.id, tunnel.owner_id);
    },

    /**
     * Tunnels and routes whose `expires_at` has come are marked for deletion (`tunnel.expired`,
     * `route.expired` events), at most `limit` of each per call; answers how many.
     */
    async reapExpired(at: string, limit = 200): Promise<{ tunnels: number; routes: number }> {
      const tunnels = await db
        .selectFrom('tunnels')
        .selectAll()
        .where('expires_at', '<=', at)
        .where('deleting', '=', 0)
        .orderBy('expires_at')
        .limit(limit)
        .execute();
      for (const t of tunnels) await writes.markDeleting(t, 'tunnelplane', 'tunnel.expired');
      const routes = await db
        .selectFrom('routes')
        .select(['id', 'name', 'hostname', 'service', 'tunnel_id'])
        .where('expires_at', '<=', at)
        .where('deleting', '=', 0)
        .orderBy('expires_at')
        .limit(limit)
        .execute();
      const byTunnel = new Map<string, typeof routes>();
      for (const r of routes) byTunnel.set(r.tunnel_id, [...(byTunnel.get(r.tunnel_id) ?? []), r]);
      for (const [id, rs] of byTunnel) {
        const t = await db.selectFrom('tunnels').selectAll().where('id', '=', id).executeTakeFirst();
        if (t && !t.deleting) await writes.markRoutesDeleting(t, rs, 'tunnelplane', 'route.expired');
      }
      return { tunnels: tunnels.length, routes: routes.length };
    },

    async requestRotation(tunnel: TunnelRow, route: Pick<RouteRow, 'id' | 'name'>, actor: string) {
      await transact(db, async (trx) => {
        await locks.tunnels(trx, [tunnel.id]);
        await trx
          .updateTable('routes')
          .set({ rotate_requested: 1, updated_at: now() })
          .where('id', '=', route.id)
          .execute();
        await bumpTunnel(trx, tunnel.id);
        await appendEvent(trx, {
          ownerId: tunnel.owner_id,
          actor,
          action: 'route.rotate_token',
          target: `${tunnel.name}/${route.name}`,
          outcome: 'ok',
        });
      });
      signals.desiredChanged(tunnel.id, tunnel.owner_id);
    },
  };
  return writes;
}
