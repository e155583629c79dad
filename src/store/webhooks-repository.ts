/**
 * Webhook deliveries: one row per event and webhook (`webhook_deliveries`, unique on both), made
 * from the audit trail after a cursor per webhook (`settings` `webhook-cursor:<name>`), claimed
 * when due, and updated after each attempt. The dispatcher (src/webhooks/) decides what to send
 * and when to try again; this file only reads and writes.
 *
 * A new webhook starts at the newest event (it does not replay history). The cursor moves past an
 * event only once it is `settledBefore` old: on PostgreSQL an event's id is taken before its
 * transaction commits, so a lower id may appear after a higher one; events read again are not
 * enqueued twice (the unique key).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import { later, now } from './rows.js';
import { teamName } from './teams-repository.js';
import { transact } from './locks.js';

/** The action of the test event (`POST /admin/webhooks/{name}/test`): sent to its webhook only. */
export const WEBHOOK_TEST_ACTION = 'webhook.test';

const cursorKey = (webhook: string) => `webhook-cursor:${webhook}`;
const lastErrorKey = (webhook: string) => `webhook-last-error:${webhook}`;

/** A claimed delivery with its event, ready to send. */
export interface DueDelivery {
  id: number;
  webhook: string;
  /** Attempts made before this one. */
  attempts: number;
  event: {
    id: number;
    at: string;
    actor: string;
    action: string;
    target: string;
    outcome: string;
    details: Record<string, unknown>;
    /** The owning user's or team's name; null for server-wide events. */
    owner: string | null;
  };
}

/** What one attempt came to. `retryAt` null with `ok` false: the delivery has failed for good. */
export type AttemptOutcome =
  { ok: true; status: number } | { ok: false; status: number | null; error: string; retryAt: string | null };

export interface WebhookLastError {
  at: string;
  status: number | null;
  error: string;
  eventId: number;
}

export interface WebhookStatus {
  webhook: string;
  delivered: number;
  pending: number;
  failed: number;
  lastDeliveredAt: string | null;
  lastError: WebhookLastError | null;
  /** Newest first: deliveries not delivered whose last attempt failed (retrying, or failed for good). */
  recentFailures: {
    deliveryId: number;
    eventId: number;
    action: string;
    /** When the event happened. */
    at: string;
    attempts: number;
    lastStatus: number | null;
    lastError: string;
    /** null: failed for good. */
    nextAttemptAt: string | null;
  }[];
}

const parseDetails = (text: string): Record<string, unknown> => {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
};

export function createWebhooksRepository(db: Kysely<Database>) {
  const getSetting = async (name: string) =>
    (await db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirst())?.value ??
    null;
  const setSetting = (name: string, value: string) =>
    db
      .insertInto('settings')
      .values({ name, value })
      .onConflict((oc) => oc.column('name').doUpdateSet({ value }))
      .execute();

  return {
    /**
     * Enqueues the events after the webhook's cursor that `matches` (never the test events:
     * those are enqueued for their webhook alone), at most `limit` events read. At the
     * webhook's first run the cursor is set to the newest event and nothing is enqueued.
     * Answers how many deliveries were made.
     */
    async enqueue(
      webhook: string,
      matches: (action: string) => boolean,
      opts: { settledBefore: string; limit?: number },
    ): Promise<number> {
      const stored = await getSetting(cursorKey(webhook));
      if (stored === null) {
        const newest = await db
          .selectFrom('events')
          .select((eb) => eb.fn.max('id').as('id'))
          .executeTakeFirst();
        await db
          .insertInto('settings')
          .values({ name: cursorKey(webhook), value: String(newest?.id ?? 0) })
          .onConflict((oc) => oc.column('name').doNothing())
          .execute();
        return 0;
      }
      const cursor = Number(stored);
      const rows = await db
        .selectFrom('events')
        .select(['id', 'at', 'action'])
        .where('id', '>', cursor)
        .orderBy('id')
        .limit(opts.limit ?? 500)
        .execute();
      if (rows.length === 0) return 0;
      const wanted = rows.filter((r) => r.action !== WEBHOOK_TEST_ACTION && matches(r.action));
      // The cursor stops before the first event young enough that a lower id may still commit.
      const firstUnsettled = rows.findIndex((r) => r.at >= opts.settledBefore);
      const settled = firstUnsettled < 0 ? rows : rows.slice(0, firstUnsettled);
      const at = now();
      let made = 0;
      await transact(db, async (trx) => {
        if (wanted.length) {
          const res = await trx
            .insertInto('webhook_deliveries')
            .values(
              wanted.map((r) => ({ webhook, event_id: Number(r.id), next_attempt_at: at, created_at: at })),
            )
            .onConflict((oc) => oc.columns(['webhook', 'event_id']).doNothing())
            .executeTakeFirst();
          made = Number(res.numInsertedOrUpdatedRows ?? 0);
        }
        const last = settled[settled.length - 1];
        if (last)
          await trx
            .updateTable('settings')
            .set({ value: String(last.id) })
            .where('name', '=', cursorKey(webhook))
            .execute();
      });
      return made;
    },

    /**
     * Claims up to `limit` of the webhook's due deliveries, oldest due first: each is put off by
     * `holdMs` (longer than an attempt lasts), so it is not claimed again while in flight and is
     * tried again after that if the process dies. Rows whose event is gone are left to pruning.
     */
    async claim(webhook: string, limit: number, holdMs: number): Promise<DueDelivery[]> {
      if (limit <= 0) return [];
      const at = now();
      const due = db
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('webhook', '=', webhook)
        .where('delivered_at', 'is', null)
        .where('next_attempt_at', '<=', at)
        .orderBy('next_attempt_at')
        .orderBy('id')
        .limit(limit);
      const claimed = await db
        .updateTable('webhook_deliveries')
        .set({ next_attempt_at: later(holdMs) })
        .where('id', 'in', due)
        .where('next_attempt_at', '<=', at)
        .returning(['id', 'event_id', 'attempts'])
        .execute();
      if (claimed.length === 0) return [];
      // The events and their owners' names, once for the batch.
      const events = await db
        .selectFrom('events')
        .leftJoin('users', 'users.id', 'events.owner_id')
        .select([
          'events.id',
          'events.at',
          'events.actor',
          'events.action',
          'events.target',
          'events.outcome',
          'events.details',
          'users.name as owner',
        ])
        .where(
          'events.id',
          'in',
          claimed.map((c) => c.event_id),
        )
        .execute();
      const byId = new Map(events.map((e) => [Number(e.id), e]));
      const out: DueDelivery[] = [];
      for (const c of claimed.sort((a, b) => Number(a.id) - Number(b.id))) {
        const e = byId.get(Number(c.event_id));
        if (!e) continue;
        out.push({
          id: Number(c.id),
          webhook,
          attempts: Number(c.attempts),
          event: {
            id: Number(e.id),
            at: e.at,
            actor: e.actor,
            action: e.action,
            target: e.target,
            outcome: e.outcome,
            details: parseDetails(e.details),
            owner: e.owner === null ? null : teamName({ name: e.owner }),
          },
        });
      }
      return out;
    },

    /** Records one attempt: delivered, to be tried again at `retryAt`, or failed for good. */
    async record(delivery: { id: number; webhook: string; eventId: number }, outcome: AttemptOutcome) {
      const at = now();
      await db
        .updateTable('webhook_deliveries')
        .set((eb) => ({
          attempts: eb('attempts', '+', 1),
          last_status: outcome.status,
          last_error: outcome.ok ? null : outcome.error,
          delivered_at: outcome.ok ? at : null,
          next_attempt_at: outcome.ok ? null : outcome.retryAt,
        }))
        .where('id', '=', delivery.id)
        .execute();
      if (!outcome.ok) {
        const last: WebhookLastError = {
          at,
          status: outcome.status,
          error: outcome.error,
          eventId: delivery.eventId,
        };
        await setSetting(lastErrorKey(delivery.webhook), JSON.stringify(last));
      }
    },

    /** Makes claimed deliveries due again at once (a clean stop interrupted their attempt). */
    async unclaim(ids: number[]) {
      if (ids.length === 0) return;
      await db
        .updateTable('webhook_deliveries')
        .set({ next_attempt_at: now() })
        .where('id', 'in', ids)
        .where('delivered_at', 'is', null)
        .execute();
    },

    /**
     * The test event: appended to the audit trail and enqueued for this webhook only, in one
     * transaction. Answers the event's and the delivery's ids.
     */
    async enqueueTest(webhook: string, actor: string): Promise<{ eventId: number; deliveryId: number }> {
      return transact(db, async (trx) => {
        const at = now();
        const event = await trx
          .insertInto('events')
          .values({
            at,
            owner_id: null,
            actor,
            action: WEBHOOK_TEST_ACTION,
            target: webhook,
            outcome: 'ok',
            details: JSON.stringify({ webhook }),
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        const delivery = await trx
          .insertInto('webhook_deliveries')
          .values({ webhook, event_id: Number(event.id), next_attempt_at: at, created_at: at })
          .returning('id')
          .executeTakeFirstOrThrow();
        return { eventId: Number(event.id), deliveryId: Number(delivery.id) };
      });
    },

    /** Counts, the last delivery and the last error of each of these webhooks. */
    async status(webhooks: readonly string[], recentLimit = 10): Promise<WebhookStatus[]> {
      if (webhooks.length === 0) return [];
      const counts = await db
        .selectFrom('webhook_deliveries')
        .select([
          'webhook',
          sql<number>`sum(case when delivered_at is not null then 1 else 0 end)`.as('delivered'),
          sql<number>`sum(case when delivered_at is null and next_attempt_at is not null then 1 else 0 end)`.as(
            'pending',
          ),
          sql<number>`sum(case when delivered_at is null and next_attempt_at is null then 1 else 0 end)`.as(
            'failed',
          ),
          sql<string | null>`max(delivered_at)`.as('last_delivered_at'),
        ])
        .where('webhook', 'in', [...webhooks])
        .groupBy('webhook')
        .execute();
      const byName = new Map(counts.map((c) => [c.webhook, c]));
      const errors = await db
        .selectFrom('settings')
        .select(['name', 'value'])
        .where(
          'name',
          'in',
          webhooks.map((w) => lastErrorKey(w)),
        )
        .execute();
      const lastErrors = new Map(errors.map((e) => [e.name, e.value]));
      const out: WebhookStatus[] = [];
      for (const webhook of webhooks) {
        const c = byName.get(webhook);
        const failures = await db
          .selectFrom('webhook_deliveries as d')
          .innerJoin('events as e', 'e.id', 'd.event_id')
          .select([
            'd.id',
            'd.event_id',
            'e.action',
            'e.at',
            'd.attempts',
            'd.last_status',
            'd.last_error',
            'd.next_attempt_at',
          ])
          .where('d.webhook', '=', webhook)
          .where('d.delivered_at', 'is', null)
          .where('d.last_error', 'is not', null)
          .orderBy('d.id', 'desc')
          .limit(recentLimit)
          .execute();
        const last = lastErrors.get(lastErrorKey(webhook));
        out.push({
          webhook,
          delivered: Number(c?.delivered ?? 0),
          pending: Number(c?.pending ?? 0),
          failed: Number(c?.failed ?? 0),
          lastDeliveredAt: c?.last_delivered_at ?? null,
          lastError: last ? (JSON.parse(last) as WebhookLastError) : null,
          recentFailures: failures.map((f) => ({
            deliveryId: Number(f.id),
            eventId: Number(f.event_id),
            action: f.action,
            at: f.at,
            attempts: Number(f.attempts),
            lastStatus: f.last_status,
            lastError: f.last_error ?? '',
            nextAttemptAt: f.next_attempt_at,
          })),
        });
      }
      return out;
    },

    /**
     * Deletes deliveries made before `before` (RFC 3339) that are finished (delivered or failed
     * for good) or whose event is gone, at most `limit`; answers how many.
     */
    async prune(before: string, limit = 10_000): Promise<number> {
      const old = db
        .selectFrom('webhook_deliveries as d')
        .select('d.id')
        .where('d.created_at', '<', before)
        .where((eb) =>
          eb.or([
            eb('d.delivered_at', 'is not', null),
            eb('d.next_attempt_at', 'is', null),
            eb.not(
              eb.exists(eb.selectFrom('events as e').select('e.id').whereRef('e.id', '=', 'd.event_id')),
            ),
          ]),
        )
        .orderBy('d.id')
        .limit(limit);
      const res = await db.deleteFrom('webhook_deliveries').where('id', 'in', old).executeTakeFirst();
      return Number(res.numDeletedRows);
    },

    /** The webhook's cursor: the last event id looked at (null before its first run). */
    async cursorOf(webhook: string): Promise<number | null> {
      const v = await getSetting(cursorKey(webhook));
      return v === null ? null : Number(v);
    },
  };
}

export type WebhooksRepository = ReturnType<typeof createWebhooksRepository>;
