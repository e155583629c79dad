/**
 * The typed client of the Tunnelplane API (docs/api.md): the narrow interface of each resource
 * (tunnels.ts, accounts.ts, zones.ts, sign-in.ts, system.ts, legacy.ts) combined into one `TunnelplaneClient`, all
 * sending through one transport. Immutable: `withAuth` returns a new client.
 */
import {
  createAccountApi,
  createAdminApi,
  createEventsApi,
  createTokensApi,
  type AccountApi,
  type AdminApi,
  type EventsApi,
  type TokensApi,
} from './accounts.js';
import { createLegacyApi, type LegacyApi } from './legacy.js';
import { createSignInApi, type SignInApi } from './sign-in.js';
import { createSystemApi, type SystemApi } from './system.js';
import { createTransport, type CallOptions, type ClientAuth, type ClientOptions } from './transport.js';
import { createRoutesApi, createTunnelsApi, type RoutesApi, type TunnelsApi } from './tunnels.js';
import type { Me } from './types.js';
import { createZonesApi, type ZonesApi } from './zones.js';

export interface TunnelplaneClient {
  /** The normalised base URL, without a trailing slash. */
  readonly baseUrl: string;
  readonly auth: ClientAuth | null;
  me(options?: CallOptions): Promise<Me>;
  /** Your password and teams. */
  readonly account: AccountApi;
  readonly tunnels: TunnelsApi;
  readonly routes: RoutesApi;
  readonly tokens: TokensApi;
  readonly events: EventsApi;
  readonly admin: AdminApi;
  /** The zones you may use; admins: who is pinned to which. */
  readonly zones: ZonesApi;
  /** The public sign-in paths (no credentials sent): methods, the device flow. */
  readonly signIn: SignInApi;
  readonly system: SystemApi;
  readonly legacy: LegacyApi;
  /** The same client with other credentials (or none). */
  withAuth(auth: ClientAuth | null): TunnelplaneClient;
}

export function createTunnelplaneClient(options: ClientOptions): TunnelplaneClient {
  const transport = createTransport(options);
  const { baseUrl, auth } = transport;
  return {
    baseUrl,
    auth,
    me: (o = {}) => transport.json<Me>({ method: 'GET', path: 'api/v1/me', signal: o.signal }),
    account: createAccountApi(transport),
    tunnels: createTunnelsApi(transport),
    routes: createRoutesApi(transport),
    tokens: createTokensApi(transport),
    events: createEventsApi(transport),
    admin: createAdminApi(transport),
    zones: createZonesApi(transport),
    signIn: createSignInApi(transport),
    system: createSystemApi(transport),
    legacy: createLegacyApi(transport),
    withAuth: (next) => createTunnelplaneClient({ ...options, baseUrl, auth: next }),
  };
}
