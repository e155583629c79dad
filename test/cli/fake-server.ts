/**
 * A fake Tunnelplane server for the client and tunnelctl tests: a real HTTP listener on port 0
 * answering docs/api.md (API v1 and the proof of concept's paths) from memory, fast and under
 * the test's control. It answers as the real server does — test/contract runs the same
 * scenarios against both and fails when they differ — so start it with FAKE_OPTIONS (the
 * defaults), the configuration the contract holds it to.
 *
 * Provisioning is simulated: a change is done `settleMs` after it is written; a mutation waits
 * for that within its `?wait=` (capped by `maxWaitSeconds`) and answers 201/204, else 202.
 * Inspect with `requests`, `tunnel()`, `tokens`; set up with `seedTunnel()`; reset with `reset()`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../../src/domain/errors.js';
import { assertScopes, neededScope, rightsOf } from '../../src/domain/scopes.js';
import { parseService } from '../../src/domain/service-url.js';
import { randomLabel } from '../../src/domain/names.js';
import { accountRoutes } from './fake-account.js';
import { adminRoutes } from './fake-admin.js';
import type { Behaviour, Ctx, Deps, Reply, RouteDef } from './fake-http.js';
import { createFakeDevices, identityRoutes, type FakeDevices } from './fake-identity.js';
import { pocRoutes } from './fake-poc.js';
import {
  createFakeState,
  type FakeConnectors,
  type FakeScope,
  type FakeTeam,
  type FakeToken,
  type FakeTunnel,
  type FakeUser,
} from './fake-state.js';
import { tunnelRoutes } from './fake-tunnels.js';
import { HttpError, validate } from './fake-validation.js';

export type { Behaviour } from './fake-http.js';
export type { FakeConnectors, FakeRoute, FakeTeam, FakeToken, FakeTunnel, FakeUser } from './fake-state.js';
export type { FakeDevice, FakeDevices } from './fake-identity.js';

/** `setConnectors`: the status, and whatever else the test cares about. */
export type ConnectorsInit = Pick<FakeConnectors, 'status'> & Partial<Omit<FakeConnectors, 'status'>>;

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** `basic:user1`, `bearer:tp_…` or null. */
  auth: string | null;
  body: unknown;
  status: number;
}

export interface FakeServerOptions {
  /** Users and their passwords (default user1, user2, admin with `<name>password`). */
  users?: Record<string, string>;
  admins?: string[];
  zone?: string;
  /** The namespace TCP routes' access pods go to; null: a server without Kubernetes. */
  namespace?: string | null;
  /** The installation id in the names Cloudflare sees (`tunnelplane-<instance>-<tunnel>`). */
  instance?: string;
  defaultConfigMode?: 'local' | 'remote';
}

/** What test/contract holds the fake to: the real server as test/support/stack.ts starts it. */
export const FAKE_OPTIONS = {
  zone: 'example.com',
  namespace: 'tunnel-control-plane',
  instance: 'test',
  defaultConfigMode: 'local',
} as const satisfies FakeServerOptions;

export interface FakeServer {
  readonly url: string;
  readonly zone: string;
  readonly accountTag: string;
  readonly requests: RecordedRequest[];
  readonly tokens: Map<string, FakeToken>;
  readonly users: Map<string, FakeUser>;
  readonly teams: Map<string, FakeTeam>;
  /**
   * Single sign-on's device flow: off (404 `sso.not_configured`, as a server without an identity
   * provider) until `devices.configure()`; then approve, deny or slow down each sign-in.
   */
  readonly devices: FakeDevices;
  setBehaviour(b: Partial<Behaviour>): void;
  /** An admin's quota override for `user`'s tunnels. */
  setQuota(user: string, tunnels: number): void;
  reset(): void;
  tunnel(name: string): FakeTunnel | undefined;
  tunnelsOf(owner: string): FakeTunnel[];
  /** Creates a ready tunnel (and ready routes) directly, for test set-up. */
  seedTunnel(
    owner: string,
    init?: { name?: string; configMode?: 'local' | 'remote'; services?: string[] },
  ): FakeTunnel;
  /** A person (a null password: single sign-on only). */
  addUser(name: string, password: string | null, role?: 'user' | 'admin'): void;
  /** A team with these members (added by hand). */
  addTeam(name: string, members?: string[]): FakeTeam;
  /**
   * Lets the `expiresAt` of a tunnel (or of one of its routes) come now: the next request finds
   * it deleted, with its `tunnel.expired` / `route.expired` event, as the real reconciler does.
   */
  expireNow(tunnel: string, route?: string): void;
  /**
   * What the server's health refresh would have found for a tunnel's connectors (the fake has
   * none): `connections` default to none, `checkedAt` and `since` to now; null: not checked yet.
   */
  setConnectors(tunnel: string, connectors: ConnectorsInit | null): void;
  credentialsOf(name: string): string;
  configOf(name: string): string;
  runTokenOf(name: string): string;
  close(): Promise<void>;
}

const DEFAULT_USERS: Record<string, string> = {
  user1: 'user1password',
  user2: 'user2password',
  admin: 'adminpassword',
};
const DEFAULT_BEHAVIOUR: Behaviour = { settleMs: 0, maxWaitSeconds: 120, failNextTunnel: null };
const ROUTES: RouteDef[] = [
  ...accountRoutes,
  ...identityRoutes,
  ...adminRoutes,
  ...tunnelRoutes,
  ...pocRoutes,
];
const BODY_LIMIT = 64 * 1024;
const WWW_AUTHENTICATE = { 'www-authenticate': 'Basic realm="tunnelplane", charset="UTF-8"' };

function match(method: string, path: string): { route: RouteDef; params: Record<string, string> } | null {
  const parts = path.split('/').filter(Boolean);
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const want = route.url.split('/').filter(Boolean);
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    if (
      want.every((w, i) =>
        w.startsWith(':') ? (params[w.slice(1)] = decodeURIComponent(parts[i]!)) : w === parts[i],
      )
    )
      return { route, params };
  }
  return null;
}

export async function startFakeServer(options: FakeServerOptions = {}): Promise<FakeServer> {
  const opts = {
    zone: options.zone ?? FAKE_OPTIONS.zone,
    accountTag: 'f00dfeedf00dfeedf00dfeedf00dfeed',
    instance: options.instance ?? FAKE_OPTIONS.instance,
    namespace: options.namespace === undefined ? FAKE_OPTIONS.namespace : options.namespace,
    defaultConfigMode: options.defaultConfigMode ?? FAKE_OPTIONS.defaultConfigMode,
  };
  const state = createFakeState(opts);
  const initialUsers = () => {
    state.users.clear();
    const admins = new Set(options.admins ?? ['admin']);
    for (const [name, password] of Object.entries(options.users ?? DEFAULT_USERS))
      state.addUser(name, password, admins.has(name) ? 'admin' : 'user');
  };
  initialUsers();
  const requests: RecordedRequest[] = [];
  let behaviour: Behaviour = { ...DEFAULT_BEHAVIOUR };
  let requestCount = 0;
  const devices = createFakeDevices();
  const deps: Deps = {
    state,
    devices,
    options: opts,
    behaviour: () => behaviour,
    takeFailure() {
      const f = behaviour.failNextTunnel;
      behaviour = { ...behaviour, failNextTunnel: null };
      return f;
    },
  };

  const disabled = () =>
    new HttpError(403, 'auth.disabled', 'This account is disabled; ask an administrator to enable it.');

  function authenticate(header: string | undefined): {
    user: FakeUser;
    via: 'basic' | 'token';
    scopes: FakeScope[];
    expiresAt: string | null;
    rec: string;
  } {
    if (!header) {
      throw new HttpError(
        401,
        'auth.required',
        'Authentication required: send HTTP Basic credentials (USERPASS) or a bearer API token.',
      );
    }
    const [scheme, value = ''] = header.split(' ', 2);
    if (scheme?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      const user = state.users.get(decoded.slice(0, i));
      if (i > 0 && user && user.password !== null && user.password === decoded.slice(i + 1)) {
        if (user.disabled) throw disabled();
        return {
          user,
          via: 'basic',
          scopes: rightsOf(user.role),
          expiresAt: null,
          rec: `basic:${user.name}`,
        };
      }
    } else if (scheme?.toLowerCase() === 'bearer') {
      const tok = [...state.tokens.values()].find((t) => t.secret === value);
      const user = tok && state.users.get(tok.owner);
      if (tok && user && (!tok.expiresAt || Date.parse(tok.expiresAt) > Date.now())) {
        if (user.disabled) throw disabled();
        tok.lastUsedAt = new Date().toISOString();
        // A token's scopes, limited to what its owner holds now.
        const held = rightsOf(user.role);
        const scopes = tok.scopes.filter((x) => held.includes(x));
        return { user, via: 'token', scopes, expiresAt: tok.expiresAt, rec: `bearer:${value}` };
      }
    }
    throw new HttpError(
      401,
      'auth.invalid',
      'Invalid credentials: check USERPASS (user:password) or the API token.',
    );
  }

  async function readBody(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > BODY_LIMIT) throw new HttpError(413, 'request.too_large', 'The body is larger than 64 KiB.');
      chunks.push(c as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const type = req.headers['content-type'];
    const isJson = /^application\/json\s*(;|$)/i.test(type ?? '');
    if (text === '' && !(isJson && req.method !== 'GET')) return undefined;
    if (!isJson) {
      throw new HttpError(
        415,
        'request.unsupported_media_type',
        `Send the body as application/json (got ${type ?? 'nothing'}).`,
      );
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpError(400, 'request.invalid', 'The body is not valid JSON.');
    }
  }

  /** Everything between the route's match and its answer, in the real server's order. */
  async function handle(
    req: IncomingMessage,
    url: URL,
    rec: RecordedRequest,
    ctx: Partial<Ctx> & { route?: RouteDef },
  ): Promise<Reply> {
    state.advance();
    const method = req.method ?? 'GET';
    const found = match(method, url.pathname);
    if (!found) {
      throw new HttpError(
        404,
        'route.unknown_path',
        `No such path: ${method} ${url.pathname.slice(0, 200)}.`,
      );
    }
    const { route, params } = found;
    ctx.route = route;
    if (!route.public) {
      const who = authenticate(req.headers.authorization);
      Object.assign(ctx, { user: who.user, via: who.via, scopes: who.scopes, expiresAt: who.expiresAt });
      rec.auth = who.rec;
      if (route.admin && who.user.role !== 'admin')
        throw new HttpError(403, 'auth.forbidden', 'This path is for administrators.');
      assertScopes(who.scopes, neededScope(method, !!route.admin));
    }
    const body = await readBody(req);
    rec.body = body;
    const query: Record<string, string | string[]> = {};
    for (const [k, v] of url.searchParams) {
      const had = query[k];
      query[k] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
    }
    const full: Ctx = {
      ...(ctx as Ctx),
      method,
      path: url.pathname,
      ...(typeof req.headers['if-match'] === 'string' && { ifMatch: req.headers['if-match'] }),
      params: route.params ? validate(route.params, params, 'params') : params,
      body: route.body ? validate(route.body, body, 'body') : body,
      query: route.query ? validate(route.query, query, 'querystring') : query,
    };
    const early = route.headers ?? {};
    try {
      const reply = await route.handle(full, deps);
      return { ...reply, headers: { ...early, ...reply.headers } };
    } catch (err) {
      throw Object.assign(err as object, { headers: early });
    }
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const requestId = `req-fake-${(++requestCount).toString(36)}`;
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      auth: null,
      body: undefined,
      status: 0,
    };
    requests.push(rec);
    const ctx: Partial<Ctx> & { route?: RouteDef } = { requestId };
    const send = (reply: Reply) => {
      rec.status = reply.status;
      const headers: Record<string, string> = { ...reply.headers };
      if (reply.body === undefined) res.writeHead(reply.status, headers).end();
      else if (typeof reply.body === 'string')
        res
          .writeHead(reply.status, { ...headers, 'content-type': reply.type ?? 'text/plain' })
          .end(reply.body);
      else
        res
          .writeHead(reply.status, { ...headers, 'content-type': 'application/json; charset=utf-8' })
          .end(JSON.stringify(reply.body));
      // Refused changes are part of the audit trail too, as on the real server.
      if (ctx.user && ctx.route && !['GET', 'HEAD'].includes(rec.method) && reply.status >= 400) {
        const code = (reply.body as { error?: { code?: string } }).error?.code ?? null;
        state.event({
          owner: ctx.user.name,
          actor: ctx.user.name,
          action: `${rec.method} ${ctx.route.url}`,
          target: url.pathname.slice(0, 200),
          outcome: 'error',
          details: { status: reply.status, code, requestId },
        });
      }
    };
    handle(req, url, rec, ctx).then(send, (err: unknown) => {
      const e = err instanceof AppError ? new HttpError(err.status, err.code, err.message, err.details) : err;
      const early = (err as { headers?: Record<string, string> }).headers ?? {};
      if (e instanceof HttpError) {
        send({
          status: e.status,
          body: { error: { code: e.code, message: e.message, details: e.details, requestId } },
          headers: { ...early, ...(e.status === 401 ? WWW_AUTHENTICATE : {}) },
        });
      } else {
        const message = 'Internal error; the server log has the details under this requestId.';
        send({ status: 500, body: { error: { code: 'internal', message, details: {}, requestId } } });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const must = (name: string) => {
    const t = state.tunnels.get(name);
    if (!t) throw new Error(`fake server: no tunnel ${name}`);
    return t;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    zone: opts.zone,
    accountTag: opts.accountTag,
    requests,
    tokens: state.tokens,
    users: state.users,
    teams: state.teams,
    devices,
    setBehaviour: (b) => {
      behaviour = { ...behaviour, ...b };
    },
    setQuota: (user, tunnels) => {
      const u = state.users.get(user);
      if (u) u.quotaTunnels = tunnels;
    },
    reset: () => {
      state.tunnels.clear();
      state.tokens.clear();
      state.teams.clear();
      state.events.length = 0;
      devices.reset();
      initialUsers();
      requests.length = 0;
      behaviour = { ...DEFAULT_BEHAVIOUR };
    },
    tunnel: (name) => {
      state.advance();
      return state.tunnels.get(name);
    },
    tunnelsOf: (owner) => {
      state.advance();
      return [...state.tunnels.values()].filter((t) => t.owner === owner);
    },
    seedTunnel: (owner, init = {}) => {
      let name = init.name ?? randomLabel(8);
      while (init.name === undefined && state.tunnels.has(name)) name = randomLabel(8);
      const t = state.newTunnel(owner, name, init.configMode ?? opts.defaultConfigMode, 0);
      for (const s of init.services ?? []) {
        const { service, protocol } = parseService(s);
        let label = randomLabel(8);
        while (t.routes.some((r) => r.name === label)) label = randomLabel(8);
        state.newRoute(t, { name: label, service, protocol, allowIps: null, access: null }, 0);
      }
      t.settleAt = 0;
      state.advance();
      return t;
    },
    addUser: (name, password, role = 'user') => state.addUser(name, password, role),
    addTeam: (name, members = []) => {
      const t = state.addTeam(name);
      for (const m of members) t.members.set(m, { source: 'manual', since: new Date().toISOString() });
      return t;
    },
    expireNow: (tunnel, route) => {
      const t = must(tunnel);
      const past = new Date(Date.now() - 1000).toISOString();
      if (route === undefined) t.expiresAt = past;
      else {
        const r = t.routes.find((x) => x.name === route);
        if (!r) throw new Error(`fake server: tunnel ${tunnel} has no route ${route}`);
        r.expiresAt = past;
      }
    },
    setConnectors: (tunnel, c) => {
      const now = new Date().toISOString();
      must(tunnel).connectors = c && {
        status: c.status,
        connections: c.connections ?? [],
        checkedAt: c.checkedAt ?? now,
        since: c.since === undefined ? now : c.since,
      };
    },
    credentialsOf: (name) => state.credentialsOf(must(name)),
    configOf: (name) => state.configOf(must(name)),
    runTokenOf: (name) => state.runTokenOf(must(name)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (bound, then released): connecting to it is refused. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}
