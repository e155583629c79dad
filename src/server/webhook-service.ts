/**
 * What admins see of the operator's webhooks: each one's deliveries (delivered, pending, failed),
 * its last delivery and last error, the recent failures; and a test event sent to one webhook.
 * The webhooks are configuration (src/webhooks/ delivers them); this service only reads the
 * store and enqueues the test.
 */
import { AppError } from '../domain/errors.js';
import type { WebhooksRepository } from '../store/index.js';
import type { Actor } from './actor.js';

/** A configured webhook as admins see it: its URL without credentials, never its secret. */
export interface WebhookInfo {
  name: string;
  url: string;
  events: readonly string[];
}

export interface WebhookServiceDeps {
  webhooks: readonly WebhookInfo[];
  deliveries: Pick<WebhooksRepository, 'status' | 'enqueueTest'>;
}

export interface WebhookView extends WebhookInfo {
  delivered: number;
  pending: number;
  failed: number;
  lastDeliveredAt: string | null;
  lastError: { at: string; status: number | null; error: string } | null;
  recentFailures: {
    deliveryId: number;
    eventId: number;
    action: string;
    attempts: number;
    lastStatus: number | null;
    lastError: string;
    at: string;
    nextAttemptAt: string | null;
  }[];
}

export function createWebhookService(deps: WebhookServiceDeps) {
  const byName = new Map(deps.webhooks.map((w) => [w.name, w]));
  return {
    async list(): Promise<WebhookView[]> {
      const status = await deps.deliveries.status(deps.webhooks.map((w) => w.name));
      const of = new Map(status.map((s) => [s.webhook, s]));
      return deps.webhooks.map((w) => {
        const s = of.get(w.name);
        return {
          name: w.name,
          url: w.url,
          events: w.events,
          delivered: s?.delivered ?? 0,
          pending: s?.pending ?? 0,
          failed: s?.failed ?? 0,
          lastDeliveredAt: s?.lastDeliveredAt ?? null,
          lastError: s?.lastError
            ? { at: s.lastError.at, status: s.lastError.status, error: s.lastError.error }
            : null,
          recentFailures: s?.recentFailures ?? [],
        };
      });
    },
    /** Enqueues a `webhook.test` event for this webhook only (404 `webhook.not_found`). */
    async test(
      actor: Actor,
      name: string,
    ): Promise<{ webhook: string; eventId: number; deliveryId: number }> {
      if (!byName.has(name))
        throw new AppError('webhook.not_found', `No webhook named ${name.slice(0, 64)} is configured.`);
      // The dispatcher finds it at its next poll (webhookDelivery.pollMs).
      return { webhook: name, ...(await deps.deliveries.enqueueTest(name, actor.user.name)) };
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
