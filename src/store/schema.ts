/**
 * The database schema as Kysely types. Timestamps are RFC 3339 UTC strings (they sort as text
 * on both SQLite and PostgreSQL); booleans are 0/1 integers for the same reason.
 */
import type { Generated } from 'kysely';

export interface UsersTable {
  id: string;
  name: string;
  password_hash: string;
  role: 'user' | 'admin';
  quota_tunnels: number | null;
  quota_routes: number | null;
  created_at: string;
  updated_at: string;
  /** A person signs in; a team only owns tunnels (its members act on them). */
  kind: Generated<'person' | 'team'>;
  /** 1: refused at every sign-in, even with a valid ID token; their tunnels keep running. */
  disabled: Generated<number>;
  /** Who vouches for the person when they sign in with single sign-on: the ID token's `iss` and `sub`. */
  oidc_issuer: string | null;
  oidc_subject: string | null;
  email: string | null;
}

/** Who is in which team (both are `users` rows); `sso` memberships follow the groups claim. */
export interface TeamMembersTable {
  team_id: string;
  user_id: string;
  source: 'manual' | 'sso';
  created_at: string;
}

/** A browser's signed-in session: the cookie holds the secret, this row its SHA-256. */
export interface SessionsTable {
  id_hash: string;
  user_id: string;
  /** The token a cookie-authenticated change must send back in `X-CSRF-Token`. */
  csrf: string;
  created_at: string;
  expires_at: string;
}

/** A sign-in in progress (authorization code: state, nonce, verifier; device: the device code), sealed. */
export interface SignInFlowsTable {
  id_hash: string;
  kind: 'code' | 'device';
  data_sealed: string;
  expires_at: string;
}

/** Changes on every change of a user's tunnels the API shows (migration 0005's triggers). */
export interface TunnelListVersionsTable {
  owner_id: string;
  version: number;
}

/** Changes when a person's tokens or team memberships change (migration 0012's triggers). */
export interface AuthVersionsTable {
  user_id: string;
  version: number;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  /** Space-separated: `read`, `write`, `admin` (the last counts only for admins). */
  scopes: Generated<string>;
}

export interface TunnelsTable {
  id: string;
  owner_id: string;
  name: string;
  config_mode: 'local' | 'remote';
  /** The tunnel secret, sealed with the server key. */
  secret_sealed: string;
  /** Cloudflare's tunnel UUID, recorded as soon as Cloudflare answers. */
  cf_tunnel_id: string | null;
  generation: number;
  observed_generation: number;
  phase: 'pending' | 'ready' | 'error' | 'deleting';
  last_error: string | null;
  last_error_code: string | null;
  /** 1 once the user asked for deletion: a finalizer, the row goes when the outside is clean. */
  deleting: Generated<number>;
  /** Hash of the remote configuration last accepted by Cloudflare, to skip identical PUTs. */
  config_hash: string | null;
  config_version: number | null;
  /** Changes with every insert, update or delete of one of its routes (a trigger keeps it). */
  routes_version: Generated<number>;
  attempts: Generated<number>;
  next_attempt_at: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  created_at: string;
  updated_at: string;
  /** When the tunnel is deleted by itself (`ttlSeconds`); null: never. */
  expires_at: string | null;
  /** Cloudflare's word on its connectors: `inactive` (never ran), `healthy`, `degraded`, `down`; null: not read yet. */
  connector_status: 'inactive' | 'healthy' | 'degraded' | 'down' | null;
  /** JSON `[{colo, clientVersion, originIp, openedAt}]`. */
  connector_connections: string | null;
  /** When a health refresh last confirmed it (written on a change, and at least every few minutes). */
  connector_checked_at: string | null;
  /** When `connector_status` last changed. */
  connector_since: string | null;
  /** 1 once "never connected" was reported for it. */
  never_connected_reported: Generated<number>;
}

export interface RoutesTable {
  id: string;
  tunnel_id: string;
  name: string;
  hostname: string;
  /** The zone (apex name) the hostname is one label under; its DNS record lives there (0011). */
  zone: string;
  service: string;
  protocol: string;
  phase: 'pending' | 'ready' | 'error' | 'deleting';
  last_error: string | null;
  deleting: Generated<number>;
  dns_record_id: string | null;
  /** 1 when a DNS create may have reached Cloudflare without us seeing the answer. */
  dns_uncertain: Generated<number>;
  /**
   * Cloudflare Access protection of every protected route: its application and, for TCP-like
   * routes, its service token (`access_policy_id`: unused, kept from before app-scoped policies).
   */
  access_app_id: string | null;
  access_aud: string | null;
  access_policy_id: string | null;
  service_token_id: string | null;
  service_token_client_id: string | null;
  /** The service token's client secret, sealed with the server key. */
  service_token_sealed: string | null;
  /** Bumped at each rotation; rolls the access pods. */
  token_version: Generated<number>;
  /** 1 when an Access create may have happened without us seeing the answer. */
  access_uncertain: Generated<number>;
  /** 1 when an admin asked to rotate the service token. */
  rotate_requested: Generated<number>;
  /** Hash of the Kubernetes objects last applied, to skip identical applies. */
  k8s_hash: string | null;
  /** 1 once a deleted route's Kubernetes objects are gone. */
  k8s_removed: Generated<number>;
  /** Hash of the Access policies last applied to the route's application. */
  access_policies_hash: string | null;
  /** When the route's service token expires (Cloudflare's `expires_at`); renewed before. */
  service_token_expires_at: string | null;
  /** A stable code for `last_error` (e.g. `dns.foreign_record`). */
  last_error_code: string | null;
  k8s_ready: Generated<number>;
  k8s_reason: string | null;
  /** Cloudflare Access for people on an HTTP route: JSON `{emails, emailDomains}`; null = none. */
  access_rule: string | null;
  /** Source-IP allow-list (JSON array of addresses/CIDRs), enforced by the route's Access application; null = open. */
  allow_ips: string | null;
  created_at: string;
  updated_at: string;
  /** When the route is deleted by itself (`ttlSeconds`; `tunnelctl share`); null: never. */
  expires_at: string | null;
  /** Bumped by every change of what the route asks for (its ETag; `If-Match` on PATCH). */
  generation: Generated<number>;
  /** cloudflared's origin options (JSON, domain/origin-request.ts); null: its defaults. */
  origin_request: string | null;
}

/** A POST's answer, kept for its `Idempotency-Key` (a null status: the first request is still running). */
export interface IdempotencyKeysTable {
  user_id: string;
  key: string;
  /** SHA-256 of the method, path and body: a key reused for another request is refused. */
  fingerprint: string;
  status: number | null;
  body: string | null;
  location: string | null;
  created_at: string;
  expires_at: string;
}

/** One event to deliver to one webhook: attempts, the last answer, when it was delivered. */
export interface WebhookDeliveriesTable {
  id: Generated<number>;
  /** The webhook's name (configuration). */
  webhook: string;
  event_id: number;
  attempts: Generated<number>;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_at: string;
}

export interface EventsTable {
  id: Generated<number>;
  at: string;
  /** The user whose objects the event is about (null for server-wide events). */
  owner_id: string | null;
  actor: string;
  action: string;
  target: string;
  outcome: 'ok' | 'error';
  details: string;
}

export interface LeasesTable {
  name: string;
  owner: string;
  until: string;
}

/** Small server-wide values (e.g. the hash of the firewall rules last applied). */
export interface SettingsTable {
  name: string;
  value: string;
}

/** The zones an admin lets a user or team use (0011); none for someone: every zone. */
export interface ZoneGrantsTable {
  user_id: string;
  zone: string;
  created_at: string;
}

/** Names of tunnels (`tunnel`, the tunnel name) and routes (`route`, `<tunnel>/<route>`) whose rows were deleted. */
export interface TombstonesTable {
  kind: 'tunnel' | 'route';
  name: string;
  deleted_at: string;
}

/** Slots of the Cloudflare token's budget reserved by a replica (see budget-repository.ts). */
export interface RateGrantsTable {
  id: Generated<number>;
  owner: string;
  at: string;
  n: number;
}

export interface Database {
  users: UsersTable;
  api_tokens: ApiTokensTable;
  tunnels: TunnelsTable;
  routes: RoutesTable;
  idempotency_keys: IdempotencyKeysTable;
  zone_grants: ZoneGrantsTable;
  events: EventsTable;
  leases: LeasesTable;
  settings: SettingsTable;
  tunnel_list_versions: TunnelListVersionsTable;
  auth_versions: AuthVersionsTable;
  tombstones: TombstonesTable;
  rate_grants: RateGrantsTable;
  team_members: TeamMembersTable;
  sessions: SessionsTable;
  sign_in_flows: SignInFlowsTable;
  webhook_deliveries: WebhookDeliveriesTable;
}
