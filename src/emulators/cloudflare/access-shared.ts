// What every Access module shares: the Go-duration check (durations must fit Go's
// time.Duration), the Access page limits, the `accessInvalid` error, and the per-route
// context (account, limits in force, body reader, application lookup, policy removal).
import type { AccessLimits, AccessLimitSettings } from './access-limits.js';
import { apiErrors } from './errors.js';
import { bodyObject, type JsonObject, type PageLimits } from './input.js';
import type { RouteContext } from './router.js';
import type { AccessAppRow, AccessPolicyRow, Store } from './state.js';

/** Access lists: default 25 (UNVERIFIED), at most 1000. */
export const ACCESS_PAGES: PageLimits = { defaultPerPage: 25, maxPerPage: 1000 };
const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
/** Go's time.Duration is an int64 of nanoseconds: at most 2562047h47m16.854775807s. */
const MAX_DURATION_MS = 9_223_372_036_854.775807;

export const invalid = apiErrors.accessInvalid;

/** Milliseconds in a Go duration string such as `8760h` or `1h30m`. */
export function goDurationMs(value: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };
  let total = 0;
  for (const [, amount = '0', unit = 'ms'] of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(amount) * (units[unit] ?? 0);
  }
  return total;
}

export function checkDuration(value: unknown, field: string, allowForever = false): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !(GO_DURATION.test(value) || (allowForever && value === 'forever'))) {
    throw invalid(`${field} must be a duration such as "24h"${allowForever ? ' or "forever"' : ''}`);
  }
  if (value !== 'forever' && goDurationMs(value) > MAX_DURATION_MS) {
    throw invalid(`${field} "${value}" is out of range: a duration can be at most 2562047h47m16.854775807s`);
  }
  return value;
}

/** Helpers the Access route families share; `limits()` reads the limits in force at call time. */
export interface AccessContext {
  base: string;
  limits: () => AccessLimits;
  account: (ctx: RouteContext) => string;
  body: (ctx: RouteContext) => JsonObject;
  findApp: (ctx: RouteContext) => AccessAppRow;
  removePolicy: (policy: AccessPolicyRow) => void;
}

export function accessContext(store: Store, settings: AccessLimitSettings): AccessContext {
  const base = '/accounts/:account/access';
  const limits = () => settings.limits;
  const account = (ctx: RouteContext) => ctx.params.account ?? '';
  const body = (ctx: RouteContext) => bodyObject(ctx.body, invalid);

  const findApp = (ctx: RouteContext): AccessAppRow => {
    const app = store.state.accessApps.find((a) => a.id === ctx.params.app && a.accountId === account(ctx));
    if (!app) throw apiErrors.accessNotFound('application');
    return app;
  };
  const removePolicy = (policy: AccessPolicyRow) => {
    store.state.accessPolicies = store.state.accessPolicies.filter((p) => p !== policy);
  };
  return { base, limits, account, body, findApp, removePolicy };
}
