/** The HTTP layer's services (auth, tunnels, routes, accounts, waits, webhooks) wired over a core. */
import type { ServerConfig } from '../config/index.js';
import type { AppServices } from '../server/app.js';
import { createAuthenticator } from '../server/auth.js';
import { createTunnelViews } from '../server/tunnel-views.js';
import { createWaits } from '../server/waits.js';
import { createAccountService } from '../server/account-service.js';
import { createAdminService } from '../server/admin-service.js';
import { createTunnelService } from '../server/tunnel-service.js';
import { createRouteService } from '../server/route-service.js';
import { createZoneService } from '../server/zone-service.js';
import type { InCluster } from '../server/presenters.js';
import type { Core } from './core.js';
import type { OidcClient } from '../identity/oidc-client.js';
import { createSsoService } from '../server/sso-service.js';
import { createWebhookService } from '../server/webhook-service.js';
import { withoutCredentials } from '../webhooks/index.js';

/** The HTTP layer's services, each handed only the repositories it uses. */
export function createServices(
  core: Core,
  config: ServerConfig,
  inCluster: InCluster,
  oidc: OidcClient | null = null,
): AppServices {
  const { store, logger } = core;
  const auth = createAuthenticator({
    store: { users: store.users, tokens: store.tokens, teams: store.teams, sessions: store.sessions },
    passwordSignIn: config.identity.passwordSignIn,
    logger: logger.child({ component: 'auth' }),
    limits: {
      freeFailures: config.auth.freeFailures,
      maxDelayMs: config.auth.maxDelaySeconds * 1000,
      maxHashing: config.auth.maxHashing,
      maxAccountsPerSource: config.auth.maxAccountsPerSource,
    },
  });
  const views = createTunnelViews({
    tunnels: store.tunnels,
    inCluster,
    maxBytes: config.api.responseCacheMiB * 1024 * 1024,
  });
  const waits = createWaits({ tunnels: store.tunnels, signals: store.signals, maxWaitMs: 120_000 });
  const accounts = createAccountService({
    users: store.users,
    tokens: store.tokens,
    sessions: store.sessions,
    events: store.events,
    defaultQuotas: config.quotas,
    passwordChangeRevokesTokens: config.identity.passwordChangeRevokesTokens,
    onPasswordChange: (name) => auth.forgetFailures(name),
  });
  const admin = createAdminService({
    users: store.users,
    teams: store.teams,
    tokens: store.tokens,
    sessions: store.sessions,
    events: store.events,
    accounts,
  });
  const tunnels = createTunnelService({
    tunnels: store.tunnels,
    views,
    waits,
    secrets: core.secrets,
    quotasOf: accounts.quotasOf,
    teamRow: store.users.byId,
    config: { accountId: core.accountId, defaultConfigMode: config.tunnels.defaultConfigMode },
  });
  const zones = createZoneService({
    zones: core.zones,
    grants: store.zoneGrants,
    users: store.users,
    teams: store.teams,
  });
  const routes = createRouteService({
    tunnels: store.tunnels,
    tunnelService: tunnels,
    waits,
    quotasOfOwner: accounts.quotasOfOwner,
    ownerName: accounts.ownerName,
    hostnameHolder: async (hostname, zoneId) =>
      (await core.cloudflare.zone(zoneId).listByName(hostname)).some(
        (r) => !core.ownership.parseDnsComment(r.comment),
      )
        ? 'foreign'
        : 'free',
    zones,
    config: {
      capacity: {
        accessApplications: config.cloudflare.limits.accessApplications,
        serviceTokens: config.cloudflare.limits.serviceTokens,
      },
      rulesPerApplication: config.cloudflare.limits.rulesPerApplication,
      hostnames: { reserved: config.routes.reservedHostnames, prefix: config.routes.hostnamePrefix },
      access: {
        teamName: config.access.teamName ?? null,
        identityProviderId: config.access.identityProviderId ?? null,
        groupsClaim: config.access.groupsClaim,
      },
    },
  });
  const sso = createSsoService({
    oidc,
    users: store.users,
    teams: store.teams,
    sessions: store.sessions,
    events: store.events,
    secrets: core.secrets,
    sessionHours: config.identity.sessionHours,
  });
  const webhooks = createWebhookService({
    webhooks: config.webhooks.map((w) => ({
      name: w.name,
      url: withoutCredentials(w.url),
      events: w.events,
    })),
    deliveries: store.webhooks,
  });
  return { auth, tunnels, routes, accounts, admin, sso, waits, webhooks, zones };
}
