/**
 * A zone's `http_request_firewall_custom` phase, read and pruned only: installations from
 * before per-route Access kept allow-lists there, and only their own rules (by `ref`) are
 * removed once every allow-list is in Access.
 */
import { ignoreNotFound, orNull } from './errors.js';
import type { CloudflareClient } from './sdk-client.js';

export interface FirewallRule {
  id?: string;
  ref: string;
  description: string;
  expression: string;
  action: 'block';
}

export interface FirewallApi {
  getFirewallEntrypoint(): Promise<{ id: string; rules: FirewallRule[] } | null>;
  deleteFirewallRule(rulesetId: string, ruleId: string): Promise<void>;
}

interface RawRule {
  id?: string;
  ref?: string;
  description?: string;
  expression?: string;
  action?: string;
}

export function createFirewallApi({ sdk, guard }: CloudflareClient, zoneId: string): FirewallApi {
  return {
    getFirewallEntrypoint: () =>
      guard('read the custom firewall rules', () =>
        orNull(async () => {
          const res = (await sdk.rulesets.phases.get('http_request_firewall_custom', {
            zone_id: zoneId,
          })) as { id?: string; rules?: RawRule[] };
          return {
            id: res.id ?? '',
            rules: (res.rules ?? []).map((r) => ({
              id: r.id ?? '',
              ref: r.ref ?? '',
              description: r.description ?? '',
              expression: r.expression ?? '',
              action: 'block' as const,
            })),
          };
        }),
      ),

    deleteFirewallRule: (rulesetId, ruleId) =>
      guard(`delete firewall rule ${ruleId}`, () =>
        ignoreNotFound(() => sdk.rulesets.rules.delete(ruleId, { zone_id: zoneId, ruleset_id: rulesetId })),
      ),
  };
}
