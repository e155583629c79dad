/**
 * The Cloudflare adapter as the rest of the code sees it: one `CloudflareApi` combining the
 * narrow interface of each resource (tunnels, DNS, Access, the legacy firewall rules, the
 * account), all of them calling through one paced SDK client. The compiler checks that every
 * part is implemented.
 */
import { createAccessApi, type AccessApi } from './access.js';
import { createAccountApi, type AccountApi } from './account.js';
import { createDnsApi, type DnsApi } from './dns.js';
import { createFirewallApi, type FirewallApi } from './firewall.js';
import { createCloudflareClient, type CloudflareApiOptions } from './sdk-client.js';
import { createTunnelsApi, type TunnelsApi } from './tunnels.js';

export type CloudflareApi = TunnelsApi & DnsApi & AccountApi & AccessApi & FirewallApi;

export function createCloudflareApi(opts: CloudflareApiOptions): CloudflareApi {
  const client = createCloudflareClient(opts);
  return {
    ...createTunnelsApi(client),
    ...createDnsApi(client),
    ...createAccountApi(client),
    ...createAccessApi(client),
    ...createFirewallApi(client),
  };
}
