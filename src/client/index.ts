/** Public surface of the Tunnelplane API client: import from here, not from the files. */
export { createTunnelplaneClient, type TunnelplaneClient } from './client.js';
export { normaliseBaseUrl, MAX_WAIT_SECONDS } from './transport.js';
export type { CallOptions, ClientAuth, ClientOptions, ListOptions, WaitOptions } from './transport.js';
export { MAX_TTL_SECONDS, MIN_TTL_SECONDS } from './tunnels.js';
export type { RoutesApi, TunnelsApi } from './tunnels.js';
export { SCOPES } from './accounts.js';
export type { AccountApi, AdminApi, EventsApi, TokensApi } from './accounts.js';
export type { SignInApi } from './sign-in.js';
export type { ZonesApi } from './zones.js';
export type { SystemApi } from './system.js';
export type { LegacyApi } from './legacy.js';
export {
  TunnelplaneError,
  TunnelplaneApiError,
  TunnelplaneConnectionError,
  isApiError,
  isConnectionError,
} from './errors.js';
export type * from './types.js';
