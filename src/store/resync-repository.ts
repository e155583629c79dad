/**
 * What resync compares with the outside, read in bounded pieces (the installation may hold
 * 100,000 routes): tunnels (a few slim fields each), routes at the hostnames of one page of DNS
 * records, every route by keyset pages; and the tombstones that prove an object was ours.
 */
import type { Kysely } from 'kysely';
import type { Route, Tunnel } from '../domain/model.js';
import type { Database } from './schema.js';
import { toRoute } from './mapping.js';
import { chunks, type RouteRow } from './rows.js';

export type ResyncTunnel = Pick<
  Tunnel,
  'id' | 'ownerId' | 'name' | 'cfTunnelId' | 'deleting' | 'configMode' | 'configHash'
>;

export interface ResyncRoute {
  route: Route;
  tunnel: { name: string; ownerId: string; deleting: boolean; cfTunnelId: string | null };
}

export function createResyncRepository(db: Kysely<Database>) {
  const withTunnel = () =>
    db
      .selectFrom('routes')
      .innerJoin('tunnels', 'tunnels.id', 'routes.tunnel_id')
      .selectAll('routes')
      .select([
        'tunnels.name as t_name',
        'tunnels.owner_id as t_owner',
        'tunnels.deleting as t_deleting',
        'tunnels.cf_tunnel_id as t_cf',
      ]);
  const toResync = (
    r: RouteRow & { t_name: string; t_owner: string; t_deleting: number; t_cf: string | null },
  ): ResyncRoute => ({
    route: toRoute(r),
    tunnel: { name: r.t_name, ownerId: r.t_owner, deleting: r.t_deleting === 1, cfTunnelId: r.t_cf },
  });

  return {
    async tunnels(): Promise<ResyncTunnel[]> {
      const rows = await db
        .selectFrom('tunnels')
        .select(['id', 'owner_id', 'name', 'cf_tunnel_id', 'deleting', 'config_mode', 'config_hash'])
        .execute();
      return rows.map((t) => ({
        id: t.id,
        ownerId: t.owner_id,
        name: t.name,
        cfTunnelId: t.cf_tunnel_id,
        deleting: t.deleting === 1,
        configMode: t.config_mode,
        configHash: t.config_hash,
      }));
    },

    /** The routes at these hostnames (one listing page of DNS records), with their tunnels. */
    async routesAtHostnames(hostnames: string[]): Promise<ResyncRoute[]> {
      const out: ResyncRoute[] = [];
      for (const chunk of chunks(hostnames))
        out.push(...(await withTunnel().where('routes.hostname', 'in', chunk).execute()).map(toResync));
      return out;
    },

    /** Every route, `perPage` at a time in id order (keyset paging: the caller holds one page). */
    async *routePages(perPage: number): AsyncGenerator<ResyncRoute[]> {
      for (let after: string | null = null; ;) {
        let q = withTunnel();
        if (after !== null) q = q.where('routes.id', '>', after);
        const page = (await q.orderBy('routes.id').limit(perPage).execute()).map(toResync);
        if (page.length > 0) yield page;
        if (page.length < perPage) return;
        after = page[page.length - 1]!.route.id;
      }
    },

    /** Live TCP routes whose access pods were applied: the ones readiness is read for. */
    appliedAccessRoutes: () =>
      db
        .selectFrom('routes')
        .innerJoin('tunnels', 'tunnels.id', 'routes.tunnel_id')
        .select([
          'routes.id',
          'routes.tunnel_id',
          'routes.name',
          'routes.k8s_ready',
          'routes.k8s_reason',
          'tunnels.name as tunnel_name',
        ])
        .where('routes.protocol', 'in', ['tcp', 'ssh', 'rdp', 'smb'])
        .where('routes.deleting', '=', 0)
        .where('routes.k8s_hash', 'is not', null)
        .execute(),

    /** Which of these names (`<tunnel>` or `<tunnel>/<route>`) this installation deleted the rows of, and when (last). */
    async tombstoned(kind: 'tunnel' | 'route', names: string[]): Promise<Map<string, string>> {
      const out = new Map<string, string>();
      for (const chunk of chunks([...new Set(names)])) {
        for (const r of await db
          .selectFrom('tombstones')
          .select(['name', 'deleted_at'])
          .where('kind', '=', kind)
          .where('name', 'in', chunk)
          .execute())
          out.set(r.name, r.deleted_at);
      }
      return out;
    },

    /** Forgets tombstones older than `before` (an RFC 3339 time). */
    async pruneTombstones(before: string): Promise<number> {
      const res = await db.deleteFrom('tombstones').where('deleted_at', '<', before).executeTakeFirst();
      return Number(res.numDeletedRows);
    },

    /** One value the database holds sealed with the server key (a tunnel's secret), or null when it holds none. */
    async sealedSample(): Promise<string | null> {
      const row = await db.selectFrom('tunnels').select('secret_sealed').limit(1).executeTakeFirst();
      return row?.secret_sealed ?? null;
    },

    /** Whether the database holds anything yet (an installation that existed before installation ids). */
    async isEmpty(): Promise<boolean> {
      const row = await db.selectFrom('tunnels').select('id').limit(1).executeTakeFirst();
      return !row;
    },
  };
}

export type ResyncRepository = ReturnType<typeof createResyncRepository>;
