/** The API token and the zone: checked at start-up, before the reconciler makes any call. */
import { APIError } from 'cloudflare/error';
import type { CloudflareClient } from './sdk-client.js';

export interface AccountApi {
  verifyToken(): Promise<void>;
  /** The zone with this name and the account that holds it; null when the token sees none. */
  findZone(name: string): Promise<{ id: string; name: string; accountId: string | null } | null>;
}

export function createAccountApi({ sdk, accountId, guard }: CloudflareClient): AccountApi {
  return {
    verifyToken: () =>
      guard('verify API token', async () => {
        try {
          await sdk.user.tokens.verify();
        } catch (err) {
          // Account-owned tokens are verified under the account instead.
          if (err instanceof APIError && (err.status === 401 || err.status === 403 || err.status === 400)) {
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
        return zone ? { id: zone.id, name: zone.name, accountId: zone.account?.id ?? null } : null;
      }),
  };
}
