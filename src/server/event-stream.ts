/**
 * `GET /api/v1/events/stream`: the audit trail as server-sent events, live. One poller per
 * process reads what is new in the database (every replica's events, since they all write there)
 * once a second, whoever listens, and hands each subscriber the events of its owners (a person
 * and their teams; admins everything). A subscriber that sends `Last-Event-ID` first gets exactly
 * what it missed since that id, then the live feed, with no gap and no repeat.
 *
 * PostgreSQL assigns an event's id when it is inserted, not when its transaction commits, so an
 * id can appear after higher ones: the poller re-reads a trailing window of ids and skips those
 * it has handed out already (a transaction that stays open for more than `window` later events
 * would be missed; desired-state writes are short).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { EventRow, EventsRepository } from '../store/index.js';
import { presentEvent } from './presenters.js';

interface Subscriber {
  owners: Set<string> | null;
  lastId: number;
  send(e: EventRow): void;
  userId: string;
  /** While it catches up from the database, live events wait here (then go in id order). */
  held: EventRow[] | null;
}

export interface EventStreamOptions {
  pollMs?: number;
  heartbeatMs?: number;
  /** Streams one user may hold open at once (each replica). */
  perUser?: number;
  /** Ids re-read behind the newest seen (late commits). */
  window?: number;
}

export function createEventStream(
  events: Pick<EventsRepository, 'after' | 'latestId'>,
  logger: { warn(obj: object, msg: string): void },
  opts: EventStreamOptions = {},
) {
  const pollMs = opts.pollMs ?? 1000;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const perUser = opts.perUser ?? 5;
  const window = opts.window ?? 200;
  const subscribers = new Set<Subscriber>();
  const recent = new Set<number>();
  let newest = -1;
  let timer: NodeJS.Timeout | null = null;
  let closing = false;
  const ends = new Set<() => void>();

  function remember(id: number) {
    recent.add(id);
    if (recent.size > window * 10) recent.delete(recent.values().next().value!);
  }

  async function poll() {
    try {
      if (newest < 0) newest = await events.latestId();
      const rows = await events.after(null, Math.max(0, newest - window), window * 5);
      for (const e of rows) {
        const id = Number(e.id);
        if (recent.has(id)) continue;
        remember(id);
        newest = Math.max(newest, id);
        for (const s of subscribers) {
          if (s.owners && !(e.owner_id && s.owners.has(e.owner_id))) continue;
          if (s.held) s.held.push(e);
          else if (id > s.lastId) s.send(e);
        }
      }
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'event stream: could not read new events');
    }
  }

  function ensurePolling() {
    if (timer || closing) return;
    timer = setInterval(() => void poll(), pollMs);
    timer.unref();
  }

  return {
    /** Serves one stream until the client goes or the server closes. */
    async serve(
      req: FastifyRequest,
      reply: FastifyReply,
      who: { userId: string; owners: string[] | null; lastEventId: number | null },
    ) {
      if (closing)
        throw new AppError('database.unavailable', 'The server is stopping; reconnect shortly.', {
          retryAfterSeconds: 1,
        });
      const mine = [...subscribers].filter((s) => s.userId === who.userId).length;
      if (mine >= perUser)
        throw new AppError('rate.limited', `You have ${mine} event streams open here; close one first.`, {
          retryAfterSeconds: 5,
        });
      if (newest < 0) newest = await events.latestId();
      const owners = who.owners ? new Set(who.owners) : null;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write('retry: 3000\n\n');
      const sub: Subscriber = {
        owners,
        userId: who.userId,
        lastId: who.lastEventId ?? newest,
        held: who.lastEventId !== null ? [] : null,
        send(e) {
          sub.lastId = Math.max(sub.lastId, Number(e.id));
          res.write(`id: ${e.id}\nevent: ${e.action}\ndata: ${JSON.stringify(presentEvent(e))}\n\n`);
        },
      };
      subscribers.add(sub);
      ensurePolling();
      // Resuming: what was missed, from the database, in order, while live events are held.
      if (sub.held) {
        try {
          for (let page = 0; page < 100; page++) {
            const rows = await events.after(who.owners, sub.lastId, 500);
            for (const e of rows) sub.send(e);
            if (rows.length < 500) break;
          }
        } finally {
          const held = sub.held.sort((a, b) => Number(a.id) - Number(b.id));
          sub.held = null;
          for (const e of held) if (Number(e.id) > sub.lastId) sub.send(e);
        }
      }
      const beat = setInterval(() => res.write(': ping\n\n'), heartbeatMs);
      beat.unref();
      await new Promise<void>((resolve) => {
        const end = () => {
          clearInterval(beat);
          subscribers.delete(sub);
          ends.delete(end);
          if (subscribers.size === 0 && timer) {
            clearInterval(timer);
            timer = null;
          }
          resolve();
        };
        ends.add(end);
        req.raw.once('close', end);
        res.once('close', end);
      });
      if (!res.writableEnded) res.end();
    },

    /** At shutdown: every stream ends now (clients reconnect elsewhere with Last-Event-ID). */
    close() {
      closing = true;
      if (timer) clearInterval(timer);
      timer = null;
      for (const end of [...ends]) end();
    },

    /** Subscribers now (tests, metrics). */
    size: () => subscribers.size,
  };
}

export type EventStream = ReturnType<typeof createEventStream>;
