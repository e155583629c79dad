/** Public surface of the Cloudflare adapter: import from here, not from the files. */
export { createCloudflareApi, type CloudflareApi, type ZoneApi } from './cloudflare-api.js';
export { endpointLabel, type CloudflareApiOptions, type CloudflareCallObserver } from './sdk-client.js';
export { translateError } from './errors.js';
export type { CloudflareTunnelInfo, TunnelConnection, TunnelsApi } from './tunnels.js';
export type { CnameInput, DnsApi, DnsRecord } from './dns.js';
export type { AccessApi, AccessApp, ServiceToken } from './access.js';
export type { FirewallApi, FirewallRule } from './firewall.js';
export type { AccountApi, CloudflareFamily, ZoneInfo } from './account.js';
export * from './rate-limiter.js';
