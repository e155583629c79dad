/**
 * The typed client of the Tunnelplane API (docs/api.md) over the global `fetch`. A few narrow
 * interfaces (tunnels, routes, tokens…) combined into one `TunnelplaneClient`; the client is
 * immutable: `withAuth` returns a new one. Every failure is a `TunnelplaneApiError` or a
 * `TunnelplaneConnectionError`, except a cancellation through the caller's own signal.
 */
import { TunnelplaneApiError, TunnelplaneConnectionError } from './errors.js';
import type {
  Accepted,
  AdminUser,
  AuditEvent,
  CreateRouteInput,
  CreateTokenInput,
  CreateTunnelInput,
  CreatedToken,
  LegacyDeleteResult,
  LegacyTunnelList,
  LegacyTunnelResult,
  Me,
  Page,
  QuotasInput,
  Route,
  RouteDeletion,
  Token,
  Tunnel,
} from './types.js';

export type ClientAuth =
  { type: 'basic'; user: string; password: string } | { type: 'bearer'; token: string };

export interface ClientOptions {
  /** The control plane's base URL, e.g. `https://tunnels.example.com` (a path prefix is kept). */
  baseUrl: string;
  auth?: ClientAuth | null;
  /** Budget of one request on top of the `?wait=` it carries (default 30 000 ms). */
  timeoutMs?: number;
  userAgent?: string;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface WaitOptions extends CallOptions {
  /** Seconds (0–120) the server may wait for the reconciler; the server's default is 30. */
  wait?: number;
}

export interface ListOptions extends CallOptions {
  limit?: number;
  cursor?: string | null;
}

export interface TunnelsApi {
  create(input?: CreateTunnelInput, options?: WaitOptions): Promise<Accepted<Tunnel>>;
  list(options?: ListOptions): Promise<Page<Tunnel>>;
  /** Every page of `list`. */
  listAll(options?: CallOptions): Promise<Tunnel[]>;
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

export interface RoutesApi {
  create(tunnel: string, input: CreateRouteInput, options?: WaitOptions): Promise<Accepted<Route>>;
  list(tunnel: string, options?: CallOptions): Promise<Route[]>;
  get(tunnel: string, route: string, options?: CallOptions): Promise<Route>;
  /** `value` is null when the route is gone (204), else the route being deleted (202). */
  delete(tunnel: string, route: string, options?: WaitOptions): Promise<Accepted<Route | null>>;
  /** Deletes every route of the tunnel that points at `service`. */
  deleteByService(tunnel: string, service: string, options?: WaitOptions): Promise<RouteDeletion>;
}

export interface TokensApi {
  create(input: CreateTokenInput, options?: CallOptions): Promise<CreatedToken>;
  list(options?: CallOptions): Promise<Token[]>;
  delete(id: string, options?: CallOptions): Promise<void>;
}

export interface EventsApi {
  list(options?: ListOptions): Promise<Page<AuditEvent>>;
}

export interface AdminApi {
  users(options?: CallOptions): Promise<AdminUser[]>;
  tunnels(options?: ListOptions & { owner?: string }): Promise<Page<Tunnel>>;
  setQuotas(user: string, quotas: QuotasInput, options?: CallOptions): Promise<AdminUser>;
}

/** Unauthenticated probes. */
export interface SystemApi {
  health(options?: CallOptions): Promise<{ status: string }>;
  /** `ready` is false on 503 (store or Cloudflare unreachable). */
  ready(options?: CallOptions): Promise<{ ready: boolean; body: unknown }>;
  metrics(options?: CallOptions): Promise<string>;
  openapi(options?: CallOptions): Promise<Record<string, unknown>>;
}

/** The proof of concept's paths, kept by the server for old scripts. They always wait (≤ 30 s). */
export interface LegacyApi {
  welcome(options?: CallOptions): Promise<string>;
  createTunnel(options?: CallOptions): Promise<LegacyTunnelResult>;
  listTunnels(options?: CallOptions): Promise<LegacyTunnelList>;
  credentials(name: string, options?: CallOptions): Promise<string>;
  config(name: string, options?: CallOptions): Promise<string>;
  deleteTunnel(name: string, options?: CallOptions): Promise<LegacyDeleteResult>;
  addRoute(name: string, service: string, options?: CallOptions): Promise<LegacyTunnelResult>;
  deleteRoutes(name: string, service: string, options?: CallOptions): Promise<LegacyTunnelResult>;
}

export interface TunnelplaneClient {
  /** The normalised base URL, without a trailing slash. */
  readonly baseUrl: string;
  readonly auth: ClientAuth | null;
  me(options?: CallOptions): Promise<Me>;
  readonly tunnels: TunnelsApi;
  readonly routes: RoutesApi;
  readonly tokens: TokensApi;
  readonly events: EventsApi;
  readonly admin: AdminApi;
  readonly system: SystemApi;
  readonly legacy: LegacyApi;
  /** The same client with other credentials (or none). */
  withAuth(auth: ClientAuth | null): TunnelplaneClient;
}

/** The longest `?wait=` the API accepts, in seconds. */
export const MAX_WAIT_SECONDS = 120;
/** What the server waits when no `?wait=` is given. */
const SERVER_DEFAULT_WAIT_SECONDS = 30;
const DEFAULT_TIMEOUT_MS = 30_000;
const LEGACY_WAIT_SECONDS = 30;

type Query = Record<string, string | number | undefined | null>;

interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Query;
  body?: unknown;
  /** Seconds the server may hold the request; widens the timeout. */
  holdSeconds?: number;
  auth?: boolean;
  signal?: AbortSignal | undefined;
  /** Statuses that are not errors besides 2xx (e.g. 503 for readyz). */
  accept?: number[];
}

interface RawResponse {
  status: number;
  text: string;
  url: string;
  method: string;
  headers: Headers;
}

/** Encodes one path segment (tunnel, route and token names come from users). */
const seg = (s: string) => encodeURIComponent(s);

export function createTunnelplaneClient(options: ClientOptions): TunnelplaneClient {
  const baseUrl = normaliseBaseUrl(options.baseUrl);
  const auth = options.auth ?? null;
  if (auth?.type === 'basic' && auth.user.includes(':')) {
    throw new TypeError('A basic-auth user name cannot contain ":"');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const doFetch = options.fetch ?? globalThis.fetch;
  const userAgent = options.userAgent ?? 'tunnelplane-client';

  async function send(spec: RequestSpec): Promise<RawResponse> {
    const url = buildUrl(baseUrl, spec.path, spec.query);
    const headers: Record<string, string> = {
      'user-agent': userAgent,
      accept: 'application/json, */*;q=0.5',
    };
    if (spec.auth !== false && auth) headers.authorization = authorizationHeader(auth);
    let body: string | undefined;
    if (spec.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(spec.body);
    }
    const budget = timeoutMs + (spec.holdSeconds ?? 0) * 1000;
    const timeout = AbortSignal.timeout(budget);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
    let res: Response;
    let text: string;
    try {
      res = await doFetch(url, { method: spec.method, headers, body, signal, redirect: 'follow' });
      text = await res.text();
    } catch (err) {
      if (spec.signal?.aborted) throw err;
      throw connectionError(spec.method, url, err, timeout.aborted ? budget : null);
    }
    const raw: RawResponse = { status: res.status, text, url, method: spec.method, headers: res.headers };
    if ((res.status < 200 || res.status >= 300) && !spec.accept?.includes(res.status)) throw apiError(raw);
    return raw;
  }

  async function json<T>(spec: RequestSpec): Promise<T> {
    return parseJson<T>(await send(spec));
  }

  async function text(spec: RequestSpec): Promise<string> {
    return (await send(spec)).text;
  }

  async function accepted<T>(spec: RequestSpec): Promise<Accepted<T>> {
    const raw = await send(spec);
    const value = raw.status === 204 || raw.text === '' ? (null as T) : parseJson<T>(raw);
    return { converged: raw.status !== 202, status: raw.status, value };
  }

  function waitQuery(wait: number | undefined): { query: Query; holdSeconds: number } {
    if (wait === undefined) return { query: {}, holdSeconds: SERVER_DEFAULT_WAIT_SECONDS };
    if (!Number.isInteger(wait) || wait < 0 || wait > MAX_WAIT_SECONDS) {
      throw new RangeError(`wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`);
    }
    return { query: { wait }, holdSeconds: wait };
  }

  const tunnels: TunnelsApi = {
    create: async (input = {}, o = {}) => {
      // In an async function, so a bad wait rejects rather than throws.
      const w = waitQuery(o.wait);
      return accepted<Tunnel>({
        method: 'POST',
        path: 'api/v1/tunnels',
        body: input,
        ...w,
        signal: o.signal,
      });
    },
    list: (o = {}) =>
      json<Page<Tunnel>>({
        method: 'GET',
        path: 'api/v1/tunnels',
        query: { limit: o.limit, cursor: o.cursor },
        signal: o.signal,
      }),
    listAll: (o = {}) => collect((cursor) => tunnels.list({ limit: 500, cursor, signal: o.signal })),
    get: (name, o = {}) =>
      json<Tunnel>({ method: 'GET', path: `api/v1/tunnels/${seg(name)}`, signal: o.signal }),
    delete: async (name, o = {}) => {
      const w = waitQuery(o.wait);
      return accepted<Tunnel | null>({
        method: 'DELETE',
        path: `api/v1/tunnels/${seg(name)}`,
        ...w,
        signal: o.signal,
      });
    },
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

  const routes: RoutesApi = {
    create: async (tunnel, input, o = {}) => {
      const w = waitQuery(o.wait);
      return accepted<Route>({
        method: 'POST',
        path: `api/v1/tunnels/${seg(tunnel)}/routes`,
        body: input,
        ...w,
        signal: o.signal,
      });
    },
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
    delete: async (tunnel, route, o = {}) => {
      const w = waitQuery(o.wait);
      return accepted<Route | null>({
        method: 'DELETE',
        path: `api/v1/tunnels/${seg(tunnel)}/routes/${seg(route)}`,
        ...w,
        signal: o.signal,
      });
    },
    deleteByService: async (tunnel, service, o = {}) => {
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

  const tokens: TokensApi = {
    create: (input, o = {}) =>
      json<CreatedToken>({ method: 'POST', path: 'api/v1/tokens', body: input, signal: o.signal }),
    list: async (o = {}) =>
      (await json<Page<Token>>({ method: 'GET', path: 'api/v1/tokens', signal: o.signal })).items,
    delete: async (id, o = {}) => {
      await send({ method: 'DELETE', path: `api/v1/tokens/${seg(id)}`, signal: o.signal });
    },
  };

  const events: EventsApi = {
    list: (o = {}) =>
      json<Page<AuditEvent>>({
        method: 'GET',
        path: 'api/v1/events',
        query: { limit: o.limit, cursor: o.cursor },
        signal: o.signal,
      }),
  };

  const admin: AdminApi = {
    users: async (o = {}) =>
      (await json<Page<AdminUser>>({ method: 'GET', path: 'api/v1/admin/users', signal: o.signal })).items,
    tunnels: (o = {}) =>
      json<Page<Tunnel>>({
        method: 'GET',
        path: 'api/v1/admin/tunnels',
        query: { limit: o.limit, cursor: o.cursor, owner: o.owner },
        signal: o.signal,
      }),
    setQuotas: (user, quotas, o = {}) =>
      json<AdminUser>({
        method: 'PUT',
        path: `api/v1/admin/users/${seg(user)}/quotas`,
        body: quotas,
        signal: o.signal,
      }),
  };

  const system: SystemApi = {
    health: (o = {}) =>
      json<{ status: string }>({ method: 'GET', path: 'healthz', auth: false, signal: o.signal }),
    ready: async (o = {}) => {
      const raw = await send({ method: 'GET', path: 'readyz', auth: false, accept: [503], signal: o.signal });
      return { ready: raw.status === 200, body: tryParse(raw.text) };
    },
    metrics: (o = {}) => text({ method: 'GET', path: 'metrics', auth: false, signal: o.signal }),
    openapi: (o = {}) =>
      json<Record<string, unknown>>({ method: 'GET', path: 'openapi.json', auth: false, signal: o.signal }),
  };

  const legacyHold = { holdSeconds: LEGACY_WAIT_SECONDS };
  const legacy: LegacyApi = {
    welcome: (o = {}) => text({ method: 'GET', path: '', auth: false, signal: o.signal }),
    createTunnel: (o = {}) =>
      json<LegacyTunnelResult>({ method: 'POST', path: 'tunnels', ...legacyHold, signal: o.signal }),
    listTunnels: (o = {}) => json<LegacyTunnelList>({ method: 'GET', path: 'tunnels', signal: o.signal }),
    credentials: (name, o = {}) =>
      text({ method: 'GET', path: `tunnels/${seg(name)}/credentials`, signal: o.signal }),
    config: (name, o = {}) => text({ method: 'GET', path: `tunnels/${seg(name)}/config`, signal: o.signal }),
    deleteTunnel: (name, o = {}) =>
      json<LegacyDeleteResult>({
        method: 'DELETE',
        path: `tunnels/${seg(name)}`,
        ...legacyHold,
        signal: o.signal,
      }),
    addRoute: (name, service, o = {}) =>
      json<LegacyTunnelResult>({
        method: 'POST',
        path: `tunnels/${seg(name)}/routes`,
        query: { service },
        ...legacyHold,
        signal: o.signal,
      }),
    deleteRoutes: (name, service, o = {}) =>
      json<LegacyTunnelResult>({
        method: 'DELETE',
        path: `tunnels/${seg(name)}/routes`,
        query: { service },
        ...legacyHold,
        signal: o.signal,
      }),
  };

  return {
    baseUrl,
    auth,
    me: (o = {}) => json<Me>({ method: 'GET', path: 'api/v1/me', signal: o.signal }),
    tunnels,
    routes,
    tokens,
    events,
    admin,
    system,
    legacy,
    withAuth: (next) => createTunnelplaneClient({ ...options, baseUrl, auth: next }),
  };
}

/** `http(s)://host[:port][/prefix]` without a trailing slash; anything else throws a TypeError. */
export function normaliseBaseUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`Not a URL: ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`The API is reached over http or https, not ${url.protocol.slice(0, -1)}`);
  }
  if (url.username || url.password) throw new TypeError('Put credentials in `auth`, not in the base URL');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function buildUrl(baseUrl: string, path: string, query: Query = {}): string {
  const url = new URL(`${baseUrl}/${path}`);
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
  }
  return url.toString();
}

function authorizationHeader(auth: ClientAuth): string {
  if (auth.type === 'bearer') return `Bearer ${auth.token}`;
  return `Basic ${Buffer.from(`${auth.user}:${auth.password}`, 'utf8').toString('base64')}`;
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

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function parseJson<T>(raw: RawResponse): T {
  try {
    return JSON.parse(raw.text) as T;
  } catch {
    throw new TunnelplaneApiError({
      status: raw.status,
      code: 'client.unexpected_response',
      message: `${raw.method} ${raw.url} answered ${raw.status} with a body that is not JSON; is this a Tunnelplane server?`,
      method: raw.method,
      url: raw.url,
    });
  }
}

function apiError(raw: RawResponse): TunnelplaneApiError {
  const body = tryParse(raw.text);
  const headerId = raw.headers.get('x-request-id');
  const base = { status: raw.status, method: raw.method, url: raw.url };
  if (isObject(body) && isObject(body.error) && typeof body.error.code === 'string') {
    const e = body.error;
    return new TunnelplaneApiError({
      ...base,
      code: e.code as string,
      message: typeof e.message === 'string' ? e.message : `HTTP ${raw.status}`,
      details: isObject(e.details) ? e.details : {},
      requestId: typeof e.requestId === 'string' ? e.requestId : headerId,
    });
  }
  // The proof of concept's own shape: {"message": "Missing parameter: 'service'"}.
  if (isObject(body) && typeof body.message === 'string') {
    return new TunnelplaneApiError({
      ...base,
      code: `http.${raw.status}`,
      message: body.message,
      requestId: headerId,
    });
  }
  const snippet = raw.text.replace(/\s+/g, ' ').trim().slice(0, 120);
  return new TunnelplaneApiError({
    ...base,
    code: `http.${raw.status}`,
    message: `${raw.method} ${raw.url} answered HTTP ${raw.status}${snippet ? `: ${snippet}` : ''}`,
    requestId: headerId,
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'the host name could not be resolved',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'the server closed the connection',
  EPROTO: 'TLS handshake failed (does the server speak http rather than https?)',
};

function connectionError(method: string, url: string, err: unknown, timedOutAfterMs: number | null) {
  if (timedOutAfterMs !== null) {
    return new TunnelplaneConnectionError({
      method,
      url,
      reason: `no answer within ${Math.round(timedOutAfterMs / 1000)} s`,
      errno: 'TIMEOUT',
      cause: err,
    });
  }
  const cause = (err as { cause?: unknown })?.cause ?? err;
  const first = (cause as { errors?: unknown[] })?.errors?.[0];
  const errno = (cause as { code?: string })?.code ?? (first as { code?: string } | undefined)?.code ?? null;
  const message = (cause as Error)?.message || (err as Error)?.message || String(err);
  let reason = errno ? REASONS[errno] : undefined;
  if (!reason && errno && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS/.test(errno))
    reason = `TLS error: ${message}`;
  return new TunnelplaneConnectionError({ method, url, reason: reason ?? message, errno, cause: err });
}
