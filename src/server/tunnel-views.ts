/**
 * Rendered views of tunnels (pages of the API's tunnel list, a tunnel's JSON, the cloudflared
 * config.yaml), cached under versions the database keeps: `tunnels.routes_version` changes
 * with every write to one of the tunnel's routes, a user's `tunnel_list_versions` row with every
 * change of the user's tunnels the API shows (routes included) — by triggers, so whoever writes (this
 * replica, another one, the reconciler, an operator's SQL) a stale entry is never served: its
 * version no longer matches. A user's own list is checked against the version on the user row
 * that authenticated the request (no query at all on a hit); other views against the tunnel
 * rows the request reads anyway. Routes are read and rendered only on a miss. A version is
 * always read before the data, so an entry never holds older data than its version says.
 *
 * Entries are UTF-8 bytes: compact, outside the JS heap, nothing for the GC to walk, and sent
 * as they are (a serialiser's output string is a rope of thousands of pieces, which every
 * response would walk again). Bounded in total size, evicted least recently used.
 */
import fastJson from 'fast-json-stringify';
import { LRUCache } from 'lru-cache';
import { renderConfigYaml, renderIngress, type IngressFormat } from '../domain/cloudflared-files.js';
import { parseOriginRequestColumn } from '../domain/model.js';
import type { Page, RouteView, TunnelsRepository, TunnelView } from '../store/index.js';
import { presentRoute, presentTunnelHead, tunnelSchema, type InCluster } from './presenters.js';

/** The ingress as cloudflared should see it: live routes (newest first, as given), then the catch-all. */
export function ingressOf(routes: readonly RouteView[], format: IngressFormat) {
  return renderIngress(
    routes
      .filter((r) => !r.deleting)
      .map((r) => ({
        hostname: r.hostname,
        service: r.service,
        originRequest: parseOriginRequestColumn(r.origin_request),
        accessAud: r.access_aud,
      })),
    format,
  );
}

const OPEN_PAGE = Buffer.from('{"items":[');
const COMMA = Buffer.from(',');

interface Entry {
  version: string;
  bytes: Buffer;
}

export function createTunnelViews(deps: {
  tunnels: Pick<TunnelsRepository, 'routeViewsOf'>;
  inCluster: InCluster;
  maxBytes: number;
}) {
  const { tunnels: repo, inCluster } = deps;
  const cache =
    deps.maxBytes > 0
      ? new LRUCache<string, Entry>({
          maxSize: deps.maxBytes,
          sizeCalculation: (e) => e.bytes.length + e.version.length + 100,
        })
      : null;
  const tunnelJson = fastJson(tunnelSchema);
  let hits = 0;
  let misses = 0;

  const configVersion = (t: TunnelView) => `${t.routes_version}/${t.cf_tunnel_id ?? ''}`;

  function lookup(key: string, version: string): Buffer | undefined {
    const e = cache?.get(key);
    if (e && e.version === version) {
      hits++;
      return e.bytes;
    }
    misses++;
    return undefined;
  }

  /**
   * What a tunnel's JSON depends on besides its routes: the fields that change (name and
   * creation time never do) and the owner's name.
   */
  const tunnelVersion = (t: TunnelView, owner: string) =>
    `${t.routes_version}|${t.generation}|${t.observed_generation}|${t.phase}|${t.config_mode}|${t.cf_tunnel_id ?? ''}|${owner}|${t.last_error ?? ''}|${t.connector_status ?? ''}|${t.connector_checked_at ?? ''}|${t.connector_connections ?? ''}`;

  /** Each tunnel's JSON with its routes (one query for all of them). */
  async function render(tunnels: TunnelView[], owners: string[]): Promise<Buffer[]> {
    const routes = await repo.routeViewsOf(tunnels.map((t) => t.id));
    return tunnels.map((t, i) => {
      const doc = {
        ...presentTunnelHead(t, owners[i]!),
        routes: (routes.get(t.id) ?? []).map((r) => presentRoute(r, t.name, inCluster)),
      };
      return Buffer.from(tunnelJson(doc));
    });
  }

  /** `{"items":[…],"nextCursor":…}`, the document the list's response schema describes. */
  async function renderPage(
    tunnels: TunnelView[],
    owners: string[],
    nextCursor: string | null,
  ): Promise<Buffer> {
    const items = await render(tunnels, owners);
    const parts: Buffer[] = [OPEN_PAGE];
    items.forEach((item, i) => parts.push(...(i > 0 ? [COMMA, item] : [item])));
    parts.push(Buffer.from(`],"nextCursor":${JSON.stringify(nextCursor)}}`));
    return Buffer.concat(parts);
  }

  return {
    /**
     * `{"items":[…],"nextCursor":…}` of these tunnels with their routes, as UTF-8 JSON: the
     * document the list's response schema describes. Kept whole per page (`pageKey`: whose
     * list, which page), under the versions of the tunnels it shows.
     */
    async pageJson(
      pageKey: string,
      tunnels: TunnelView[],
      ownerNames: ReadonlyMap<string, string>,
      nextCursor: string | null,
    ): Promise<Buffer> {
      const owners = tunnels.map((t) => ownerNames.get(t.owner_id) ?? 'unknown');
      const version = `${tunnels.map((t, i) => `${t.id}:${tunnelVersion(t, owners[i]!)}`).join(';')};${nextCursor ?? ''}`;
      const key = `page:${pageKey}`;
      const cached = lookup(key, version);
      if (cached !== undefined) return cached;
      const bytes = await renderPage(tunnels, owners, nextCursor);
      cache?.set(key, { version, bytes });
      return bytes;
    },

    /**
     * A page of the user's own list, under the user's `tunnels_version` (which the database
     * changes with any change of their tunnels or routes): the user read to authenticate the
     * request (with that version) is all a cached page costs. The version is read before `load` reads the page.
     */
    async ownPageJson(
      user: { id: string; name: string; tunnels_version: number },
      limit: number,
      cursor: string | undefined,
      load: () => Promise<Page<TunnelView>>,
    ): Promise<Buffer> {
      const key = `own:${user.id}:${limit}:${cursor ?? ''}`;
      const version = String(user.tunnels_version);
      const cached = lookup(key, version);
      if (cached !== undefined) return cached;
      const page = await load();
      const bytes = await renderPage(
        page.items,
        page.items.map(() => user.name),
        page.nextCursor,
      );
      cache?.set(key, { version, bytes });
      return bytes;
    },

    /** One tunnel with its routes, as UTF-8 JSON (the tunnel schema's document). */
    async tunnelJson(t: TunnelView, ownerName: string): Promise<Buffer> {
      const key = `tunnel:${t.id}`;
      const version = tunnelVersion(t, ownerName);
      const cached = lookup(key, version);
      if (cached !== undefined) return cached;
      const [bytes] = await render([t], [ownerName]);
      cache?.set(key, { version, bytes: bytes! });
      return bytes!;
    },

    /** The locally-managed config.yaml of a tunnel that exists in Cloudflare. */
    async configYaml(
      t: TunnelView & { cf_tunnel_id: string },
      routesOfTunnel: () => Promise<RouteView[]>,
    ): Promise<Buffer> {
      const key = `config:${t.id}`;
      const version = configVersion(t);
      const cached = lookup(key, version);
      if (cached !== undefined) return cached;
      const routes = await routesOfTunnel();
      const bytes = Buffer.from(
        renderConfigYaml({
          tunnelId: t.cf_tunnel_id,
          credentialsFile: 'credentials.json',
          ingress: ingressOf(routes, 'yaml'),
        }),
      );
      cache?.set(key, { version, bytes });
      return bytes;
    },

    /**
     * The config.yaml of one of the user's own tunnels, by name, under the user's
     * `tunnels_version` (as the own list is): a hit costs no query beyond the user read that
     * authenticated the request. `load` finds and renders it on a miss; only a tunnel the user
     * owns (`own`) is kept so, since only their own tunnels move their version.
     */
    async ownConfigYaml(
      user: { id: string; tunnels_version: number },
      name: string,
      load: () => Promise<{ bytes: Buffer; own: boolean }>,
    ): Promise<Buffer> {
      const key = `ownconfig:${user.id}:${name}`;
      const version = String(user.tunnels_version);
      const cached = lookup(key, version);
      if (cached !== undefined) return cached;
      const { bytes, own } = await load();
      if (own) cache?.set(key, { version, bytes });
      return bytes;
    },

    stats: () => ({ hits, misses, entries: cache?.size ?? 0, bytes: cache?.calculatedSize ?? 0 }),
  };
}

export type TunnelViews = ReturnType<typeof createTunnelViews>;
