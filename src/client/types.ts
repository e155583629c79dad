/**
 * The objects of the Tunnelplane API as the client sees them (docs/api.md). Plain data: no
 * methods, nothing the server does not send.
 */

/** Where the reconciler stands with an object. */
export type Phase = 'pending' | 'ready' | 'error' | 'deleting';

/** `local`: cloudflared reads config.yaml; `remote`: Cloudflare pushes the config (token run). */
export type ConfigMode = 'local' | 'remote';

export type RouteProtocol =
  'http' | 'https' | 'tcp' | 'ssh' | 'rdp' | 'smb' | 'unix' | 'unix+tls' | 'http_status' | 'hello_world';

export interface Route {
  /** The hostname's label prefix: hostname = `${name}-${tunnel}.${zone}`. */
  name: string;
  hostname: string;
  /** As given, normalised by the server (lower-case scheme and host). */
  service: string;
  protocol: RouteProtocol;
  phase: Phase;
  lastError: string | null;
  createdAt: string;
  /** TCP-like routes only: where cloud services reach the user's endpoint inside the cluster. */
  inCluster: { address: string; ready: boolean; reason?: string | null } | null;
  /** `access` (Cloudflare Access), `allow-list` (source IPs) or null (open). */
  protectedBy?: 'access' | 'allow-list' | null;
  allowIps?: string[] | null;
  access?: RouteAccess | null;
}

/** Cloudflare Access for people on an HTTP route. */
export interface RouteAccess {
  emails?: string[];
  emailDomains?: string[];
}

export interface Tunnel {
  name: string;
  /** Cloudflare tunnel UUID; null until the reconciler created it. */
  id: string | null;
  owner: string;
  configMode: ConfigMode;
  phase: Phase;
  lastError: string | null;
  generation: number;
  observedGeneration: number;
  createdAt: string;
  routes: Route[];
}

export interface Token {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

/** `POST /api/v1/tokens`: the secret is shown once, here. */
export interface CreatedToken {
  token: Token;
  secret: string;
}

export interface Quotas {
  tunnels: number | null;
  routes: number | null;
}

export interface Usage {
  tunnels: number;
  routes: number;
}

export type Role = 'user' | 'admin';

export interface Me {
  name: string;
  role: Role;
  quotas: Quotas;
  usage: Usage;
}

export interface AdminUser extends Me {
  createdAt: string;
}

/** One line of the audit trail (`GET /api/v1/events`). */
export interface AuditEvent {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  details: Record<string, unknown>;
}
export type { AuditEvent as Event };

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** `DELETE /api/v1/tunnels/{tunnel}/routes?service=`: the routes gone, and those still going. */
export interface RouteDeletion {
  deleted: string[];
  pending: string[];
}

export interface CreateTunnelInput {
  name?: string;
  configMode?: ConfigMode;
}

export interface CreateRouteInput {
  service: string;
  name?: string;
  /** Only these source addresses/CIDR ranges may reach the hostname. */
  allowIps?: string[];
  /** HTTP routes: people allowed through Cloudflare Access. */
  access?: RouteAccess;
}

export interface CreateTokenInput {
  name: string;
  expiresInDays?: number;
}

/** `null` restores the default quota. */
export interface QuotasInput {
  tunnels?: number | null;
  routes?: number | null;
}

/**
 * What a mutation with `?wait=` answered. `converged` is true when the reconciler finished
 * within the wait (201 created / 204 deleted); otherwise (202) `value` is the object as it
 * stands, with its `phase` and `lastError`, and the reconciler keeps going.
 */
export interface Accepted<T> {
  converged: boolean;
  status: number;
  value: T;
}

/** The error body every API v1 path answers with. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    details?: Record<string, unknown>;
    requestId?: string;
  };
}

// The proof of concept's API (paths without a prefix).

export interface LegacyIngressRule {
  hostname?: string;
  service: string;
}

/** The tunnel's cloudflared config as an object: newest route first, the catch-all last. */
export interface LegacyConfig {
  tunnel: string;
  ingress: LegacyIngressRule[];
}

export interface LegacyTunnel {
  name: string;
  config: LegacyConfig;
}

export interface LegacyTunnelResult {
  result: 'ok';
  tunnel: LegacyTunnel;
}

export interface LegacyTunnelList {
  result: 'ok';
  tunnels: LegacyTunnel[];
}

export interface LegacyDeleteResult {
  result: 'ok' | 'error';
  name: string;
}
