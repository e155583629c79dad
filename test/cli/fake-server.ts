/**
 * A fake Tunnelplane server for the client and tunnelctl tests: a real HTTP listener on port 0
 * implementing docs/api.md (API v1 and the proof of concept's paths) in memory, so these suites
 * do not depend on src/server. Provisioning is simulated: objects become ready `settleMs` after
 * a change, and a mutation answers 201/204 when that fits in its `?wait=` (capped by
 * `maxWaitSeconds`), else 202 at once. Inspect with `requests`, `tunnel()`, `tokens`; reset with
 * `reset()`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';

type Phase = 'pending' | 'ready' | 'error' | 'deleting';

export interface FakeRoute {
  name: string;
  hostname: string;
  service: string;
  protocol: string;
  createdAt: string;
  readyAt: number;
  deleteAt: number | null;
}

export interface FakeTunnel {
  name: string;
  id: string;
  owner: string;
  configMode: 'local' | 'remote';
  createdAt: string;
  generation: number;
  readyAt: number;
  deleteAt: number | null;
  failure: string | null;
  secret: string;
  routes: FakeRoute[];
}

export interface FakeToken {
  id: string;
  name: string;
  owner: string;
  secret: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** `basic:user1`, `bearer:tp_…` or null. */
  auth: string | null;
  body: unknown;
  status: number;
}

export interface Behaviour {
  /** How long after a change an object converges (ms). */
  settleMs: number;
  /** The server waits at most this long for convergence, whatever `?wait=` says. */
  maxWaitSeconds: number;
  /** The next tunnel created fails provisioning with this message (phase `error`). */
  failNextTunnel: string | null;
}

export interface FakeServer {
  readonly url: string;
  readonly zone: string;
  readonly accountTag: string;
  readonly requests: RecordedRequest[];
  readonly tokens: Map<string, FakeToken>;
  setBehaviour(b: Partial<Behaviour>): void;
  setQuota(user: string, tunnels: number): void;
  reset(): void;
  tunnel(name: string): FakeTunnel | undefined;
  tunnelsOf(owner: string): FakeTunnel[];
  /** Creates a ready tunnel (and ready routes) directly, for test set-up. */
  seedTunnel(
    owner: string,
    init?: { name?: string; configMode?: 'local' | 'remote'; services?: string[] },
  ): FakeTunnel;
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
const TUNNEL_NAME = /^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
const ROUTE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$/;
const PROTOCOLS = ['http', 'https', 'tcp', 'ssh', 'rdp', 'smb', 'unix', 'unix+tls'];
const TCP_LIKE = ['tcp', 'ssh', 'rdp', 'smb'];

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const letters = (n = 8) =>
  Array.from({ length: n }, () => 'abcdefghijklmnopqrstuvwxyz'[randomInt(26)]).join('');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startFakeServer(
  options: { users?: Record<string, string>; admins?: string[]; zone?: string } = {},
): Promise<FakeServer> {
  const users = options.users ?? DEFAULT_USERS;
  const admins = new Set(options.admins ?? ['admin']);
  const zone = options.zone ?? 'tunnels.example.com';
  const accountTag = 'f00dfeedf00dfeedf00dfeedf00dfeed';
  const tunnels = new Map<string, FakeTunnel>();
  const tokens = new Map<string, FakeToken>();
  const quotas = new Map<string, number>();
  const events: Array<Record<string, unknown>> = [];
  const requests: RecordedRequest[] = [];
  let behaviour: Behaviour = { ...DEFAULT_BEHAVIOUR };
  let requestCount = 0;

  function sweep(): void {
    const now = Date.now();
    for (const [name, t] of tunnels) {
      if (t.deleteAt !== null && now >= t.deleteAt) tunnels.delete(name);
      else t.routes = t.routes.filter((r) => r.deleteAt === null || now < r.deleteAt);
    }
  }

  function tunnelPhase(t: FakeTunnel): Phase {
    if (t.deleteAt !== null) return 'deleting';
    if (t.failure) return 'error';
    return Date.now() >= t.readyAt ? 'ready' : 'pending';
  }

  function routePhase(r: FakeRoute): Phase {
    if (r.deleteAt !== null) return 'deleting';
    return Date.now() >= r.readyAt ? 'ready' : 'pending';
  }

  function routeJson(t: FakeTunnel, r: FakeRoute) {
    return {
      name: r.name,
      hostname: r.hostname,
      service: r.service,
      protocol: r.protocol,
      phase: routePhase(r),
      lastError: null,
      createdAt: r.createdAt,
      inCluster: TCP_LIKE.includes(r.protocol)
        ? { address: `tunnel-access-${r.name}-${t.name}:10000`, ready: routePhase(r) === 'ready' }
        : null,
    };
  }

  function tunnelJson(t: FakeTunnel) {
    const phase = tunnelPhase(t);
    return {
      name: t.name,
      id: t.id,
      owner: t.owner,
      configMode: t.configMode,
      phase,
      lastError: t.failure,
      generation: t.generation,
      observedGeneration: phase === 'ready' ? t.generation : t.generation - 1,
      createdAt: t.createdAt,
      routes: t.routes.map((r) => routeJson(t, r)),
    };
  }

  function credentialsOf(name: string): string {
    const t = must(tunnels.get(name));
    return JSON.stringify({ AccountTag: accountTag, TunnelSecret: t.secret, TunnelID: t.id });
  }

  function ingressOf(t: FakeTunnel) {
    return [
      ...t.routes.map((r) => ({ hostname: r.hostname, service: r.service })),
      { service: 'http_status:404' },
    ];
  }

  function configOf(name: string): string {
    const t = must(tunnels.get(name));
    let out = `tunnel: ${t.id}\ningress:\n`;
    for (const rule of ingressOf(t)) {
      out +=
        'hostname' in rule
          ? `  - hostname: ${rule.hostname}\n    service: ${rule.service}\n`
          : `  - service: ${rule.service}\n`;
    }
    return out;
  }

  function runTokenOf(name: string): string {
    const t = must(tunnels.get(name));
    return Buffer.from(JSON.stringify({ a: accountTag, t: t.id, s: t.secret })).toString('base64');
  }

  function must<T>(v: T | undefined): T {
    if (v === undefined) throw new Error('fake server: no such object');
    return v;
  }

  function event(actor: string, action: string, target: string, details: Record<string, unknown> = {}) {
    events.push({
      id: `evt_${events.length + 1}`,
      at: new Date().toISOString(),
      actor,
      action,
      target,
      outcome: 'ok',
      details,
    });
  }

  function newTunnel(
    owner: string,
    name: string,
    configMode: 'local' | 'remote',
    readyAt: number,
  ): FakeTunnel {
    const t: FakeTunnel = {
      name,
      id: randomUUID(),
      owner,
      configMode,
      createdAt: new Date().toISOString(),
      generation: 1,
      readyAt,
      deleteAt: null,
      failure: null,
      secret: randomBytes(32).toString('base64'),
      routes: [],
    };
    tunnels.set(name, t);
    return t;
  }

  function newRoute(t: FakeTunnel, service: string, name: string, readyAt: number): FakeRoute {
    const r: FakeRoute = {
      name,
      hostname: `${name}-${t.name}.${zone}`,
      service,
      protocol: protocolOf(service),
      createdAt: new Date().toISOString(),
      readyAt,
      deleteAt: null,
    };
    t.routes.unshift(r);
    t.generation += 1;
    return r;
  }

  function ownTunnel(user: string, name: string): FakeTunnel {
    const t = tunnels.get(name);
    if (!t || t.owner !== user)
      throw new HttpError(404, 'tunnel.not_found', `Tunnel ${name} not found.`, { name });
    return t;
  }

  function quotaOf(user: string) {
    return { tunnels: quotas.get(user) ?? 10, routes: 50 };
  }

  function usageOf(user: string) {
    const own = [...tunnels.values()].filter((t) => t.owner === user);
    return { tunnels: own.length, routes: own.reduce((n, t) => n + t.routes.length, 0) };
  }

  /** Seconds the server may wait for this request, after the behaviour cap. */
  function waitMs(query: Record<string, string>): number {
    const raw = query.wait ?? '30';
    const wait = Number(raw);
    if (!/^\d+$/.test(raw) || wait > 120) {
      throw new HttpError(400, 'request.invalid', 'querystring/wait must be an integer from 0 to 120', {
        issues: [{ path: 'wait', message: 'must be <= 120' }],
      });
    }
    return Math.min(wait, behaviour.maxWaitSeconds) * 1000;
  }

  function authenticate(req: IncomingMessage): { user: string; via: string } {
    const header = req.headers.authorization;
    if (!header)
      throw new HttpError(401, 'auth.required', 'Authentication required: use HTTP Basic or a bearer token.');
    const [scheme, value = ''] = header.split(' ', 2);
    if (scheme?.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      const user = decoded.slice(0, i);
      if (i > 0 && users[user] !== undefined && users[user] === decoded.slice(i + 1))
        return { user, via: `basic:${user}` };
    } else if (scheme?.toLowerCase() === 'bearer') {
      const tok = [...tokens.values()].find((t) => t.secret === value);
      if (tok && (!tok.expiresAt || Date.parse(tok.expiresAt) > Date.now())) {
        tok.lastUsedAt = new Date().toISOString();
        return { user: tok.owner, via: `bearer:${value}` };
      }
    }
    throw new HttpError(401, 'auth.invalid', 'Invalid credentials.');
  }

  async function readBody(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 64 * 1024) throw new HttpError(413, 'request.too_large', 'Body over 64 KiB.');
      chunks.push(c as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (text === '') return undefined;
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      throw new HttpError(415, 'request.unsupported_media_type', 'Send application/json.');
    }
    try {
      return JSON.parse(text);
    } catch {
      throw new HttpError(400, 'request.invalid', 'Body is not valid JSON.', {
        issues: [{ path: '', message: 'invalid JSON' }],
      });
    }
  }

  interface Reply {
    status: number;
    body?: unknown;
    type?: string;
    headers?: Record<string, string>;
  }

  const json = (status: number, body: unknown): Reply => ({ status, body });

  async function handle(req: IncomingMessage, url: URL, rec: RecordedRequest): Promise<Reply> {
    sweep();
    const method = req.method ?? 'GET';
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const query = rec.query;
    const body = await readBody(req);
    rec.body = body;

    // Unauthenticated paths.
    if (method === 'GET' && url.pathname === '/') return { status: 200, body: 'Welcome', type: 'text/plain' };
    if (method === 'GET' && url.pathname === '/healthz') return json(200, { status: 'ok' });
    if (method === 'GET' && url.pathname === '/readyz') return json(200, { status: 'ready' });
    if (method === 'GET' && url.pathname === '/metrics')
      return { status: 200, body: '# HELP up fake\nup 1\n', type: 'text/plain; version=0.0.4' };
    if (method === 'GET' && url.pathname === '/openapi.json')
      return json(200, {
        openapi: '3.1.0',
        info: { title: 'Tunnelplane (fake)', version: '0.0.0' },
        paths: {},
      });

    const { user, via } = authenticate(req);
    rec.auth = via;

    if (parts[0] === 'api' && parts[1] === 'v1') return v1(method, parts.slice(2), query, body, user);
    if (parts[0] === 'tunnels') return legacy(method, parts.slice(1), query, user);
    throw new HttpError(404, 'route.unknown_path', `No route ${method} ${url.pathname}.`);
  }

  async function v1(
    method: string,
    p: string[],
    query: Record<string, string>,
    body: unknown,
    user: string,
  ): Promise<Reply> {
    const b = (body ?? {}) as Record<string, unknown>;
    const key = `${method} ${p.map((s, i) => (i % 2 === 1 && p[0] !== 'admin' ? ':' : s)).join('/')}`;
    switch (key) {
      case 'GET me':
        return json(200, {
          name: user,
          role: admins.has(user) ? 'admin' : 'user',
          quotas: quotaOf(user),
          usage: usageOf(user),
        });
      case 'POST tokens': {
        if (typeof b.name !== 'string' || b.name.length < 1 || b.name.length > 100) {
          throw new HttpError(400, 'request.invalid', 'body/name must be a string of 1-100 characters', {
            issues: [{ path: 'name', message: 'required' }],
          });
        }
        const days = typeof b.expiresInDays === 'number' ? b.expiresInDays : null;
        const tok: FakeToken = {
          id: `tok_${letters(10)}`,
          name: b.name,
          owner: user,
          secret: `tp_${randomBytes(24).toString('hex')}`,
          createdAt: new Date().toISOString(),
          lastUsedAt: null,
          expiresAt: days === null ? null : new Date(Date.now() + days * 86_400_000).toISOString(),
        };
        tokens.set(tok.id, tok);
        event(user, 'token.create', tok.id);
        return json(201, { token: tokenJson(tok), secret: tok.secret });
      }
      case 'GET tokens':
        return json(200, { items: [...tokens.values()].filter((t) => t.owner === user).map(tokenJson) });
      case 'DELETE tokens/:': {
        const tok = tokens.get(p[1]!);
        if (!tok || tok.owner !== user)
          throw new HttpError(404, 'token.not_found', `Token ${p[1]} not found.`);
        tokens.delete(tok.id);
        event(user, 'token.delete', tok.id);
        return { status: 204 };
      }
      case 'POST tunnels': {
        const wait = waitMs(query);
        if (b.configMode !== undefined && b.configMode !== 'local' && b.configMode !== 'remote') {
          throw new HttpError(
            400,
            'request.invalid',
            'body/configMode must be equal to one of the allowed values',
            {
              issues: [{ path: 'configMode', message: 'must be local or remote' }],
            },
          );
        }
        let name: string;
        if (b.name !== undefined) {
          if (typeof b.name !== 'string' || !TUNNEL_NAME.test(b.name)) {
            throw new HttpError(
              400,
              'tunnel.invalid_name',
              `Tunnel name ${JSON.stringify(b.name)} is invalid: use 1-32 lowercase letters, digits or '-', starting with a letter.`,
              { name: b.name },
            );
          }
          if (tunnels.has(b.name))
            throw new HttpError(409, 'tunnel.name_taken', `Tunnel name ${b.name} is taken.`);
          name = b.name;
        } else {
          do name = letters();
          while (tunnels.has(name));
        }
        const quota = quotaOf(user);
        const used = usageOf(user).tunnels;
        if (quota.tunnels !== null && used >= quota.tunnels) {
          throw new HttpError(403, 'quota.exceeded', `Tunnel quota reached: ${used} of ${quota.tunnels}.`, {
            resource: 'tunnels',
            limit: quota.tunnels,
            used,
          });
        }
        const t = newTunnel(
          user,
          name,
          (b.configMode as 'local' | 'remote') ?? 'local',
          Date.now() + behaviour.settleMs,
        );
        if (behaviour.failNextTunnel) {
          t.failure = behaviour.failNextTunnel;
          behaviour.failNextTunnel = null;
          return json(202, tunnelJson(t));
        }
        event(user, 'tunnel.create', name);
        return settle(
          wait,
          () => json(201, tunnelJson(t)),
          () => json(202, tunnelJson(t)),
        );
      }
      case 'GET tunnels': {
        const limit = query.limit === undefined ? 50 : Number(query.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
          throw new HttpError(400, 'request.invalid', 'querystring/limit must be from 1 to 500');
        }
        const own = [...tunnels.values()].filter((t) => t.owner === user);
        const start = query.cursor ? Number(query.cursor) : 0;
        const items = own.slice(start, start + limit).map(tunnelJson);
        const next = start + limit < own.length ? String(start + limit) : null;
        return json(200, { items, nextCursor: next });
      }
      case 'GET tunnels/:':
        return json(200, tunnelJson(ownTunnel(user, p[1]!)));
      case 'DELETE tunnels/:': {
        const wait = waitMs(query);
        const t = ownTunnel(user, p[1]!);
        if (t.deleteAt === null) {
          t.deleteAt = Date.now() + behaviour.settleMs;
          t.generation += 1;
          event(user, 'tunnel.delete', t.name);
        }
        return settle(
          wait,
          () => ({ status: 204 }),
          () => json(202, tunnelJson(t)),
        );
      }
      case 'GET tunnels/:/credentials':
        ownTunnel(user, p[1]!);
        return { status: 200, body: credentialsOf(p[1]!), type: 'application/json' };
      case 'GET tunnels/:/config':
        ownTunnel(user, p[1]!);
        return { status: 200, body: configOf(p[1]!), type: 'application/yaml' };
      case 'GET tunnels/:/token':
        ownTunnel(user, p[1]!);
        return json(200, { token: runTokenOf(p[1]!) });
      case 'POST tunnels/:/routes': {
        const wait = waitMs(query);
        const t = ownTunnel(user, p[1]!);
        if (t.deleteAt !== null)
          throw new HttpError(409, 'tunnel.deleting', `Tunnel ${t.name} is being deleted.`);
        if (typeof b.service !== 'string') {
          throw new HttpError(400, 'request.invalid', "body must have required property 'service'", {
            issues: [{ path: 'service', message: 'required' }],
          });
        }
        const service = normaliseService(b.service);
        let name: string;
        if (b.name !== undefined) {
          if (typeof b.name !== 'string' || !ROUTE_NAME.test(b.name) || b.name.includes('--')) {
            throw new HttpError(
              400,
              'route.invalid_name',
              `Route name ${JSON.stringify(b.name)} is invalid: use 1-20 lowercase letters, digits or single '-', not at either end.`,
            );
          }
          if (t.routes.some((r) => r.name === b.name)) {
            throw new HttpError(
              409,
              'route.name_taken',
              `Tunnel ${t.name} already has a route named ${b.name}.`,
            );
          }
          name = b.name;
        } else {
          do name = letters();
          while (t.routes.some((r) => r.name === name));
        }
        const r = newRoute(t, service, name, Date.now() + behaviour.settleMs);
        event(user, 'route.create', `${t.name}/${name}`);
        return settle(
          wait,
          () => json(201, routeJson(t, r)),
          () => json(202, routeJson(t, r)),
        );
      }
      case 'GET tunnels/:/routes':
        return json(200, {
          items: ownTunnel(user, p[1]!).routes.map((r) => routeJson(ownTunnel(user, p[1]!), r)),
        });
      case 'GET tunnels/:/routes/:': {
        const t = ownTunnel(user, p[1]!);
        const r = t.routes.find((x) => x.name === p[3]);
        if (!r) throw new HttpError(404, 'route.not_found', `Route ${p[3]} not found on tunnel ${t.name}.`);
        return json(200, routeJson(t, r));
      }
      case 'DELETE tunnels/:/routes/:': {
        const wait = waitMs(query);
        const t = ownTunnel(user, p[1]!);
        const r = t.routes.find((x) => x.name === p[3]);
        if (!r) throw new HttpError(404, 'route.not_found', `Route ${p[3]} not found on tunnel ${t.name}.`);
        if (r.deleteAt === null) r.deleteAt = Date.now() + behaviour.settleMs;
        event(user, 'route.delete', `${t.name}/${r.name}`);
        return settle(
          wait,
          () => ({ status: 204 }),
          () => json(202, routeJson(t, r)),
        );
      }
      case 'DELETE tunnels/:/routes': {
        const wait = waitMs(query);
        const t = ownTunnel(user, p[1]!);
        if (!query.service) {
          throw new HttpError(400, 'request.invalid', "querystring must have required property 'service'");
        }
        const service = normaliseServiceLoose(query.service);
        const matching = t.routes.filter((r) => r.service === service && r.deleteAt === null);
        for (const r of matching) r.deleteAt = Date.now() + behaviour.settleMs;
        const names = matching.map((r) => r.name);
        return settle(
          wait,
          () => json(200, { deleted: names, pending: [] }),
          () => json(200, { deleted: [], pending: names }),
        );
      }
      case 'GET events':
        return json(200, {
          items: events.filter((e) => admins.has(user) || e.actor === user),
          nextCursor: null,
        });
      default:
        break;
    }
    if (p[0] === 'admin') {
      if (!admins.has(user)) throw new HttpError(403, 'auth.forbidden', 'Admins only.');
      if (method === 'GET' && p[1] === 'users' && p.length === 2) {
        return json(200, {
          items: Object.keys(users).map((name) => ({
            name,
            role: admins.has(name) ? 'admin' : 'user',
            quotas: quotaOf(name),
            usage: usageOf(name),
            createdAt: '2024-01-01T00:00:00.000Z',
          })),
        });
      }
      if (method === 'GET' && p[1] === 'tunnels' && p.length === 2) {
        const all = [...tunnels.values()].filter((t) => !query.owner || t.owner === query.owner);
        return json(200, { items: all.map(tunnelJson), nextCursor: null });
      }
      if (method === 'PUT' && p[1] === 'users' && p[3] === 'quotas' && p.length === 4) {
        const name = p[2]!;
        if (users[name] === undefined) throw new HttpError(404, 'user.not_found', `User ${name} not found.`);
        if (typeof b.tunnels === 'number') quotas.set(name, b.tunnels);
        if (b.tunnels === null) quotas.delete(name);
        return json(200, {
          name,
          role: admins.has(name) ? 'admin' : 'user',
          quotas: quotaOf(name),
          usage: usageOf(name),
          createdAt: '2024-01-01T00:00:00.000Z',
        });
      }
    }
    throw new HttpError(404, 'route.unknown_path', `No route ${method} /api/v1/${p.join('/')}.`);
  }

  async function legacy(
    method: string,
    p: string[],
    query: Record<string, string>,
    user: string,
  ): Promise<Reply> {
    const legacyTunnel = (t: FakeTunnel) => ({
      name: t.name,
      config: { tunnel: t.id, ingress: ingressOf(t) },
    });
    if (method === 'POST' && p.length === 0) {
      const t = newTunnel(user, letters(), 'local', Date.now());
      return json(200, { result: 'ok', tunnel: legacyTunnel(t) });
    }
    if (method === 'GET' && p.length === 0) {
      return json(200, {
        result: 'ok',
        tunnels: [...tunnels.values()].filter((t) => t.owner === user).map(legacyTunnel),
      });
    }
    const t = ownTunnel(user, p[0]!);
    if (method === 'GET' && p[1] === 'credentials' && p.length === 2)
      return { status: 200, body: credentialsOf(t.name), type: 'application/json' };
    if (method === 'GET' && p[1] === 'config' && p.length === 2)
      return { status: 200, body: configOf(t.name), type: 'application/yaml' };
    if (method === 'DELETE' && p.length === 1) {
      tunnels.delete(t.name);
      return json(200, { result: 'ok', name: t.name });
    }
    if (p[1] === 'routes' && p.length === 2 && (method === 'POST' || method === 'DELETE')) {
      if (!query.service) return json(400, { message: "Missing parameter: 'service'" });
      if (method === 'POST') newRoute(t, normaliseService(query.service), letters(), Date.now());
      else t.routes = t.routes.filter((r) => r.service !== normaliseServiceLoose(query.service!));
      return json(200, { result: 'ok', tunnel: legacyTunnel(t) });
    }
    throw new HttpError(404, 'route.unknown_path', `No route ${method} /tunnels/${p.join('/')}.`);
  }

  async function settle(wait: number, done: () => Reply, pending: () => Reply): Promise<Reply> {
    if (behaviour.settleMs <= wait) {
      if (behaviour.settleMs > 0) await sleep(behaviour.settleMs);
      sweep();
      return done();
    }
    return pending();
  }

  function tokenJson(t: FakeToken) {
    return {
      id: t.id,
      name: t.name,
      createdAt: t.createdAt,
      lastUsedAt: t.lastUsedAt,
      expiresAt: t.expiresAt,
    };
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const requestId = `req-${++requestCount}`;
    const rec: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      auth: null,
      body: undefined,
      status: 0,
    };
    requests.push(rec);
    const send = (reply: Reply) => {
      rec.status = reply.status;
      const headers: Record<string, string> = { 'x-request-id': requestId, ...reply.headers };
      if (reply.body === undefined) {
        res.writeHead(reply.status, headers).end();
      } else if (typeof reply.body === 'string') {
        res
          .writeHead(reply.status, { ...headers, 'content-type': reply.type ?? 'text/plain' })
          .end(reply.body);
      } else {
        res
          .writeHead(reply.status, { ...headers, 'content-type': 'application/json' })
          .end(JSON.stringify(reply.body));
      }
    };
    handle(req, url, rec).then(send, (err: unknown) => {
      if (err instanceof HttpError) {
        send({
          status: err.status,
          body: { error: { code: err.code, message: err.message, details: err.details, requestId } },
          headers: err.status === 401 ? { 'www-authenticate': 'Basic realm="tunnelplane"' } : {},
        });
      } else {
        send({
          status: 500,
          body: { error: { code: 'internal', message: 'Internal error.', details: {}, requestId } },
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    zone,
    accountTag,
    requests,
    tokens,
    setBehaviour: (b) => {
      behaviour = { ...behaviour, ...b };
    },
    setQuota: (u, n) => {
      quotas.set(u, n);
    },
    reset: () => {
      tunnels.clear();
      tokens.clear();
      quotas.clear();
      events.length = 0;
      requests.length = 0;
      behaviour = { ...DEFAULT_BEHAVIOUR };
    },
    tunnel: (name) => {
      sweep();
      return tunnels.get(name);
    },
    tunnelsOf: (owner) => {
      sweep();
      return [...tunnels.values()].filter((t) => t.owner === owner);
    },
    seedTunnel: (owner, init = {}) => {
      const t = newTunnel(owner, init.name ?? letters(), init.configMode ?? 'local', Date.now());
      for (const s of init.services ?? []) newRoute(t, normaliseService(s), letters(), Date.now());
      return t;
    },
    credentialsOf,
    configOf,
    runTokenOf,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function protocolOf(service: string): string {
  if (service === 'hello_world') return 'hello_world';
  if (service.startsWith('http_status:')) return 'http_status';
  return service.slice(0, service.indexOf(':'));
}

/** What cloudflared accepts (a subset good enough for tests), normalised; else route.invalid_service. */
function normaliseService(service: string): string {
  const bad = (why: string) =>
    new HttpError(
      400,
      'route.invalid_service',
      `Service ${JSON.stringify(service)} is not supported: ${why}.`,
      {
        rule: service,
      },
    );
  if (service === 'hello_world') return service;
  if (/^http_status:\d{3}$/.test(service)) return service;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(service)?.[1]?.toLowerCase();
  if (!scheme || !PROTOCOLS.includes(scheme)) {
    throw bad(
      'use http://, https://, tcp://, ssh://, rdp://, smb://, unix:, http_status:CODE or hello_world',
    );
  }
  if (scheme === 'unix' || scheme === 'unix+tls') return service;
  let url: URL;
  try {
    url = new URL(service);
  } catch {
    throw bad('it is not a URL');
  }
  if (!url.hostname) throw bad('it has no host');
  if (url.pathname !== '/' && url.pathname !== '') throw bad('a service URL cannot have a path');
  if (TCP_LIKE.includes(scheme) && !url.port) throw bad(`a ${scheme}:// service needs a port`);
  return `${scheme}://${url.host}`;
}

function normaliseServiceLoose(service: string): string {
  try {
    return normaliseService(service);
  } catch {
    return service;
  }
}

/** A port nothing listens on (bound, then released): connecting to it is refused. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}
