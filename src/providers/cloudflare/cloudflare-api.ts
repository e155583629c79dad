/**
 * The Cloudflare adapter as the rest of the code sees it: one `CloudflareApi` combining the
 * narrow interface of each resource (tunnels, Access, the account; per zone DNS and the legacy
 * firewall rules), all of them calling through one paced SDK client. The compiler checks that every
 * part is implemented.
 */
import { createAccessApi, type AccessApi } from './access.js';
import { createAccountApi, type AccountApi } from './account.js';
import { createDnsApi, type DnsApi } from './dns.js';
import { createFirewallApi, type FirewallApi } from './firewall.js';
import { createCloudflareClient, type CloudflareApiOptions } from './sdk-client.js';
import { createTunnelsApi, type TunnelsApi } from './tunnels.js';

/** What lives in one zone: its DNS records and (legacy) firewall rules. */
export type ZoneApi = DnsApi & FirewallApi;

export type CloudflareApi = TunnelsApi &
  AccountApi &
  AccessApi & {
    /** One zone's resources (every call through the same paced client and budget: the token's). */
    zone(zoneId: string): ZoneApi;
  };

export function createCloudflareApi(opts: CloudflareApiOptions): CloudflareApi {
  const client = createCloudflareClient(opts);
  const zones = new Map<string, ZoneApi>();
  return {
    ...createTunnelsApi(client),
    ...createAccountApi(client),
    ...createAccessApi(client),
    zone(zoneId) {
      let api = zones.get(zoneId);
      if (!api) {
        api = { ...createDnsApi(client, zoneId), ...createFirewallApi(client, zoneId) };
        zones.set(zoneId, api);
      }
      return api;
    },
  };
}
