/**
 * The caller's tunnels and their routes (`/api/v1/tunnels…`). Creating or deleting one waits,
 * bounded by `?wait=`, for the reconciler and says whether it converged; a tunnel's files come
 * back byte for byte.
 */
import {
  seg,
  waitQuery,
  type CallOptions,
  type ListOptions,
  type Transport,
  type WaitOptions,
} from './transport.js';
import type {
  Accepted,
  CreateRouteInput,
  CreateTunnelInput,
  Page,
  Route,
  RouteDeletion,
  Tunnel,
  UpdateRouteInput,
} from './types.js';

/** The shortest and longest `ttlSeconds` the API takes (a minute, 30 days). */
export const MIN_TTL_SECONDS = 60;
export const MAX_TTL_SECONDS = 30 * 86_400;

export interface TunnelsApi {
  create(input?: CreateTunnelInput, options?: WaitOptions): Promise<Accepted<Tunnel>>;
  /** Yours and your teams'; with `team`, only that team's (`team.not_found` when you are not in it). */
  list(options?: ListOptions & TeamFilter): Promise<Page<Tunnel>>;
  /** Every page of `list`. */
  listAll(options?: CallOptions & TeamFilter): Promise<Tunnel[]>;
  get(name: string, options?: CallOptions): Promise<Tunnel>;
  /** `value` is null when the tunnel is gone (204), else the tunnel being deleted (202). */
  delete(name: string, options?: WaitOptions): Promise<Accepted<Tunnel | null>>;
  /** The cloudflared credentials file, byte for byte. */
  credentials(name: string, options?: CallOptions): Promise<string>;
  /** The cloudflared `config.yaml`, byte for byte. */
  config(name: string, options?: CallOptions): Promise<string>;
  /** The token for `cloudflared tunnel run --token` (remotely-managed tunnels). */
  token(name: string, options?: CallOptions): Promise<string>;
}

export interface TeamFilter {
  team?: string;
}

export interface RoutesApi {
  create(tunnel: string, input: CreateRouteInput, options?: WaitOptions): Promise<Accepted<Route>>;
  list(tunnel: string, options?: CallOptions): Promise<Route[]>;
  get(tunnel: string, route: string, options?: CallOptions): Promise<Route>;
  /** `value` is null when the route is gone (204), else the route being deleted (202). */
  delete(tunnel: string, route: string, options?: WaitOptions): Promise<Accepted<Route | null>>;
  /** Deletes every route of the tunnel that points at `service`. */
  deleteByService(tunnel: string, service: string, options?: WaitOptions): Promise<RouteDeletion>;
  /** Changes a route in place (its hostname and record stay); `ifMatch`: only if it is still at that generation. */
  update(
    tunnel: string,
    route: string,
    input: UpdateRouteInput,
    options?: CallOptions & { ifMatch?: number },
  ): Promise<Route>;
}

export function createTunnelsApi({ json, text, accepted }: Transport): TunnelsApi {
  const tunnels: TunnelsApi = {
    create: (input = {}, o = {}) =>
      accepted<Tunnel>({ method: 'POST', path: 'api/v1/tunnels', body: input, signal: o.signal }, o.wait),
    list: (o = {}) =>
      json<Page<Tunnel>>({
        method: 'GET',
        path: 'api/v1/tunnels',
        query: { limit: o.limit, cursor: o.cursor, team: o.team },
        signal: o.signal,
      }),
    listAll: (o = {}) =>
      collect((cursor) => tunnels.list({ limit: 500, cursor, team: o.team, signal: o.signal })),
    get: (name, o = {}) =>
      json<Tunnel>({ method: 'GET', path: `api/v1/tunnels/${seg(name)}`, signal: o.signal }),
    delete: (name, o = {}) =>
      accepted<Tunnel | null>(
        { method: 'DELETE', path: `api/v1/tunnels/${seg(name)}`, signal: o.signal },
        o.wait,
      ),
    credentials: (name, o = {}) =>
      text({ method: 'GET', path: `api/v1/tunnels/${seg(name)}/credentials`, signal: o.signal }),
    config: (name, o = {}) =>
      text({ method: 'GET', path: `api/v1/tunnels/${seg(name)}/config`, signal: o.signal }),
    token: async (name, o = {}) =>
      (
        await json<{ token: string }>({
          method: 'GET',
          path: `api/v1/tunnels/${seg(name)}/token`,
          signal: o.signal,
        })
      ).token,
  };
  return tunnels;
}

export function createRoutesApi({ json, accepted }: Transport): RoutesApi {
  return {
    create: (tunnel, input, o = {}) =>
      accepted<Route>(
        { method: 'POST', path: `api/v1/tunnels/${seg(tunnel)}/routes`, body: input, signal: o.signal },
        o.wait,
      ),
    list: async (tunnel, o = {}) =>
      (
        await json<Page<Route>>({
          method: 'GET',
          path: `api/v1/tunnels/${seg(tunnel)}/routes`,
          signal: o.signal,
        })
      ).items,
    get: (tunnel, route, o = {}) =>
      json<Route>({
        method: 'GET',
        path: `api/v1/tunnels/${seg(tunnel)}/routes/${seg(route)}`,
        signal: o.signal,
      }),
    update: (tunnel, route, input, o = {}) =>
      json<Route>({
        method: 'PATCH',
        path: `api/v1/tunnels/${seg(tunnel)}/routes/${seg(route)}`,
        body: input,
        signal: o.signal,
        ...(o.ifMatch !== undefined ? { headers: { 'if-match': `"${o.ifMatch}"` } } : {}),
      }),
    delete: (tunnel, route, o = {}) =>
      accepted<Route | null>(
        { method: 'DELETE', path: `api/v1/tunnels/${seg(tunnel)}/routes/${seg(route)}`, signal: o.signal },
        o.wait,
      ),
    deleteByService: async (tunnel, service, o = {}) => {
      // In an async function, so a bad wait rejects rather than throws.
      const w = waitQuery(o.wait);
      return json<RouteDeletion>({
        method: 'DELETE',
        path: `api/v1/tunnels/${seg(tunnel)}/routes`,
        query: { service, ...w.query },
        holdSeconds: w.holdSeconds,
        signal: o.signal,
      });
    },
  };
}

async function collect<T>(fetchPage: (cursor: string | null) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  // A server that repeats a cursor would loop forever; stop at the first repeat.
  const seen = new Set<string>();
  do {
    const p: Page<T> = await fetchPage(cursor);
    items.push(...p.items);
    cursor = p.nextCursor ?? null;
    if (cursor !== null) {
      if (seen.has(cursor)) break;
      seen.add(cursor);
    }
  } while (cursor !== null);
  return items;
}
