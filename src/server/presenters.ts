/** How tunnels and routes look in the API: JSON schemas (serialisation and OpenAPI) and presenters. */
import { inClusterAddress } from '../domain/access-objects.js';
import { isTcpLikeProtocol } from '../domain/service-url.js';
import { parseAccessColumn, parseOriginRequestColumn, type AccessRule } from '../domain/model.js';
import {
  NO_PASSWORD,
  teamName,
  type EventRow,
  type Quotas,
  type RouteView,
  type TeamRef,
  type TokenRow,
  type TunnelView,
  type UserRow,
} from '../store/index.js';

const phase = { type: 'string', enum: ['pending', 'ready', 'error', 'deleting'] } as const;

/**
 * The names of properties a presenter always gives (nullable ones as null): a schema's `required`,
 * so the OpenAPI document promises them and serialising an object without one fails loudly.
 */
const always = <P extends object>(properties: P, ...optional: Array<keyof P>) =>
  Object.keys(properties).filter((k) => !optional.includes(k as keyof P));

const routeProperties = {
  name: { type: 'string' },
  hostname: { type: 'string' },
  /** The zone the hostname is one label under (where its DNS record lives). */
  zone: { type: 'string' },
  service: { type: 'string' },
  protocol: { type: 'string' },
  phase,
  lastError: { type: 'string', nullable: true },
  /** A stable code for lastError (e.g. dns.foreign_record, dns.record_quota). */
  errorCode: { type: 'string', nullable: true },
  createdAt: { type: 'string' },
  protectedBy: { type: 'string', nullable: true },
  allowIps: { type: 'array', nullable: true, items: { type: 'string' } },
  access: {
    type: 'object',
    nullable: true,
    properties: {
      emails: { type: 'array', items: { type: 'string' } },
      emailDomains: { type: 'array', items: { type: 'string' } },
      groups: { type: 'array', items: { type: 'string' } },
      sessionDuration: { type: 'string' },
    },
  },
  /** cloudflared's origin options for the route (its own key names; durations in seconds). */
  originRequest: { type: 'object', nullable: true, additionalProperties: true },
  /** Bumped by every change of the route; `ETag` is `"<generation>"`, `If-Match` takes it. */
  generation: { type: 'integer' },
  inCluster: {
    type: 'object',
    nullable: true,
    properties: {
      address: { type: 'string' },
      ready: { type: 'boolean' },
      reason: { type: 'string', nullable: true },
    },
  },
  /** TCP-like routes: the service token the access pods use, and when it expires (it is renewed before). */
  serviceToken: {
    type: 'object',
    nullable: true,
    properties: { expiresAt: { type: 'string', nullable: true } },
  },
  /** When the route is deleted by itself (`ttlSeconds`); null: never. */
  expiresAt: { type: 'string', nullable: true },
} as const;

export const routeSchema = {
  type: 'object',
  required: always(routeProperties),
  properties: routeProperties,
} as const;

const tunnelHeadSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    id: { type: 'string', nullable: true },
    owner: { type: 'string' },
    configMode: { type: 'string', enum: ['local', 'remote'] },
    phase,
    lastError: { type: 'string', nullable: true },
    generation: { type: 'integer' },
    observedGeneration: { type: 'integer' },
    createdAt: { type: 'string' },
    /** When the tunnel is deleted by itself (`ttlSeconds`); null: never. */
    expiresAt: { type: 'string', nullable: true },
    /** What Cloudflare says of its cloudflared connectors; null until the first health refresh. */
    connectors: {
      type: 'object',
      nullable: true,
      properties: {
        status: { type: 'string', enum: ['inactive', 'healthy', 'degraded', 'down'] },
        connections: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              colo: { type: 'string' },
              clientVersion: { type: 'string' },
              originIp: { type: 'string' },
              openedAt: { type: 'string' },
            },
          },
        },
        checkedAt: { type: 'string' },
        since: { type: 'string', nullable: true },
      },
    },
  },
} as const;

const tunnelProperties = {
  ...tunnelHeadSchema.properties,
  routes: { type: 'array', items: routeSchema },
} as const;

export const tunnelSchema = {
  type: 'object',
  required: always(tunnelProperties),
  properties: tunnelProperties,
} as const;

/** A page of tunnels (`GET /tunnels`, `GET /admin/tunnels`). */
export const tunnelPageSchema = {
  type: 'object',
  required: ['items', 'nextCursor'],
  properties: {
    items: { type: 'array', items: tunnelSchema },
    nextCursor: { type: 'string', nullable: true, description: 'null on the last page' },
  },
} as const;

/** Where TCP routes are reachable in the cluster; null without Kubernetes. */
export type InCluster = { namespace: string; port: number } | null;

/** Access as the route asks for it (the IdP id it names stays inside). */
function presentAccess(a: AccessRule | null) {
  if (!a) return null;
  return {
    emails: a.emails,
    emailDomains: a.emailDomains,
    ...(a.groups ? { groups: a.groups } : {}),
    ...(a.sessionDuration ? { sessionDuration: a.sessionDuration } : {}),
  };
}

export function presentRoute(r: RouteView, tunnelName: string, inCluster: InCluster) {
  return {
    name: r.name,
    hostname: r.hostname,
    zone: r.zone,
    service: r.service,
    protocol: r.protocol,
    phase: r.phase,
    lastError: r.last_error,
    errorCode: r.last_error_code,
    createdAt: r.created_at,
    // What the route asks for (Access protects every kind: tokens, people, allow-lists).
    protectedBy:
      isTcpLikeProtocol(r.protocol) || r.access_rule ? 'access' : r.allow_ips ? 'allow-list' : null,
    allowIps: r.allow_ips ? (JSON.parse(r.allow_ips) as string[]) : null,
    access: presentAccess(parseAccessColumn(r.access_rule)),
    originRequest: parseOriginRequestColumn(r.origin_request),
    generation: r.generation,
    inCluster:
      inCluster && isTcpLikeProtocol(r.protocol)
        ? {
            address: inClusterAddress(r.name, tunnelName, inCluster.namespace, inCluster.port),
            ready: r.k8s_ready === 1,
            reason: r.k8s_ready === 1 ? null : r.k8s_reason,
          }
        : null,
    serviceToken:
      isTcpLikeProtocol(r.protocol) && r.service_token_id ? { expiresAt: r.service_token_expires_at } : null,
    expiresAt: r.expires_at,
  };
}

export function presentTunnelHead(t: TunnelView, owner: string) {
  return {
    name: t.name,
    id: t.cf_tunnel_id,
    owner,
    configMode: t.config_mode,
    phase: t.phase,
    lastError: t.last_error,
    generation: t.generation,
    observedGeneration: t.observed_generation,
    createdAt: t.created_at,
    expiresAt: t.expires_at,
    connectors: t.connector_status
      ? {
          status: t.connector_status,
          connections: JSON.parse(t.connector_connections ?? '[]') as unknown[],
          checkedAt: t.connector_checked_at,
          since: t.connector_since,
        }
      : null,
  };
}

export function presentTunnel(t: TunnelView, routes: RouteView[], owner: string, inCluster: InCluster) {
  return { ...presentTunnelHead(t, owner), routes: routes.map((r) => presentRoute(r, t.name, inCluster)) };
}

const quotasSchema = {
  type: 'object',
  required: ['tunnels', 'routes', 'protectedRoutes', 'tcpRoutes'],
  properties: {
    tunnels: { type: 'integer' },
    routes: { type: 'integer' },
    protectedRoutes: { type: 'integer' },
    tcpRoutes: { type: 'integer' },
  },
} as const;

const teamRefSchema = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string' } },
} as const;

export const userProperties = {
  name: { type: 'string' },
  role: { type: 'string', enum: ['user', 'admin'] },
  disabled: { type: 'boolean' },
  email: { type: 'string', nullable: true },
  /** `password`, `sso` (an identity provider vouches for them), or both. */
  signIn: { type: 'array', items: { type: 'string', enum: ['password', 'sso'] } },
  quotas: quotasSchema,
  usage: quotasSchema,
  /** The teams they are in (not in the admin's list of users). */
  teams: { type: 'array', items: teamRefSchema },
  createdAt: { type: 'string' },
} as const;

export const userSchema = {
  type: 'object',
  required: always(userProperties, 'teams'),
  properties: userProperties,
} as const;

export function presentUser(d: { user: UserRow; quotas: Quotas; usage: Quotas; teams?: TeamRef[] }) {
  return {
    name: d.user.name,
    role: d.user.role,
    disabled: d.user.disabled === 1,
    email: d.user.email,
    signIn: [
      ...(d.user.password_hash !== NO_PASSWORD ? ['password'] : []),
      ...(d.user.oidc_subject ? ['sso'] : []),
    ],
    quotas: d.quotas,
    usage: d.usage,
    ...(d.teams ? { teams: d.teams.map((t) => ({ name: t.name })) } : {}),
    createdAt: d.user.created_at,
  };
}

const teamProperties = {
  name: { type: 'string' },
  quotas: quotasSchema,
  usage: quotasSchema,
  members: {
    type: 'array',
    items: {
      type: 'object',
      required: ['name', 'source', 'since'],
      properties: {
        name: { type: 'string' },
        source: { type: 'string', enum: ['manual', 'sso'] },
        since: { type: 'string' },
      },
    },
  },
  createdAt: { type: 'string' },
} as const;

export const teamSchema = {
  type: 'object',
  required: always(teamProperties, 'members'),
  properties: teamProperties,
} as const;

export function presentTeam(d: {
  user: UserRow;
  quotas: Quotas;
  usage: Quotas;
  members?: Array<{ name: string; source: string; created_at: string }>;
}) {
  return {
    name: teamName(d.user),
    quotas: d.quotas,
    usage: d.usage,
    ...(d.members
      ? { members: d.members.map((m) => ({ name: m.name, source: m.source, since: m.created_at })) }
      : {}),
    createdAt: d.user.created_at,
  };
}

export const tokenSchema = {
  type: 'object',
  required: ['id', 'name', 'scopes', 'createdAt', 'lastUsedAt', 'expiresAt'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string', enum: ['read', 'write', 'admin'] } },
    createdAt: { type: 'string' },
    lastUsedAt: { type: 'string', nullable: true },
    expiresAt: { type: 'string', nullable: true },
  },
} as const;

export function presentToken(
  t: Pick<TokenRow, 'id' | 'name' | 'created_at' | 'last_used_at' | 'expires_at' | 'scopes'>,
) {
  return {
    id: t.id,
    name: t.name,
    scopes: t.scopes.split(' ').filter(Boolean),
    createdAt: t.created_at,
    lastUsedAt: t.last_used_at,
    expiresAt: t.expires_at,
  };
}

export const eventSchema = {
  type: 'object',
  required: ['id', 'at', 'actor', 'action', 'target', 'outcome', 'details'],
  properties: {
    id: { type: 'integer' },
    at: { type: 'string' },
    actor: { type: 'string' },
    action: { type: 'string' },
    target: { type: 'string' },
    outcome: { type: 'string', enum: ['ok', 'error'] },
    details: { type: 'object', additionalProperties: true },
  },
} as const;

export function presentEvent(e: EventRow) {
  return {
    id: Number(e.id),
    at: e.at,
    actor: e.actor,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    details: JSON.parse(e.details) as unknown,
  };
}
