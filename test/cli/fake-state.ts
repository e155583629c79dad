/**
 * What the fake server holds and how it shows it: users, tokens, tunnels, routes and events in
 * memory, a simulated reconciler, and the API's JSON views and cloudflared files. The pure rules
 * (names, service URLs, allow-lists, the files' formats) are the domain's own, so these agree
 * with the real server by construction; test/contract checks everything else.
 *
 * The simulated reconciler runs between requests (`advance()`), never inside one: an answer
 * given without waiting shows the change as written (pending), as the real server's does.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { inClusterAddress } from '../../src/domain/access-objects.js';
import {
  credentialsFile,
  renderConfigYaml,
  renderIngress,
  tunnelToken,
} from '../../src/domain/cloudflared-files.js';
import type { Scope } from '../../src/domain/scopes.js';
import { isTcpLikeProtocol } from '../../src/domain/service-url.js';

export type Phase = 'pending' | 'ready' | 'error' | 'deleting';

export interface FakeRoute {
  name: string;
  hostname: string;
  service: string;
  protocol: string;
  allowIps: string[] | null;
  access: { emails: string[]; emailDomains: string[]; groups?: string[]; sessionDuration?: string } | null;
  originRequest: Record<string, unknown> | null;
  generation: number;
  createdAt: string;
  readyAt: number;
  ready: boolean;
  deleteAt: number | null;
  /** When the TCP route's Access service token expires, once it has one. */
  tokenExpiresAt: string | null;
  /** When the route deletes itself (`ttlSeconds`); null: never. */
  expiresAt: string | null;
}

export interface FakeTunnel {
  name: string;
  /** The Cloudflare tunnel id, shown once the tunnel is provisioned. */
  id: string;
  owner: string;
  configMode: 'local' | 'remote';
  createdAt: string;
  generation: number;
  observedGeneration: number;
  /** When the latest change is done. */
  settleAt: number;
  provisioned: boolean;
  deleteAt: number | null;
  /** Cloudflare refuses to create this tunnel with this message. */
  failure: string | null;
  lastError: string | null;
  secret: string;
  routes: FakeRoute[];
  /** When the tunnel deletes itself (`ttlSeconds`); null: never. */
  expiresAt: string | null;
  /** What Cloudflare says of its connectors (`setConnectors`); null: not checked yet. */
  connectors: FakeConnectors | null;
}

/** A tunnel's `connectors` as the API shows them (src/server/presenters.ts). */
export interface FakeConnectors {
  status: 'inactive' | 'healthy' | 'degraded' | 'down';
  connections: Array<{ colo: string; clientVersion: string; originIp: string; openedAt: string }>;
  checkedAt: string;
  since: string | null;
}

export type FakeScope = Scope;

export interface FakeToken {
  id: string;
  name: string;
  owner: string;
  scopes: FakeScope[];
  secret: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

export interface FakeUser {
  name: string;
  /** null: no password (they sign in only with single sign-on). */
  password: string | null;
  role: 'user' | 'admin';
  disabled: boolean;
  email: string | null;
  /** An identity provider vouches for them. */
  sso: boolean;
  createdAt: string;
  quotaTunnels: number | null;
  quotaRoutes: number | null;
}

/** A team: it owns tunnels (owner `team:<name>`), its members see and manage them. */
export interface FakeTeam {
  name: string;
  createdAt: string;
  quotaTunnels: number | null;
  quotaRoutes: number | null;
  members: Map<string, { source: 'manual' | 'sso'; since: string }>;
}

export const TEAM_PREFIX = 'team:';

export interface FakeEvent {
  id: number;
  at: string;
  owner: string;
  actor: string;
  action: string;
  target: string;
  outcome: 'ok' | 'error';
  details: Record<string, unknown>;
}

export interface StateOptions {
  zone: string;
  accountTag: string;
  /** The configured installation id (`tunnelplane-<instance>-<tunnel>` at Cloudflare). */
  instance: string;
  /** Where TCP routes are reachable in the cluster; null: no Kubernetes (no `inCluster`). */
  namespace: string | null;
  defaultConfigMode: 'local' | 'remote';
}

export const DEFAULT_QUOTAS = { tunnels: 10, routes: 50, protectedRoutes: 20, tcpRoutes: 5 };
const TOKEN_DAYS = 365;
const isoNow = () => new Date().toISOString();

export function createFakeState(opts: StateOptions) {
  const users = new Map<string, FakeUser>();
  const tokens = new Map<string, FakeToken>();
  const tunnels = new Map<string, FakeTunnel>();
  const teams = new Map<string, FakeTeam>();
  const events: FakeEvent[] = [];

  /**
   * What has expired is marked for deletion, as the real reconciler's idle loop does
   * (`tunnel.expired`, `route.expired` by `tunnelplane`); the fake deletes it at once.
   */
  function reapExpired(now: number): void {
    const due = (at: string | null) => at !== null && Date.parse(at) <= now;
    for (const t of tunnels.values()) {
      if (t.deleteAt === null && due(t.expiresAt)) {
        t.deleteAt = now;
        t.generation += 1;
        expired(t.owner, 'tunnel.expired', t.name, {});
      }
      if (t.deleteAt !== null) continue;
      const gone = t.routes.filter((r) => r.deleteAt === null && due(r.expiresAt));
      for (const r of gone) {
        r.deleteAt = now;
        expired(t.owner, 'route.expired', `${t.name}/${r.name}`, {
          hostname: r.hostname,
          service: r.service,
        });
      }
      if (gone.length > 0) t.generation += 1;
    }
  }

  function expired(owner: string, action: string, target: string, details: Record<string, unknown>) {
    events.push({
      id: events.length + 1,
      at: isoNow(),
      owner,
      actor: 'tunnelplane',
      action,
      target,
      outcome: 'ok',
      details,
    });
  }

  /** The reconciler's work that is due: expiry, provisioning, failures, readiness, deletions. */
  function advance(now = Date.now()): void {
    reapExpired(now);
    for (const [name, t] of tunnels) {
      if (t.deleteAt !== null && now >= t.deleteAt) {
        tunnels.delete(name);
        continue;
      }
      if (!t.provisioned && t.lastError === null && now >= t.settleAt) {
        if (t.failure !== null)
          t.lastError = `create tunnel tunnelplane-${opts.instance}-${t.name}: Cloudflare answered 403 (10000): ${t.failure}`;
        else t.provisioned = true;
      }
      t.routes = t.routes.filter((r) => r.deleteAt === null || now < r.deleteAt);
      if (!t.provisioned) continue;
      for (const r of t.routes) {
        if (r.ready || now < r.readyAt) continue;
        r.ready = true;
        if (isTcpLikeProtocol(r.protocol))
          r.tokenExpiresAt = new Date(now + TOKEN_DAYS * 86_400_000).toISOString();
      }
      if (t.deleteAt === null && now >= t.settleAt) t.observedGeneration = t.generation;
    }
  }

  function tunnelPhase(t: FakeTunnel): Phase {
    if (t.deleteAt !== null) return 'deleting';
    if (t.lastError !== null) return 'error';
    return t.provisioned ? 'ready' : 'pending';
  }

  function routePhase(t: FakeTunnel, r: FakeRoute): Phase {
    if (r.deleteAt !== null || t.deleteAt !== null) return 'deleting';
    return r.ready ? 'ready' : 'pending';
  }

  function routeJson(t: FakeTunnel, r: FakeRoute) {
    const tcp = isTcpLikeProtocol(r.protocol);
    return {
      name: r.name,
      hostname: r.hostname,
      // The fake serves one zone, the default.
      zone: opts.zone.toLowerCase(),
      service: r.service,
      protocol: r.protocol,
      phase: routePhase(t, r),
      lastError: null,
      errorCode: null,
      createdAt: r.createdAt,
      protectedBy: tcp || r.access ? 'access' : r.allowIps ? 'allow-list' : null,
      allowIps: r.allowIps,
      access: r.access,
      originRequest: r.originRequest,
      generation: r.generation,
      inCluster:
        opts.namespace !== null && tcp
          ? {
              address: inClusterAddress(r.name, t.name, opts.namespace, 10000),
              ready: r.ready,
              reason: null,
            }
          : null,
      serviceToken: tcp && r.tokenExpiresAt ? { expiresAt: r.tokenExpiresAt } : null,
      expiresAt: r.expiresAt,
    };
  }

  function tunnelJson(t: FakeTunnel) {
    return {
      name: t.name,
      id: t.provisioned ? t.id : null,
      owner: t.owner,
      configMode: t.configMode,
      phase: tunnelPhase(t),
      lastError: t.lastError,
      generation: t.generation,
      observedGeneration: t.observedGeneration,
      createdAt: t.createdAt,
      expiresAt: t.expiresAt,
      // What Cloudflare says of the connectors: the fake has no health refresh, so null (never
      // known, as on the contract's real server) unless a test set them (`setConnectors`).
      connectors: t.connectors,
      routes: t.routes.map((r) => routeJson(t, r)),
    };
  }

  const live = (t: FakeTunnel) => t.routes.filter((r) => r.deleteAt === null && t.deleteAt === null);
  const secretOf = (t: FakeTunnel) => ({
    accountTag: opts.accountTag,
    tunnelId: t.id,
    secret: Buffer.from(t.secret, 'base64'),
  });

  /** The quotas of an owner: a person's, or a team's (`team:<name>`). */
  function quotasOf(user: string) {
    const u = user.startsWith(TEAM_PREFIX) ? teams.get(user.slice(TEAM_PREFIX.length)) : users.get(user);
    return {
      ...DEFAULT_QUOTAS,
      tunnels: u?.quotaTunnels ?? DEFAULT_QUOTAS.tunnels,
      routes: u?.quotaRoutes ?? DEFAULT_QUOTAS.routes,
    };
  }

  function usageOf(user: string) {
    const routes = [...tunnels.values()].filter((t) => t.owner === user).flatMap((t) => t.routes);
    const tcp = routes.filter((r) => isTcpLikeProtocol(r.protocol));
    return {
      tunnels: [...tunnels.values()].filter((t) => t.owner === user).length,
      routes: routes.length,
      protectedRoutes: routes.filter((r) => isTcpLikeProtocol(r.protocol) || r.access || r.allowIps).length,
      tcpRoutes: tcp.length,
    };
  }

  /** The teams a person is in, by name. */
  const teamsOf = (user: string) =>
    [...teams.values()].filter((t) => t.members.has(user)).sort((a, b) => a.name.localeCompare(b.name));

  return {
    users,
    tokens,
    tunnels,
    teams,
    events,
    teamsOf,
    advance,
    tunnelJson,
    routeJson,
    quotasOf,
    usageOf,
    live,

    /** As the real presenter shows a person; `teams` only where the real route adds them (/me). */
    userJson: (u: FakeUser, withTeams = false) => ({
      name: u.name,
      role: u.role,
      disabled: u.disabled,
      email: u.email,
      signIn: [...(u.password !== null ? ['password'] : []), ...(u.sso ? ['sso'] : [])],
      quotas: quotasOf(u.name),
      usage: usageOf(u.name),
      ...(withTeams ? { teams: teamsOf(u.name).map((t) => ({ name: t.name })) } : {}),
      createdAt: u.createdAt,
    }),

    teamJson: (t: FakeTeam) => ({
      name: t.name,
      quotas: quotasOf(TEAM_PREFIX + t.name),
      usage: usageOf(TEAM_PREFIX + t.name),
      members: [...t.members]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, m]) => ({ name, source: m.source, since: m.since })),
      createdAt: t.createdAt,
    }),

    tokenJson: (t: FakeToken) => ({
      id: t.id,
      name: t.name,
      scopes: t.scopes,
      createdAt: t.createdAt,
      lastUsedAt: t.lastUsedAt,
      expiresAt: t.expiresAt,
    }),

    eventJson: ({ owner: _owner, ...e }: FakeEvent) => e,

    addUser(name: string, password: string | null, role: 'user' | 'admin' = 'user') {
      users.set(name, {
        name,
        password,
        role,
        disabled: false,
        email: null,
        sso: false,
        createdAt: isoNow(),
        quotaTunnels: null,
        quotaRoutes: null,
      });
    },

    addTeam(name: string): FakeTeam {
      const t: FakeTeam = {
        name,
        createdAt: isoNow(),
        quotaTunnels: null,
        quotaRoutes: null,
        members: new Map(),
      };
      teams.set(name, t);
      return t;
    },

    event(e: Omit<FakeEvent, 'id' | 'at' | 'outcome'> & { outcome?: 'ok' | 'error' }) {
      events.push({ id: events.length + 1, at: isoNow(), outcome: 'ok', ...e });
    },

    newTunnel(
      owner: string,
      name: string,
      configMode: 'local' | 'remote',
      settleAt: number,
      expiresAt: string | null = null,
    ): FakeTunnel {
      const t: FakeTunnel = {
        name,
        id: randomUUID(),
        owner,
        configMode,
        createdAt: isoNow(),
        generation: 1,
        observedGeneration: 0,
        settleAt,
        provisioned: false,
        deleteAt: null,
        failure: null,
        lastError: null,
        secret: randomBytes(32).toString('base64'),
        routes: [],
        expiresAt,
        connectors: null,
      };
      tunnels.set(name, t);
      return t;
    },

    newRoute(
      t: FakeTunnel,
      r: Pick<FakeRoute, 'name' | 'service' | 'protocol' | 'allowIps' | 'access'> & {
        expiresAt?: string | null;
        hostname?: string;
        originRequest?: Record<string, unknown> | null;
      },
      readyAt: number,
    ): FakeRoute {
      const route: FakeRoute = {
        expiresAt: null,
        originRequest: null,
        generation: 1,
        ...r,
        hostname: r.hostname ?? `${r.name}-${t.name}.${opts.zone.toLowerCase()}`,
        createdAt: isoNow(),
        readyAt,
        ready: false,
        deleteAt: null,
        tokenExpiresAt: null,
      };
      t.routes.unshift(route);
      t.generation += 1;
      t.settleAt = readyAt;
      return route;
    },

    credentialsOf: (t: FakeTunnel) => JSON.stringify(credentialsFile(secretOf(t))),
    runTokenOf: (t: FakeTunnel) => tunnelToken(secretOf(t)),
    configOf: (t: FakeTunnel) =>
      renderConfigYaml({
        tunnelId: t.id,
        credentialsFile: 'credentials.json',
        ingress: renderIngress(live(t), 'yaml'),
      }),
    /** `{tunnel, ingress}` as the proof of concept's paths show a tunnel. */
    pocConfigOf: (t: FakeTunnel) => ({
      tunnel: t.provisioned ? t.id : null,
      ingress: renderIngress(live(t), 'json'),
    }),
    phaseOf: tunnelPhase,
  };
}

export type FakeState = ReturnType<typeof createFakeState>;
