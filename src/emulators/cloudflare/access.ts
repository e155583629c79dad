// Cloudflare Access at account level (reference §4.2): applications (with `aud`), reusable
// policies, app-scoped policies and service tokens. Invariants: a service token's
// `client_secret` appears only in the create and rotate responses; an application's
// policies are returned embedded, in precedence order; a reusable policy still linked to
// an application cannot be deleted; deleting an application deletes its app-scoped policies;
// an application links reusable policies and its own app-scoped ones, never another's;
// durations are Go durations that fit Go's time.Duration; rules are validated by
// access-rules.ts; the account limits of access-limits.ts hold after every call.
//
// This module composes the families, in route order: access-apps.ts (applications),
// access-policies.ts (app-scoped and reusable policies), access-service-tokens.ts (service
// tokens); access-shared.ts holds the duration check and the shared route context.
import { applicationRoutes } from './access-apps.js';
import type { AccessLimitSettings } from './access-limits.js';
import { policyRoutes } from './access-policies.js';
import { serviceTokenRoutes } from './access-service-tokens.js';
import { accessContext } from './access-shared.js';
import type { Route } from './router.js';
import type { Store } from './state.js';

export { goDurationMs } from './access-shared.js';

export function accessRoutes(store: Store, settings: AccessLimitSettings): Route[] {
  const access = accessContext(store, settings);
  return [
    ...applicationRoutes(store, access),
    ...policyRoutes(store, access),
    ...serviceTokenRoutes(store, access),
  ];
}
