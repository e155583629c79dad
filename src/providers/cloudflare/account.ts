/**
 * The API token, the zone and what the token may read: checked at start-up (and by
 * `tunnelplane doctor`) before the reconciler makes any call.
 */
import { APIError } from 'cloudflare/error';
import { ProviderError } from '../../domain/errors.js';
import type { CloudflareClient } from './sdk-client.js';

export interface AccountApi {
  verifyToken(): Promise<void>;
  /** The zone with this name, the account that holds it and its plan; null when the token sees none. */
  findZone(name: string): Promise<ZoneInfo | null>;
  /**
   * One cheap read (a first page) in each API family Tunnelplane writes to, in the configured
   * account and in each zone (DNS): the families the token may not read (403), each with Cloudflare's answer.
   * Edit rights cannot be read without writing (a token cannot list its own permissions
   * unless it may read API tokens).
   */
  readAccess(
    zoneIds: readonly string[],
  ): Promise<Array<{ family: CloudflareFamily; zoneId: string | null; refused: ProviderError | null }>>;
}

export type CloudflareFamily = 'tunnels' | 'dns' | 'accessApps' | 'serviceTokens';

export interface ZoneInfo {
  id: string;
  name: string;
  accountId: string | null;
  /** The plan's name (`Free Website`) and legacy id (`free`, `pro`, `business`, `enterprise`). */
  plan: { name: string; legacyId: string | null } | null;
}

export function createAccountApi({ sdk, accountId, guard }: CloudflareClient): AccountApi {
  return {
    verifyToken: () =>
      guard('verify API token', async () => {
        try {
          await sdk.user.tokens.verify();
        } catch (err) {
          // Account-owned tokens are verified under the account instead (when it is known).
          if (
            accountId &&
            err instanceof APIError &&
            (err.status === 401 || err.status === 403 || err.status === 400)
          ) {
            await sdk.accounts.tokens.verify({ account_id: accountId });
            return;
          }
          throw err;
        }
      }),

    findZone: (name) =>
      guard(`find zone ${name}`, async () => {
        const page = await sdk.zones.list({ name });
        const zone = page.result.find((z) => z.name === name);
        if (!zone) return null;
        const plan = zone.plan?.name ? { name: zone.plan.name, legacyId: zone.plan.legacy_id ?? null } : null;
        return { id: zone.id, name: zone.name, accountId: zone.account?.id ?? null, plan };
      }),

    readAccess: (zoneIds) => {
      const account = { account_id: accountId };
      const reads: Array<{ family: CloudflareFamily; zoneId: string | null; read: () => Promise<unknown> }> =
        [
          {
            family: 'tunnels',
            zoneId: null,
            read: () => sdk.zeroTrust.tunnels.cloudflared.list({ ...account, per_page: 1 }),
          },
          ...zoneIds.map((zoneId) => ({
            family: 'dns' as const,
            zoneId,
            read: () => sdk.dns.records.list({ zone_id: zoneId, per_page: 5 }),
          })),
          { family: 'accessApps', zoneId: null, read: () => sdk.zeroTrust.access.applications.list(account) },
          {
            family: 'serviceTokens',
            zoneId: null,
            read: () => sdk.zeroTrust.access.serviceTokens.list(account),
          },
        ];
      return Promise.all(
        reads.map(async ({ family, zoneId, read }) => {
          try {
            await guard(`read ${family}`, read);
            return { family, zoneId, refused: null };
          } catch (err) {
            if (err instanceof ProviderError && err.kind === 'permission')
              return { family, zoneId, refused: err };
            throw err;
          }
        }),
      );
    },
  };
}
