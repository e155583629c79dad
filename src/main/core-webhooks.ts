/** The webhook dispatcher wired over a core: the configured webhooks, the store's deliveries and leases, its options. */
import { createWebhookDispatcher, type WebhookDispatcher } from '../webhooks/index.js';
import type { Core } from './core.js';
import { VERSION } from './version.js';

/** The dispatcher of `config.webhooks` (it does nothing when none is configured). */
export function createCoreWebhooks(core: Core): WebhookDispatcher {
  const { config, store } = core;
  const d = config.webhookDelivery;
  return createWebhookDispatcher({
    // Secrets from `secretFile` were read by loadConfig; the schema requires one of the two.
    webhooks: config.webhooks.map((w) => ({ ...w, secret: w.secret ?? '' })),
    deliveries: store.webhooks,
    leases: store.leases,
    owner: core.replicaId,
    version: VERSION,
    logger: core.logger.child({ component: 'webhooks' }),
    options: {
      maxAttempts: d.maxAttempts,
      baseMs: d.backoffBaseSeconds * 1000,
      maxMs: d.backoffMaxSeconds * 1000,
      pollMs: d.pollMs,
      retentionMs: config.events.retentionDays * 86_400_000,
      // PostgreSQL hands out event ids before their transactions commit (see webhooks-repository.ts).
      settleMs: store.dialect === 'postgres' ? 10_000 : 0,
    },
  });
}
