export {
  createWebhookDispatcher,
  deliveryBody,
  withoutCredentials,
  WEBHOOKS_LEASE,
  type Webhook,
  type WebhookDispatcher,
  type DispatcherDeps,
  type DispatcherOptions,
} from './dispatcher.js';
export { eventMatcher } from './event-filter.js';
export { nextAttemptAt, retryDelayMs, type RetryPolicy } from './backoff.js';
export { signDelivery, verifyDelivery } from './signature.js';
