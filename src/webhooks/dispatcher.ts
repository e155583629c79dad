/**
 * The webhook dispatcher: a loop of its own beside the reconciler (never inside a pass), run by
 * one replica at a time (the `webhooks` lease). Each round it enqueues the new events each
 * webhook wants, claims the due deliveries (at most `concurrency` in flight per webhook) and
 * sends them without waiting for them: every attempt is bounded by its webhook's `timeoutMs`, so
 * a receiver that hangs holds up only its own deliveries. A 2xx is delivered; anything else is
 * tried again after an exponential backoff with jitter, up to `maxAttempts`, then failed for good.
 */
import type { DueDelivery, LeasesRepository, WebhooksRepository } from '../store/index.js';
import { nextAttemptAt, type RetryPolicy } from './backoff.js';
import { eventMatcher } from './event-filter.js';
import { signDelivery } from './signature.js';

/** One configured webhook (its secret already read from `secretFile` when given so). */
export interface Webhook {
  name: string;
  url: string;
  secret: string;
  events: readonly string[];
  timeoutMs: number;
}

export interface DispatcherLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface DispatcherOptions extends RetryPolicy {
  pollMs: number;
  /** Delivered and failed deliveries are deleted after this (the events' retention). */
  retentionMs: number;
  /** How old an event must be before the cursor moves past it (0 on SQLite; see webhooks-repository.ts). */
  settleMs: number;
  /** Attempts in flight per webhook. */
  concurrency?: number;
}

export interface DispatcherDeps {
  webhooks: readonly Webhook[];
  deliveries: Pick<WebhooksRepository, 'enqueue' | 'claim' | 'record' | 'unclaim' | 'prune'>;
  leases: Pick<LeasesRepository, 'acquire' | 'release'>;
  /** This replica (the lease's owner). */
  owner: string;
  version: string;
  logger: DispatcherLogger;
  options: DispatcherOptions;
  fetch?: typeof fetch;
  random?: () => number;
}

export interface WebhookDispatcher {
  start(): void;
  /** Ends the loop, interrupts attempts in flight (they are due again at once), releases the lease. */
  stop(): Promise<void>;
}

export const WEBHOOKS_LEASE = 'webhooks';
/** A claimed delivery is held this much longer than its attempt may last. */
const HOLD_MARGIN_MS = 30_000;
const PRUNE_EVERY_MS = 3600_000;

/** The webhook's URL without the user and password it may carry (shown to admins, logged). */
export function withoutCredentials(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  return u.toString();
}

/** Credentials in the URL become a Basic header: fetch refuses a URL that holds them. */
function target(url: string): { url: string; authorization: string | null } {
  const u = new URL(url);
  const authorization = u.username
    ? `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`
    : null;
  return { url: withoutCredentials(url), authorization };
}

/** The body every receiver gets: the event, with its owner's name. */
export function deliveryBody(d: DueDelivery): string {
  const e = d.event;
  return JSON.stringify({
    id: e.id,
    at: e.at,
    actor: e.actor,
    action: e.action,
    target: e.target,
    outcome: e.outcome,
    details: e.details,
    owner: e.owner,
  });
}

export function createWebhookDispatcher(deps: DispatcherDeps): WebhookDispatcher {
  const { deliveries, leases, logger, options: o } = deps;
  const doFetch = deps.fetch ?? fetch;
  const random = deps.random ?? Math.random;
  const concurrency = o.concurrency ?? 4;
  const leaseMs = Math.max(15_000, o.pollMs * 5);
  const hooks = deps.webhooks.map((w) => ({
    ...w,
    matches: eventMatcher(w.events),
    target: target(w.url),
    shownUrl: withoutCredentials(w.url),
    inFlight: new Set<number>(),
  }));
  type Hook = (typeof hooks)[number];

  const stopping = new AbortController();
  const sends = new Set<Promise<void>>();
  let loop: Promise<void> | null = null;
  let wakeUp: (() => void) | null = null;
  let lastPrune = 0;
  let failing = false;

  async function attempt(w: Hook, d: DueDelivery) {
    const body = deliveryBody(d);
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': `tunnelplane/${deps.version}`,
      'x-tunnelplane-event': d.event.action,
      'x-tunnelplane-delivery': String(d.id),
      'x-tunnelplane-timestamp': String(timestamp),
      'x-tunnelplane-signature': signDelivery(w.secret, timestamp, body),
    };
    if (w.target.authorization) headers.authorization = w.target.authorization;
    let status: number | null = null;
    let error: string | null = null;
    try {
      const res = await doFetch(w.target.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(w.timeoutMs), stopping.signal]),
      });
      status = res.status;
      await res.body?.cancel().catch(() => undefined);
      if (status < 200 || status > 299) error = `HTTP ${status}`;
    } catch (err) {
      if (stopping.signal.aborted) {
        // Interrupted by the stop, not refused by the receiver: due again for the next process.
        await deliveries.unclaim([d.id]).catch(() => undefined);
        return;
      }
      error = describeFailure(err, w.timeoutMs);
    }
    const ids = { id: d.id, webhook: w.name, eventId: d.event.id };
    const log = {
      webhook: w.name,
      url: w.shownUrl,
      delivery: d.id,
      event: d.event.id,
      action: d.event.action,
    };
    if (error === null) {
      await deliveries.record(ids, { ok: true, status: status! });
      logger.debug({ ...log, status }, 'webhook delivered');
      return;
    }
    const attempts = d.attempts + 1;
    const retryAt = nextAttemptAt(attempts, o, Date.now(), random());
    await deliveries.record(ids, { ok: false, status, error, retryAt: retryAt?.toISOString() ?? null });
    if (retryAt)
      logger.debug({ ...log, status, error, attempts, retryAt }, 'webhook delivery failed; will retry');
    else logger.warn({ ...log, status, error, attempts }, 'webhook delivery failed for good');
  }

  function launch(w: Hook, d: DueDelivery) {
    w.inFlight.add(d.id);
    const p = attempt(w, d)
      .catch((err: Error) =>
        // The store refused the outcome: the claim runs out and the delivery is tried again.
        logger.warn({ webhook: w.name, delivery: d.id, err: err.message }, 'webhook attempt not recorded'),
      )
      .finally(() => {
        w.inFlight.delete(d.id);
        sends.delete(p);
      });
    sends.add(p);
  }

  async function round() {
    if (!(await leases.acquire(WEBHOOKS_LEASE, deps.owner, leaseMs))) return;
    const settledBefore = new Date(Date.now() - o.settleMs).toISOString();
    for (const w of hooks) {
      if (stopping.signal.aborted) return;
      await deliveries.enqueue(w.name, w.matches, { settledBefore });
      const due = await deliveries.claim(w.name, concurrency - w.inFlight.size, w.timeoutMs + HOLD_MARGIN_MS);
      for (const d of due) launch(w, d);
    }
    if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = Date.now();
      await deliveries.prune(new Date(Date.now() - o.retentionMs).toISOString());
    }
  }

  async function run() {
    while (!stopping.signal.aborted) {
      try {
        await round();
        failing = false;
      } catch (err) {
        // Logged once per outage, not every poll.
        if (!failing)
          logger.warn({ err: (err as Error).message }, 'webhook dispatcher: store call failed; retrying');
        failing = true;
      }
      if (stopping.signal.aborted) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, o.pollMs);
        wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      wakeUp = null;
    }
  }

  return {
    start() {
      if (loop || hooks.length === 0) return;
      loop = run();
    },
    async stop() {
      stopping.abort();
      wakeUp?.();
      await loop;
      await Promise.allSettled([...sends]);
      if (loop) await leases.release(WEBHOOKS_LEASE, deps.owner).catch(() => undefined);
    },
  };
}

/** A timeout or a connection failure, in a line an admin can act on (no body, no secret). */
function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  const cause = e?.cause;
  if (cause?.code) return `connection failed: ${cause.code}`;
  return `request failed: ${cause?.message ?? e?.message ?? String(err)}`;
}
