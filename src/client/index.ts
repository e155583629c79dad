/** Public surface of the Tunnelplane API client: import from here, not from the files. */
export { createTunnelplaneClient, normaliseBaseUrl, MAX_WAIT_SECONDS } from './client.js';
export type {
  AdminApi,
  CallOptions,
  ClientAuth,
  ClientOptions,
  EventsApi,
  LegacyApi,
  ListOptions,
  RoutesApi,
  SystemApi,
  TokensApi,
  TunnelplaneClient,
  TunnelsApi,
  WaitOptions,
} from './client.js';
export {
  TunnelplaneError,
  TunnelplaneApiError,
  TunnelplaneConnectionError,
  isApiError,
  isConnectionError,
} from './errors.js';
export type * from './types.js';
