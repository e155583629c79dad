// Authentication and scoping, in the order Cloudflare applies them: credentials present
// and well formed (9106 / 6003), token known (10000, or 1000 on /tokens/verify), then the
// token's account, zone and permission cover the request (403 10000).
import type { IncomingHttpHeaders } from 'node:http';
import { apiErrors } from './errors.js';
import { HEX32 } from './ids.js';
import type { Route } from './router.js';
import type { ApiTokenRow, Store } from './state.js';

const TOKEN_FORMAT = /^[A-Za-z0-9_-]{40}$/;

/** The bearer token in the request, or undefined when none is sent. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const header = headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? header;
}

/** Finds the token the request authenticates with, or throws Cloudflare's error. */
export function authenticate(store: Store, headers: IncomingHttpHeaders, isVerify: boolean): ApiTokenRow {
  const header = headers.authorization;
  if (!header) {
    if (headers['x-auth-key'] || headers['x-auth-email']) throw apiErrors.malformedAuthKey();
    throw apiErrors.missingAuth();
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw apiErrors.malformedAuthorization();
  const value = match[1];
  const token = store.state.apiTokens.find((t) => t.value === value);
  if (token) return token;
  // Configured tokens may have any shape; unknown ones are judged by Cloudflare's format.
  if (!TOKEN_FORMAT.test(value)) throw apiErrors.malformedAuthorization();
  throw isVerify ? apiErrors.invalidToken() : apiErrors.authentication();
}

/** Checks the token may use this route on this account/zone; throws 7003 or 10000. */
export function authorize(
  store: Store,
  token: ApiTokenRow,
  route: Route,
  params: Record<string, string>,
  path: string,
): void {
  const { account, zone } = params;
  if (account !== undefined) {
    if (!HEX32.test(account)) throw apiErrors.noRoute(path);
    if (token.accountId !== account) throw apiErrors.authentication();
  }
  if (zone !== undefined) {
    if (!HEX32.test(zone)) throw apiErrors.noRoute(path);
    const known = store.state.zones.some((z) => z.id === zone);
    if (!known || !token.zoneIds.includes(zone)) throw apiErrors.authentication();
  }
  if (route.area) {
    const access = token.permissions[route.area];
    if (!access || (route.method !== 'GET' && access !== 'edit')) throw apiErrors.authentication();
  }
}
