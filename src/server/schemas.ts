/** Request and response schemas the API's routes share, and the two things every handler reads. */
import type { FastifyRequest } from 'fastify';
import type { Actor } from './tunnel-service.js';

export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
        requestId: { type: 'string' },
      },
    },
  },
} as const;

export const errors = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  404: errorSchema,
  409: errorSchema,
};

export const tunnelParams = {
  type: 'object',
  required: ['tunnel'],
  properties: { tunnel: { type: 'string', maxLength: 64 } },
} as const;

export const routeParams = {
  type: 'object',
  properties: {
    tunnel: { type: 'string', maxLength: 64 },
    route: { type: 'string', maxLength: 300 },
  },
} as const;

export const waitQuery = {
  type: 'object',
  properties: { wait: { type: 'number', minimum: 0, maximum: 120, default: 30 } },
  additionalProperties: false,
} as const;

export const pageQuery = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    cursor: { type: 'string', maxLength: 200 },
  },
  additionalProperties: false,
} as const;

export const actorOf = (req: FastifyRequest): Actor => {
  const a = req.auth!;
  return {
    user: a.user,
    teams: a.teams,
    scopes: a.scopes,
    expiresAt: a.expiresAt,
    ...(a.sessionHash ? { sessionHash: a.sessionHash } : {}),
  };
};
export const waitMs = (q: { wait?: number }) => Math.round((q.wait ?? 30) * 1000);
