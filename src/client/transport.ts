/**
 * One request to the API over `fetch`: the URL under the base (its path prefix kept), the
 * credentials, and a timeout widened by whatever `?wait=` lets the server hold the request. The
 * caller's own cancellation comes out as the caller's `AbortError`; every other failure as a
 * `TunnelplaneError` (responses.ts).
 */
import { apiError, connectionError, parseJson, type RawResponse } from './responses.js';
import type { Accepted } from './types.js';

/**
 * `session`: a browser's session cookie (sent by the browser itself, same origin); changes carry
 * the session's CSRF token (`X-CSRF-Token`), as `POST /auth/password` or `GET /auth/session` gave it.
 */
export type ClientAuth =
  | { type: 'basic'; user: string; password: string }
  | { type: 'bearer'; token: string }
  | { type: 'session'; csrfToken: string };

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

/** The longest `?wait=` the API accepts, in seconds. */
export const MAX_WAIT_SECONDS = 120;
/** What the server waits when no `?wait=` is given. */
const SERVER_DEFAULT_WAIT_SECONDS = 30;
const DEFAULT_TIMEOUT_MS = 30_000;

type Query = Record<string, string | number | undefined | null>;

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Query;
  body?: unknown;
  /** Seconds the server may hold the request; widens the timeout. */
  holdSeconds?: number;
  auth?: boolean;
  signal?: AbortSignal | undefined;
  /** Statuses that are not errors besides 2xx (e.g. 503 for readyz). */
  accept?: number[];
  /** More request headers (`If-Match`, `Idempotency-Key`). */
  headers?: Record<string, string>;
}

/** What the resource methods send their requests with. */
export interface Transport {
  /** The normalised base URL, without a trailing slash. */
  readonly baseUrl: string;
  readonly auth: ClientAuth | null;
  send(spec: RequestSpec): Promise<RawResponse>;
  json<T>(spec: RequestSpec): Promise<T>;
  text(spec: RequestSpec): Promise<string>;
  /** A mutation taking `?wait=`: converged unless the server answered 202; no body is a null value. */
  accepted<T>(spec: RequestSpec, wait: number | undefined): Promise<Accepted<T>>;
}

/** Encodes one path segment (tunnel, route and token names come from users). */
export const seg = (s: string) => encodeURIComponent(s);

/** The `?wait=` query and how long the server may then hold the request; a bad wait throws a RangeError. */
export function waitQuery(wait: number | undefined): { query: Query; holdSeconds: number } {
  if (wait === undefined) return { query: {}, holdSeconds: SERVER_DEFAULT_WAIT_SECONDS };
  if (!Number.isInteger(wait) || wait < 0 || wait > MAX_WAIT_SECONDS) {
    throw new RangeError(`wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`);
  }
  return { query: { wait }, holdSeconds: wait };
}

export function createTransport(options: ClientOptions): Transport {
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
      ...spec.headers,
    };
    if (spec.auth !== false && auth) {
      if (auth.type === 'session') {
        if (spec.method !== 'GET') headers['x-csrf-token'] = auth.csrfToken;
      } else headers.authorization = authorizationHeader(auth);
    }
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

  return {
    baseUrl,
    auth,
    send,
    json: async <T>(spec: RequestSpec) => parseJson<T>(await send(spec)),
    text: async (spec) => (await send(spec)).text,
    async accepted<T>(spec: RequestSpec, wait: number | undefined): Promise<Accepted<T>> {
      // In an async function, so a bad wait rejects rather than throws, before any request.
      const w = waitQuery(wait);
      const raw = await send({ ...spec, query: { ...spec.query, ...w.query }, holdSeconds: w.holdSeconds });
      const value = raw.status === 204 || raw.text === '' ? (null as T) : parseJson<T>(raw);
      return { converged: raw.status !== 202, status: raw.status, value };
    },
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

function authorizationHeader(auth: Exclude<ClientAuth, { type: 'session' }>): string {
  if (auth.type === 'bearer') return `Bearer ${auth.token}`;
  // UTF-8 then base64 without Buffer: the console bundles this client for browsers.
  const bytes = new TextEncoder().encode(`${auth.user}:${auth.password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}
