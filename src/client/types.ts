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
  /** The zone the hostname is one label under. Absent from older servers. */
  zone?: string;
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
  /** cloudflared's origin options (its own key names; durations in seconds). Absent from older servers. */
  originRequest?: OriginRequestOptions | null;
  /** Bumped by every change; `update` may name it (`ifMatch`) so a concurrent change is not overwritten. */
  generation?: number;
  /** When the control plane deletes the route by itself (`ttlSeconds`); null: never. Absent from older servers. */
  expiresAt?: string | null;
}

/** Cloudflare Access for people on an HTTP route. */
export interface RouteAccess {
  emails?: string[];
  emailDomains?: string[];
  /** Identity-provider groups (the Access IdP the operator configured). */
  groups?: string[];
  /** How long an Access session lasts: `30m`, `24h` (default 24h). */
  sessionDuration?: string;
}

/** cloudflared's `originRequest` keys Tunnelplane sets (see docs/api.md). */
export type OriginRequestOptions = Record<string, unknown>;

/** A change of a route in place: absent fields stay, `null` clears. */
export interface UpdateRouteInput {
  service?: string;
  allowIps?: string[] | null;
  access?: RouteAccess | null;
  originRequest?: OriginRequestOptions | null;
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
  /** When the control plane deletes the tunnel by itself (`ttlSeconds`); null: never. Absent from older servers. */
  expiresAt?: string | null;
  /**
   * Whether cloudflared is connected, as Cloudflare says it; null until the control plane's first
   * health refresh. Absent from older servers.
   */
  connectors?: Connectors | null;
  routes: Route[];
}

/** `inactive`: never ran; `healthy`; `degraded`: fewer connections than usual; `down`: none now. */
export type ConnectorStatus = 'inactive' | 'healthy' | 'degraded' | 'down';

/** One connection of a cloudflared connector to Cloudflare's edge. */
export interface Connection {
  /** The Cloudflare data centre, e.g. `ams01`. */
  colo: string;
  /** cloudflared's version. */
  clientVersion: string;
  /** The address cloudflared connected from. */
  originIp: string;
  openedAt: string;
}

/** A tunnel's connectors as the control plane last heard of them from Cloudflare. */
export interface Connectors {
  status: ConnectorStatus;
  connections: Connection[];
  /** When last confirmed. */
  checkedAt: string;
  /** When the status last changed. */
  since: string | null;
}

/** What an API token may do: `read` (every GET), `write` (changes), `admin` (the admin paths, for admins). */
export type Scope = 'read' | 'write' | 'admin';

export interface Token {
  id: string;
  name: string;
  /** Absent from servers older than scoped tokens. */
  scopes?: Scope[];
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

/** How a person signs in: with a password, with single sign-on (an identity provider vouches), or both. */
export type SignInMethod = 'password' | 'sso';

export interface TeamRef {
  name: string;
}

/** A person as the API shows them (`/me`, `/admin/users`). Fields after `usage` are absent from older servers. */
export interface User {
  name: string;
  role: Role;
  quotas: Quotas;
  usage: Usage;
  disabled?: boolean;
  email?: string | null;
  signIn?: SignInMethod[];
  teams?: TeamRef[];
  createdAt?: string;
}

/** `GET /api/v1/me`: the caller, and what the credential in use may do. */
export interface Me extends User {
  authenticatedWith?: 'basic' | 'token' | 'session';
  scopes?: Scope[];
  /** When the credential stops working (a token's expiry); null: never. */
  expiresAt?: string | null;
}

export interface AdminUser extends User {
  createdAt: string;
}

export interface TeamMember {
  name: string;
  /** `manual`: added by an admin; `sso`: from the identity provider's groups claim. */
  source: 'manual' | 'sso';
  since: string;
}

/** A team: it owns tunnels (owner `team:<name>`); its members see and manage them. */
export interface Team {
  name: string;
  quotas: Quotas;
  usage: Usage;
  members?: TeamMember[];
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
  /** One of your teams: it owns the tunnel (`team.not_found` when you are not in it). */
  team?: string;
  /** Deleted by itself this long after creation: whole seconds, 60 to 2592000 (30 days). */
  ttlSeconds?: number;
  /** The zone the hostname lives under (one of `zones.list()`); default: your default zone. */
  zone?: string;
}

/** A zone routes may live under. */
export interface Zone {
  name: string;
  id: string;
  /** The plan's name as Cloudflare said (null: not read). */
  plan: string | null;
  dnsBatchLimit: number;
  /** Whether it is the caller's default. */
  default: boolean;
}

/** The zones the caller may use, and their default (null: none). */
export interface ZoneList {
  items: Zone[];
  defaultZone: string | null;
}

/** The zones pinned to a user or team; empty: every zone. */
export interface ZonePins {
  zones: string[];
}

export interface CreateRouteInput {
  service: string;
  name?: string;
  /** A label of the zone (`myapp` → `myapp.<zone>`); none: `<name>-<tunnel>.<zone>`. */
  hostname?: string;
  /** The zone the hostname lives under (one of `zones.list()`); default: your default zone. */
  zone?: string;
  originRequest?: OriginRequestOptions;
  /** Only these source addresses/CIDR ranges may reach the hostname. */
  allowIps?: string[];
  /** HTTP routes: people allowed through Cloudflare Access. */
  access?: RouteAccess;
  /** Deleted by itself this long after creation: whole seconds, 60 to 2592000 (30 days). */
  ttlSeconds?: number;
}

export interface CreateTokenInput {
  name: string;
  /** Default: the scopes of the credential that asks; never more (`token.exceeds`). */
  scopes?: Scope[];
  expiresInDays?: number;
}

export interface ChangePasswordInput {
  currentPassword: string;
  newPassword: string;
}

/** A password set: how many of the user's API tokens the server revoked with it (by its operator's choice). */
export interface PasswordChanged {
  tokensRevoked: number;
}

export interface CreateUserInput {
  name: string;
  /** Without one the user signs in only with single sign-on. */
  password?: string;
  role?: Role;
}

export interface UserPatch {
  role?: Role;
  /** A disabled user is refused everywhere; their tunnels keep running. */
  disabled?: boolean;
}

export interface CreateTeamInput {
  name: string;
  quotas?: QuotasInput;
}

/** `GET /auth/methods`: how one signs in at this server. */
export interface SignInMethods {
  password: boolean;
  sso: boolean;
  /** The device flow (`tunnelctl login --sso`). */
  device: boolean;
}

/** `POST /auth/password`. */
export interface PasswordSignInInput {
  name: string;
  password: string;
}

/** A browser session (`POST /auth/password`, `GET /auth/session`): who, until when, and the CSRF token. */
export interface Session {
  user: User;
  /** What changes made with the cookie send as `X-CSRF-Token`; null for other credentials. */
  csrfToken: string | null;
  expiresAt: string | null;
}

/** `POST /api/v1/auth/device`: what to show the user, and the code to poll with. */
export interface DeviceAuthorization {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  /** The URL with the user code in it, when the provider gives one. */
  verificationUriComplete: string | null;
  /** Seconds to wait between polls. */
  interval: number;
  /** Seconds the codes stay valid. */
  expiresIn: number;
}

export interface DeviceTokenInput {
  deviceCode: string;
  tokenName?: string;
  expiresInDays?: number;
}

/**
 * One poll of a device sign-in: not approved yet (poll again after `interval` seconds, which the
 * server may have raised), or done with an API token for the user.
 */
export type DevicePoll =
  { status: 'pending'; interval: number } | { status: 'done'; user: string; token: Token; secret: string };

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

/**
 * `ok` once deleted, `error` with the name when it was not gone within the wait; `error` with the
 * proof of concept's message when the caller has no such tunnel.
 */
export type LegacyDeleteResult =
  | { result: 'ok'; name: string }
  | { result: 'error'; name: string; message: string }
  | { result: 'error'; message: string };
