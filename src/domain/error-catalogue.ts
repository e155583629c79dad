/**
 * Every error code a user can meet, once: its HTTP status and when it happens. `AppError` takes
 * its status from here (a code not in this table does not compile), the server answers from it,
 * and docs/api.md's tables are checked against it by a test (error-catalogue.test.ts).
 */

export const ERRORS = {
  'request.invalid': { status: 400, when: 'body or query fails the schema (`details.issues` lists them)' },
  'tunnel.invalid_name': {
    status: 400,
    when: 'a tunnel name (in a path or a body) that is not 1–24 of `[a-z0-9-]` starting with a letter (8 random letters when generated)',
  },
  'route.invalid_service': {
    status: 400,
    when: 'a service URL cloudflared would refuse or that Tunnelplane does not support (`details.rule`)',
  },
  'route.invalid_name': {
    status: 400,
    when: 'a route name that is not 1–24 of `[a-z0-9]` (no `-`: `<route>-<tunnel>` must split one way)',
  },
  'route.invalid_allow_list': {
    status: 400,
    when: 'an `allowIps` entry that is not one IPv4 (four decimal parts) or IPv6 address or CIDR range in canonical form: no zone id (`%eth0`), no leading zeros in the prefix, no bits set below it (the message names the range meant); or more than 50',
  },
  'route.protection_too_large': {
    status: 400,
    when: "the route's Access application would hold more rules than Cloudflare allows in one (each email or domain counts once per allowed range; `details: {rules, limit}`)",
  },
  'route.invalid_access': {
    status: 400,
    when: '`access` on a TCP route, or an entry that is not an email / domain',
  },
  'route.invalid_hostname': {
    status: 400,
    when: 'a chosen `hostname` that is not one DNS label of `[a-z0-9-]` (1–63, no leading, trailing or double `-`), optionally followed by `.<zone>`',
  },
  'route.hostname_prefix': {
    status: 400,
    when: "a chosen `hostname` without the owner's prefix the operator requires (`routes.hostnamePrefix: owner`; `details.prefix`)",
  },
  'route.invalid_origin_request': {
    status: 400,
    when: "an `originRequest` option that is unknown, of the wrong type or range, or meaningless for the route's service (`details.field`)",
  },
  'route.origin_option_unavailable': {
    status: 400,
    when: 'an option this server is not set up for: `originRequest.access` without `access.teamName`, `access.groups` without `access.identityProviderId`',
  },
  'route.protocol_change': {
    status: 400,
    when: 'a PATCH that would turn an HTTP route into a TCP one or back (its protection and cluster objects differ): delete it and add a new one',
  },
  'tunnel.config_mode_change': {
    status: 400,
    when: 'a PATCH from `remote` to `local` configuration: Cloudflare cannot move a tunnel back to a local configuration',
  },
  'request.invalid_precondition': {
    status: 400,
    when: '`If-Match` that is not an ETag this server gives (`"<generation>"`, or `*`)',
  },
  'request.invalid_idempotency_key': {
    status: 400,
    when: '`Idempotency-Key` that is not 1–255 printable ASCII characters',
  },
  'route.unknown_zone': {
    status: 422,
    when: 'a route `zone` that is not one of the zones the operator configured (`details.zones`: those you may use)',
  },
  'route.zone_forbidden': {
    status: 403,
    when: 'a route `zone` the admin has not let you (or your teams) use (`details.zones`: those you may use)',
  },
  'zone.unknown': {
    status: 422,
    when: 'pinning a user or team to a zone the operator did not configure (`details.zones`: the configured ones)',
  },
  'config.invalid_instance': {
    status: 400,
    when: 'an installation id that is not 1–12 of `[a-z0-9]` (configuration)',
  },
  'auth.required': { status: 401, when: 'no credentials (`WWW-Authenticate: Basic realm="tunnelplane"`)' },
  'auth.invalid': {
    status: 401,
    when: 'wrong credentials, Basic credentials that are not canonical base64 or hold control characters',
  },
  'auth.forbidden': { status: 403, when: 'admin-only path' },
  'auth.scope': {
    status: 403,
    when: 'an API token without the scope the request needs (`read` for GETs, `write` for changes, `admin` for admin paths; `details.missing`)',
  },
  'auth.disabled': {
    status: 403,
    when: 'the account is disabled at Tunnelplane (passwords, tokens, sessions and single sign-on are all refused)',
  },
  'auth.csrf': {
    status: 403,
    when: "a change made with a session cookie without the session's `X-CSRF-Token` header",
  },
  'auth.password_disabled': {
    status: 403,
    when: 'a password sign-in while the operator turned password sign-in off (`identity.passwordSignIn: false`)',
  },
  'auth.wrong_password': { status: 403, when: 'changing your password with a wrong current password' },
  'route.hostname_reserved': {
    status: 403,
    when: 'a chosen `hostname` the operator reserved (`routes.reservedHostnames`: www, api, mail, … by default)',
  },
  'token.exceeds': {
    status: 403,
    when: 'a token asked for with a scope, or an expiry, beyond the credential that asks (`details.scopes` or `details.expiresAt`)',
  },
  'token.bad_scope': { status: 400, when: 'a scope that is not `read`, `write` or `admin`, or none' },
  'user.invalid_name': {
    status: 400,
    when: 'a user or team name that is not 1–64 of `[A-Za-z0-9._@-]`',
  },
  'user.weak_password': { status: 400, when: 'a new password shorter than 8 characters' },
  'user.last_admin': {
    status: 409,
    when: 'disabling, demoting or removing the last enabled admin (someone must be able to administer)',
  },
  'team.not_found': { status: 404, when: 'unknown team, or one you are not a member of' },
  'team.name_taken': { status: 409, when: 'uniqueness' },
  'team.has_tunnels': { status: 409, when: 'removing a team that still owns tunnels' },
  'sso.not_configured': {
    status: 404,
    when: 'a single sign-on path on a server with no identity provider configured (`identity.oidc`)',
  },
  'sso.failed': {
    status: 401,
    when: "the identity provider's answer was refused: a state or nonce used already or unknown, an ID token tampered with, expired, or for another audience (`details.reason`)",
  },
  'sso.pending': {
    status: 400,
    when: 'device sign-in: the user has not approved it at the identity provider yet; poll again after `details.interval` seconds',
  },
  'sso.expired': { status: 400, when: 'device sign-in: the code expired or was denied; start again' },
  'sso.unavailable': {
    status: 503,
    when: 'the identity provider could not be reached (`Retry-After`)',
  },
  'quota.exceeded': {
    status: 403,
    when: '`details: {resource, limit, used}`, resource one of `tunnels`, `routes`, `protectedRoutes`, `tcpRoutes` (protected: TCP, Access for people, allow-lists)',
  },
  'tunnel.not_found': {
    status: 404,
    when: "unknown or not yours (never 403: other users' objects do not exist for you)",
  },
  'route.not_found': { status: 404, when: 'unknown or not yours' },
  'token.not_found': { status: 404, when: 'unknown or not yours' },
  'user.not_found': { status: 404, when: 'unknown user (admin paths)' },
  'webhook.not_found': { status: 404, when: 'no webhook of that name is configured (`webhooks`)' },
  'route.unknown_path': { status: 404, when: 'no such path' },
  'tunnel.name_taken': { status: 409, when: 'uniqueness' },
  'route.name_taken': { status: 409, when: 'uniqueness' },
  'route.hostname_taken': { status: 409, when: 'uniqueness: another route (of any user) has that hostname' },
  'route.hostname_foreign': {
    status: 409,
    when: 'a chosen `hostname` whose name already has a DNS record Tunnelplane did not make (left untouched)',
  },
  'idempotency.in_progress': {
    status: 409,
    when: 'a POST with an `Idempotency-Key` whose first request is still being answered; retry shortly',
  },
  'user.name_taken': { status: 409, when: 'uniqueness' },
  'tunnel.deleting': { status: 409, when: 'a change to a tunnel that is being deleted' },
  'tunnel.not_ready': {
    status: 409,
    when: 'credentials, config or token of a tunnel Cloudflare has not created yet (`details.phase`, `details.lastError`)',
  },
  'route.no_service_token': {
    status: 409,
    when: 'rotating the token of a route that has none (only TCP-like routes do)',
  },
  'user.has_tunnels': {
    status: 409,
    when: 'removing a user who still owns personal tunnels (team tunnels stay with the team)',
  },
  'capacity.exhausted': {
    status: 409,
    when: 'the Cloudflare account (shared by every user) has no Access application or service token left for this route (`details: {resource, limit, used}`, resource `accessApplications` or `serviceTokens`); nothing was written',
  },
  'request.timeout': {
    status: 408,
    when: 'the request line and headers did not arrive in time (the connection is closed)',
  },
  'request.too_large': { status: 413, when: 'body over 64 KiB' },
  'request.precondition_failed': {
    status: 412,
    when: "`If-Match` names a generation that is no longer current: someone changed the object since you read it (`details.generation` is today's)",
  },
  'idempotency.key_reused': {
    status: 422,
    when: '`Idempotency-Key` already used, within `api.idempotencyHours`, for a different request (another path or body)',
  },
  'request.uri_too_long': { status: 414, when: 'a path segment over 100 characters (no name is that long)' },
  'request.headers_too_large': {
    status: 431,
    when: 'the request line and headers together over 16 KiB, a long URL included (the connection is closed)',
  },
  'request.unsupported_media_type': { status: 415, when: 'a body that is not `application/json`' },
  'auth.throttled': {
    status: 429,
    when: 'too many failed passwords for this account from this address, or for this account from addresses it has not signed in from lately (`Retry-After`)',
  },
  'rate.limited': {
    status: 429,
    when: "this user's changes come faster than the server allows (`Retry-After`; `api.mutationsPerMinute`)",
  },
  'auth.busy': {
    status: 503,
    when: 'the whole server is checking too many passwords at once, across many accounts (with `Retry-After`); API tokens are never throttled this way',
  },
  'database.unavailable': {
    status: 503,
    when: 'the database is away (restarting, unreachable); try again (`Retry-After`)',
  },
  internal: { status: 500, when: 'never shows internals; `requestId` finds it in the log' },
} as const satisfies Record<string, { status: number; when: string }>;

export type ErrorCode = keyof typeof ERRORS;

/**
 * Why a route waits (its `errorCode` beside `lastError`): stable codes of the reconciler's
 * findings; `cloudflare.*` and `kubernetes.*` follow `<provider>.<kind>` of the provider's answer.
 */
export const ROUTE_ERRORS = {
  'dns.foreign_record':
    'a record Tunnelplane did not make holds its name (left untouched; phase `error`, retried at each resync)',
  'dns.record_quota': "the zone's record quota is used up (phase `error`, retried at each resync)",
  'dns.unknown_zone':
    "the route's zone is no longer configured (`cloudflare.zones`): its record can be neither written nor deleted until it is again",
  'reconciler.unfinished': 'a step did not run for it this pass (retried at once)',
} as const;

export type RouteErrorCode = keyof typeof ROUTE_ERRORS;
