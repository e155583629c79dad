/**
 * What the reconciler reads and records, as domain values (domain/model.ts): claims with a
 * lease, the routes of what it claimed, what it learns of outside objects (recorded as soon as
 * it is known), and each tunnel's outcome in one transaction. The API's side is
 * tunnels-repository.ts; the two meet only in the tables.
 */
import { sql, type ExpressionBuilder, type Kysely, type Updateable } from 'kysely';
import type { Route, RouteObjects, Tunnel } from '../domain/model.js';
import type { Database, RoutesTable } from './schema.js';
import type { Dialect } from './migrations.js';
import { transact, type Locks } from './locks.js';
import type { SignalEmitter } from './signals.js';
import { bumpTunnel } from './tunnels-repository.js';
import { chunks, DIRTY, later, now, type Db, type TunnelRow } from './rows.js';
import { objectColumns, toRoute, toTunnel } from './mapping.js';

export interface RoutePatch {
  tunnelId: string;
  routeId: string;
  objects: Partial<RouteObjects>;
}

export interface RouteErrorRecord {
  routeId: string;
  message: string;
  code: string | null;
  /** `error`: it cannot converge until something outside changes; `pending`: retried. */
  phase: 'pending' | 'error';
  /** A deleted route whose deletion failed: only its error is written (it stays `deleting`). */
  deleting?: boolean;
}

/** How one claimed tunnel's pass ended. */
export interface TunnelOutcome {
  tunnel: Pick<Tunnel, 'id' | 'name' | 'generation'>;
  kind: 'converged' | 'failed';
  /** Failed: the tunnel's error (its own, or a summary of its routes'), and when to try again. */
  error?: { message: string; code: string | null; retryInMs: number; terminal: boolean };
  readyRouteIds: string[];
  /** Deleted routes whose outside objects are all gone: their rows go (leaving tombstones). */
  goneRoutes: Array<Pick<Route, 'id' | 'name'>>;
  routeErrors: RouteErrorRecord[];
}

const ERROR_LENGTH = 1000;

export function createWorkRepository(
  db: Kysely<Database>,
  dialect: Dialect,
  locks: Locks,
  signals: SignalEmitter,
) {
  async function tombstone(trx: Db, kind: 'tunnel' | 'route', names: string[]) {
    for (const chunk of chunks(names)) {
      await trx
        .insertInto('tombstones')
        .values(chunk.map((name) => ({ kind, name, deleted_at: now() })))
        .onConflict((oc) => oc.columns(['kind', 'name']).doUpdateSet({ deleted_at: now() }))
        .execute();
    }
  }

  /** Patches with the same columns and values go in one statement. */
  async function writePatches(trx: Db, patches: RoutePatch[]) {
    const groups = new Map<string, { set: Updateable<RoutesTable>; ids: string[] }>();
    for (const p of patches) {
      const set = { ...objectColumns(p.objects), updated_at: now() };
      const key = JSON.stringify(Object.entries(set).filter(([k]) => k !== 'updated_at'));
      const g = groups.get(key) ?? { set, ids: [] };
      g.ids.push(p.routeId);
      groups.set(key, g);
    }
    for (const { set, ids } of groups.values()) {
      for (const chunk of chunks(ids))
        await trx.updateTable('routes').set(set).where('id', 'in', chunk).execute();
    }
  }

  /** Writes route columns after locking their tunnels (see locks.ts), in one transaction. */
  async function writeRoutes(tunnelIds: string[], fn: (trx: Db) => Promise<unknown>) {
    if (dialect !== 'postgres') {
      await fn(db);
      return;
    }
    await transact(db, async (trx) => {
      await locks.tunnels(trx, tunnelIds);
      await fn(trx);
    });
  }

  return {
    /**
     * Claims up to `limit` dirty tunnels past their backoff with a lease, so no other replica
     * takes them. Fair across owners: each owner's oldest changes first (the first of every
     * owner, then the second of every owner…), and, while others wait too, at most `perOwner`
     * of one owner's, so one owner's many tunnels never fill a pass (or make it long) for the
     * others; alone, an owner's tunnels all go in one pass (one DNS batch for them all).
     */
    async claim(owner: string, limit: number, leaseMs: number, perOwner = limit): Promise<Tunnel[]> {
      const at = now();
      // The dirty tunnels first (`materialized`: read through their index, tunnels_dirty, and
      // not through the owner index the ranking's partitions would otherwise pick, which reads
      // every tunnel), then ranked.
      const { rows } = await sql<{ id: string }>`
        with due as materialized (
          select id, owner_id, updated_at from tunnels
          where ${DIRTY}
            and (next_attempt_at is null or next_attempt_at <= ${at})
            and (lease_until is null or lease_until < ${at})
        )
        select id from (
          select id, updated_at,
            row_number() over (partition by owner_id order by updated_at, id) as turn,
            count(*) over () - count(*) over (partition by owner_id) as others
          from due
        ) ranked where turn <= ${perOwner} or others = 0 order by turn, updated_at, id limit ${limit}`.execute(
        db,
      );
      if (rows.length === 0) return [];
      const ids = rows.map((r) => r.id);
      const free = (eb: ExpressionBuilder<Database, 'tunnels'>) =>
        eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', at)]);
      const claimed: TunnelRow[] = [];
      for (const chunk of chunks(ids)) {
        let candidates = db.selectFrom('tunnels').select('id').where('id', 'in', chunk).where(free);
        if (dialect === 'postgres') candidates = candidates.forNoKeyUpdate().skipLocked();
        claimed.push(
          ...(await db
            .updateTable('tunnels')
            .set({ lease_owner: owner, lease_until: later(leaseMs) })
            .where('id', 'in', candidates)
            .where(free)
            .returningAll()
            .execute()),
        );
      }
      // The order of the fair ranking, not of the database's update.
      const order = new Map(ids.map((id, i) => [id, i]));
      return claimed.sort((a, b) => order.get(a.id)! - order.get(b.id)!).map(toTunnel);
    },

    /** Routes of the given tunnels, newest first within each tunnel (the ingress order). */
    async routesOf(tunnelIds: string[]): Promise<Map<string, Route[]>> {
      const out = new Map<string, Route[]>(tunnelIds.map((id) => [id, []]));
      for (const chunk of chunks(tunnelIds)) {
        const rows = await db
          .selectFrom('routes')
          .selectAll()
          .where('tunnel_id', 'in', chunk)
          .orderBy('created_at', 'desc')
          .orderBy('id', 'desc')
          .execute();
        for (const r of rows) out.get(r.tunnel_id)!.push(toRoute(r));
      }
      return out;
    },

    async extend(tunnelIds: string[], owner: string, leaseMs: number) {
      for (const chunk of chunks(tunnelIds)) {
        await db
          .updateTable('tunnels')
          .set({ lease_until: later(leaseMs) })
          .where('id', 'in', chunk)
          .where('lease_owner', '=', owner)
          .execute();
      }
    },
    async release(tunnelIds: string[], owner: string) {
      for (const chunk of chunks(tunnelIds)) {
        await db
          .updateTable('tunnels')
          .set({ lease_owner: null, lease_until: null })
          .where('id', 'in', chunk)
          .where('lease_owner', '=', owner)
          .execute();
      }
    },
    /** When the earliest backed-off tunnel becomes due (to sleep until then), or null. */
    async nextDue(): Promise<string | null> {
      const row = await db
        .selectFrom('tunnels')
        .select((eb) => eb.fn.min('next_attempt_at').as('due'))
        .where(DIRTY)
        .executeTakeFirst();
      return (row?.due as string | null | undefined) ?? null;
    },
    /** Tunnels whose desired state is ahead of what was observed (the queue). */
    async queueDepth(): Promise<number> {
      const row = await db
        .selectFrom('tunnels')
        .select(db.fn.countAll<number>().as('n'))
        .where(DIRTY)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async setCloudflareId(tunnelId: string, cfTunnelId: string | null) {
      await db
        .updateTable('tunnels')
        .set({ cf_tunnel_id: cfTunnelId, updated_at: now() })
        .where('id', '=', tunnelId)
        .execute();
    },
    async setConfig(tunnelId: string, hash: string | null, version: number | null) {
      await db
        .updateTable('tunnels')
        .set({ config_hash: hash, config_version: version })
        .where('id', '=', tunnelId)
        .execute();
    },

    /** Records what was learnt of routes' outside objects: one transaction for the lot. */
    async patchRoutes(patches: RoutePatch[]) {
      if (patches.length === 0) return;
      await writeRoutes(
        patches.map((p) => p.tunnelId),
        (trx) => writePatches(trx, patches),
      );
    },

    /**
     * Drift a resync found, written with a new generation of each tunnel it touches in the same
     * transaction: whatever stops the resync after this, a pass puts the objects back.
     * `routes`: objects known gone; `forgetTunnels`: their Cloudflare tunnel is gone (made
     * again); `forgetConfigs`: their remote configuration was edited (put again, `version` kept).
     * Returns the tunnels it requeued.
     */
    async repair(r: {
      routes?: RoutePatch[];
      forgetTunnels?: string[];
      forgetConfigs?: Array<{ tunnelId: string; version: number }>;
    }): Promise<string[]> {
      const routes = r.routes ?? [];
      const forget = r.forgetTunnels ?? [];
      const configs = r.forgetConfigs ?? [];
      const ids = [
        ...new Set([...routes.map((p) => p.tunnelId), ...forget, ...configs.map((c) => c.tunnelId)]),
      ];
      if (ids.length === 0) return ids;
      await transact(db, async (trx) => {
        if (dialect === 'postgres') await locks.tunnels(trx, ids);
        await writePatches(trx, routes);
        for (const chunk of chunks(forget)) {
          await trx
            .updateTable('tunnels')
            .set({ cf_tunnel_id: null, config_hash: null, config_version: null, updated_at: now() })
            .where('id', 'in', chunk)
            .execute();
          // Their records point at the old tunnel: looked up again by name.
          await trx
            .updateTable('routes')
            .set({ dns_uncertain: 1, updated_at: now() })
            .where('tunnel_id', 'in', chunk)
            .execute();
        }
        for (const c of configs)
          await trx
            .updateTable('tunnels')
            .set({ config_hash: null, config_version: c.version })
            .where('id', '=', c.tunnelId)
            .execute();
        for (const id of ids) await bumpTunnel(trx, id);
      });
      for (const id of ids) signals.desiredChanged(id);
      return ids;
    },

    /** A pass's outcome for one tunnel, in one transaction. */
    async record(o: TunnelOutcome) {
      await transact(db, async (trx) => {
        await locks.tunnels(trx, [o.tunnel.id]);
        for (const chunk of chunks(o.readyRouteIds)) {
          await trx
            .updateTable('routes')
            .set({ phase: 'ready', last_error: null, last_error_code: null, updated_at: now() })
            .where('id', 'in', chunk)
            .where('deleting', '=', 0)
            .execute();
        }
        for (const e of o.routeErrors) {
          const error = {
            last_error: e.message.slice(0, ERROR_LENGTH),
            last_error_code: e.code,
            updated_at: now(),
          };
          await trx
            .updateTable('routes')
            .set(e.deleting ? error : { ...error, phase: e.phase })
            .where('id', '=', e.routeId)
            .where('deleting', '=', e.deleting ? 1 : 0)
            .execute();
        }
        if (o.goneRoutes.length > 0) {
          for (const chunk of chunks(o.goneRoutes.map((r) => r.id)))
            await trx.deleteFrom('routes').where('id', 'in', chunk).execute();
          await tombstone(
            trx,
            'route',
            o.goneRoutes.map((r) => `${o.tunnel.name}/${r.name}`),
          );
        }
        if (o.kind === 'converged') {
          await trx
            .updateTable('tunnels')
            .set({
              observed_generation: o.tunnel.generation,
              // The user may have asked for deletion while the pass ran: the row decides.
              phase: sql<TunnelRow['phase']>`case when deleting = 1 then 'deleting' else 'ready' end`,
              last_error: null,
              last_error_code: null,
              attempts: 0,
              next_attempt_at: null,
              updated_at: now(),
            })
            .where('id', '=', o.tunnel.id)
            .execute();
        } else {
          const e = o.error!;
          await trx
            .updateTable('tunnels')
            .set({
              phase: sql<
                TunnelRow['phase']
              >`case when deleting = 1 then 'deleting' else ${e.terminal ? 'error' : 'pending'} end`,
              last_error: e.message.slice(0, ERROR_LENGTH),
              last_error_code: e.code,
              attempts: sql`attempts + 1`,
              next_attempt_at: later(e.retryInMs),
              updated_at: now(),
            })
            .where('id', '=', o.tunnel.id)
            .execute();
        }
      });
      signals.observedChanged(o.tunnel.id);
    },

    /** The finalizer's last step: the rows go only once their outside objects are gone. */
    async deleteTunnel(tunnel: Pick<Tunnel, 'id' | 'name'>, routeNames: string[]) {
      await transact(db, async (trx) => {
        await locks.tunnels(trx, [tunnel.id]);
        await trx.deleteFrom('routes').where('tunnel_id', '=', tunnel.id).execute();
        await trx.deleteFrom('tunnels').where('id', '=', tunnel.id).execute();
        await tombstone(trx, 'tunnel', [tunnel.name]);
        await tombstone(
          trx,
          'route',
          routeNames.map((r) => `${tunnel.name}/${r}`),
        );
      });
      signals.observedChanged(tunnel.id);
    },

    /** Marks a tunnel dirty again (resync found drift, or a token to renew). */
    async requeue(tunnelId: string) {
      await bumpTunnel(db, tunnelId);
      signals.desiredChanged(tunnelId);
    },
  };
}

export type WorkRepository = ReturnType<typeof createWorkRepository>;
