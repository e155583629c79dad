/**
 * Optimistic concurrency on the API: a tunnel's or a route's `ETag` is its generation
 * (`"<generation>"`, strong), and a PATCH with `If-Match` applies only to that generation
 * (412 `request.precondition_failed` otherwise). Without `If-Match` a PATCH applies to whatever
 * is current; `*` means the same.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';

export const etagOf = (generation: number) => `"${generation}"`;

/** The generation `If-Match` names; null when none is given (or `*`). */
export function ifMatchGeneration(req: FastifyRequest): number | null {
  const raw = req.headers['if-match'];
  if (raw === undefined) return null;
  const value = (Array.isArray(raw) ? raw.join(',') : raw).trim();
  if (value === '*') return null;
  const m = /^"(\d{1,15})"$/.exec(value);
  if (!m)
    throw new AppError(
      'request.invalid_precondition',
      'If-Match must be one ETag as this server gives it (e.g. "3"), or *.',
      { ifMatch: value.slice(0, 40) },
    );
  return Number(m[1]);
}

export const withEtag = (reply: FastifyReply, generation: number) => reply.header('etag', etagOf(generation));

/** The request headers a PATCH declares (`If-Match`). */
export const ifMatchHeaders = {
  type: 'object',
  properties: { 'if-match': { type: 'string', maxLength: 64 } },
} as const;

/** The `ETag` response header as the document declares it. */
export const etagHeader = {
  etag: { type: 'string', description: 'the generation, `"<n>"`: send it back in If-Match' },
} as const;
