/** A user's quotas: the server's defaults, with the user's own overrides for tunnels and routes. */
import type { Quotas, UserRow } from '../store/index.js';

export function quotasOf(user: UserRow, defaults: Quotas): Quotas {
  return {
    ...defaults,
    tunnels: user.quota_tunnels ?? defaults.tunnels,
    routes: user.quota_routes ?? defaults.routes,
  };
}
