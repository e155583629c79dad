export { createStore, connectStore } from './store.js';
export type { Store } from './store.js';
export type {
  UserRow,
  TokenRow,
  TunnelRow,
  RouteRow,
  EventRow,
  Quotas,
  AccountCapacity,
  Page,
} from './rows.js';
export type { RouteView, TunnelView, NewRoute } from './tunnels-repository.js';
export type { RouteChanges } from './tunnels-writes.js';
export type { IdempotencyRepository, Claim, StoredAnswer } from './idempotency-repository.js';
export type { NewEvent } from './events-repository.js';
export type { WorkRepository, TunnelOutcome, RoutePatch, RouteErrorRecord } from './work-repository.js';
export type { ResyncRepository, ResyncRoute, ResyncTunnel } from './resync-repository.js';
export type { UsersRepository } from './users-repository.js';
export type { TokensRepository } from './tokens-repository.js';
export type { TeamsRepository, TeamRef } from './teams-repository.js';
export { teamName } from './teams-repository.js';
export { NO_PASSWORD, TEAM_PREFIX } from './users-repository.js';
export type { SessionsRepository } from './sessions-repository.js';
export type { HealthRepository } from './health-repository.js';
export type { TunnelsRepository } from './tunnels-repository.js';
export type { EventsRepository } from './events-repository.js';
export type { LeasesRepository } from './leases-repository.js';
export type { SettingsRepository } from './settings-repository.js';
export type { StoreSignals } from './signals.js';
export { openDatabase, isUnavailable } from './database.js';
export type { BudgetRepository } from './budget-repository.js';
export type {
  WebhooksRepository,
  DueDelivery,
  AttemptOutcome,
  WebhookStatus,
  WebhookLastError,
} from './webhooks-repository.js';
export { WEBHOOK_TEST_ACTION } from './webhooks-repository.js';
export type { ZoneGrantsRepository } from './zone-grants-repository.js';
