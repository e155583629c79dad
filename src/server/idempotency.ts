/**
 * `Idempotency-Key` on POSTs: a client that retries a create (a timeout, a dropped connection)
 * with the same key gets the first answer back and nothing more is made or counted against a
 * quota. Keys are per user and kept `api.idempotencyHours`; a key reused for another request
 * (another path or body) is refused with 422, and one whose first request is still running with
 * 409. Only successful answers (2xx) are kept: a refused or failed request may be retried as a
 * new one. A first request that never finished (the process died) is taken over after
 * `abandonMs`, longer than any request may wait.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hookRoutesWhere } from './request-hooks.js';
import { AppError } from '../domain/errors.js';
import type { IdempotencyRepository } from '../store/index.js';

export interface IdempotencyOptions {
  repository: Pick<IdempotencyRepository, 'claim' | 'complete' | 'release' | 'sweep' | 'abandon'>;
  ttlMs: number;
  /** A first request older than this without an answer is taken to be lost. */
  abandonMs?: number;
}

const KEY = /^[\x21-\x7e]{1,255}$/;
const HEADER = 'idempotency-key';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { userId: string; key: string } | null;
  }
}

/** The header as POSTs declare it in their schema. */
export const idempotencyHeader = {
  [HEADER]: {
    type: 'string',
    maxLength: 255,
    description:
      'Retries with the same key get the first answer; nothing more is created (kept per user for api.idempotencyHours).',
  },
} as const;

function fingerprint(req: FastifyRequest): string {
  const path = req.url.split('?')[0]!;
  return createHash('sha256')
    .update(`${req.method} ${path}\n${JSON.stringify(req.body ?? null)}`)
    .digest('hex');
}

export function registerIdempotency(app: FastifyInstance, opts: IdempotencyOptions) {
  const { repository, ttlMs } = opts;
  const abandonMs = opts.abandonMs ?? 150_000;
  let claims = 0;
  app.decorateRequest('idempotency', null);

  const preHandler = async (req: FastifyRequest, reply: FastifyReply) => {
    const raw = req.headers[HEADER];
    if (raw === undefined || !req.auth) return;
    const key = Array.isArray(raw) ? raw.join(',') : raw;
    if (!KEY.test(key))
      throw new AppError(
        'request.invalid_idempotency_key',
        'Idempotency-Key must be 1-255 printable ASCII characters (a UUID is a good choice).',
      );
    const userId = req.auth.user.id;
    if (++claims % 500 === 0) void repository.sweep().catch(() => undefined);
    const fp = fingerprint(req);
    let claim = await repository.claim(userId, key, fp, ttlMs);
    if (claim.kind === 'running' && Date.now() - Date.parse(claim.since) > abandonMs) {
      // Its first request has run longer than any request may: its process is gone.
      await repository.abandon(userId, key, claim.since);
      claim = await repository.claim(userId, key, fp, ttlMs);
    }
    switch (claim.kind) {
      case 'claimed':
        req.idempotency = { userId, key };
        return;
      case 'replay': {
        const a = claim.answer;
        if (a.location) reply.header('location', a.location);
        return reply
          .status(a.status)
          .header('idempotent-replayed', 'true')
          .type('application/json; charset=utf-8')
          .send(a.body);
      }
      case 'mismatch':
        throw new AppError(
          'idempotency.key_reused',
          'This Idempotency-Key was already used for a different request; use a new key for a new request.',
        );
      case 'running':
        reply.header('retry-after', '1');
        throw new AppError(
          'idempotency.in_progress',
          'A request with this Idempotency-Key is still being answered; retry in a moment.',
        );
    }
  };

  const onSend = async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const held = req.idempotency;
    if (!held) return payload;
    req.idempotency = null;
    const ok = reply.statusCode >= 200 && reply.statusCode < 300;
    const body =
      typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
    if (ok && body !== null) {
      const location = reply.getHeader('location');
      await repository.complete(held.userId, held.key, {
        status: reply.statusCode,
        body,
        location: typeof location === 'string' ? location : null,
      });
    } else await repository.release(held.userId, held.key);
    return payload;
  };

  // A request that ended without an answer (the client went away) lets the key go.
  const onResponse = async (req: FastifyRequest) => {
    const held = req.idempotency;
    if (held) await repository.release(held.userId, held.key);
  };

  // On the POST routes registered after this only: every other request pays nothing for it.
  hookRoutesWhere(app, (methods) => methods.includes('POST'), { preHandler, onSend, onResponse });
}
