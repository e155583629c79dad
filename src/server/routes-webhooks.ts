/** API v1 for admins: the operator's webhooks (`/api/v1/admin/webhooks`): their deliveries, and a test event. */
import type { FastifyInstance } from 'fastify';
import { actorOf, refusals } from './schemas.js';
import type { WebhookService } from './webhook-service.js';

const nullableString = { type: 'string', nullable: true } as const;
const nullableInteger = { type: 'integer', nullable: true } as const;

const webhookSchema = {
  type: 'object',
  required: ['name', 'url', 'events', 'delivered', 'pending', 'failed', 'lastDeliveredAt', 'lastError'],
  properties: {
    name: { type: 'string' },
    url: { type: 'string', description: 'without credentials' },
    events: { type: 'array', items: { type: 'string' } },
    delivered: { type: 'integer' },
    pending: { type: 'integer', description: 'waiting for an attempt (a first one or a retry)' },
    failed: { type: 'integer', description: 'failed for good after webhookDelivery.maxAttempts' },
    lastDeliveredAt: nullableString,
    lastError: {
      type: 'object',
      nullable: true,
      properties: { at: { type: 'string' }, status: nullableInteger, error: { type: 'string' } },
    },
    recentFailures: {
      type: 'array',
      description: 'newest first: deliveries whose last attempt failed (retrying, or failed for good)',
      items: {
        type: 'object',
        properties: {
          deliveryId: { type: 'integer' },
          eventId: { type: 'integer' },
          action: { type: 'string' },
          attempts: { type: 'integer' },
          lastStatus: nullableInteger,
          lastError: { type: 'string' },
          at: { type: 'string', description: 'when the event happened' },
          nextAttemptAt: { ...nullableString, description: 'null: failed for good' },
        },
      },
    },
  },
} as const;

export function registerWebhookRoutes(v1: FastifyInstance, deps: { webhooks: WebhookService }) {
  const admin = { admin: true };

  v1.get(
    '/admin/webhooks',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'listWebhooks',
        summary: 'The configured webhooks with their deliveries, last error and recent failures',
        response: {
          200: {
            type: 'object',
            required: ['items'],
            properties: { items: { type: 'array', items: webhookSchema } },
          },
        },
      },
    },
    async () => ({ items: await deps.webhooks.list() }),
  );

  v1.post<{ Params: { name: string } }>(
    '/admin/webhooks/:name/test',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'testWebhook',
        summary: 'Send a `webhook.test` event to this webhook only',
        params: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', maxLength: 64 } },
        },
        response: {
          202: {
            type: 'object',
            required: ['webhook', 'eventId', 'deliveryId'],
            description: 'Accepted: the event is queued for delivery',
            properties: {
              webhook: { type: 'string' },
              eventId: { type: 'integer' },
              deliveryId: { type: 'integer' },
            },
          },
          ...refusals('request.invalid', 'webhook.not_found'),
        },
      },
    },
    async (req, reply) => reply.status(202).send(await deps.webhooks.test(actorOf(req), req.params.name)),
  );
}
