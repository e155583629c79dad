/**
 * Request and response schemas the API's routes share (the error envelope and how an operation
 * names its refusals, the `Location` header), and the two things every handler reads.
 */
import type { FastifyRequest } from 'fastify';
import { ERRORS, type ErrorCode } from '../domain/error-catalogue.js';
import type { Actor } from './tunnel-service.js';

/**
 * The one error body (error-mapper.ts's `errorBody`), registered once (app.ts) and referenced by
 * every error answer: `#/components/schemas/ErrorEnvelope` in the OpenAPI document.
 */
export const errorEnvelopeSchema = {
  $id: 'ErrorEnvelope',
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details', 'requestId'],
      additionalProperties: false,
      properties: {
        code: { type: 'string', description: 'stable, dotted (docs/api.md, Errors)' },
        message: { type: 'string', description: 'a sentence for people; it may change' },
        details: { type: 'object', additionalProperties: true },
        requestId: { type: 'string', description: 'finds the request in the server log' },
      },
    },
  },
} as const;

const envelope = { $ref: 'ErrorEnvelope#' } as const;

/** How an error answer's description names the codes it may carry (`codesIn` reads them back). */
export const describeCodes = (codes: readonly string[]) =>
  `Refused with ${codes.map((c) => `\`${c}\``).join(', ')} (docs/api.md, Errors).`;

/** The codes an error answer's description names. */
export const codesIn = (description: string | undefined): string[] =>
  [...(description ?? '').matchAll(/`([a-z_]+(?:\.[a-z_]+)?)`/g)].map((m) => m[1]!);

/** An error answer: the envelope, with the codes it may carry. */
export const refusal = (codes: readonly string[]) => ({ description: describeCodes(codes), ...envelope });

/**
 * An operation's error answers beyond authentication's (openapi.ts adds 401, 403 and 429 to every
 * authenticated operation): each code under the status the catalogue gives it.
 */
export function refusals(...codes: ErrorCode[]): Record<number, ReturnType<typeof refusal>> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries([...byStatus].map(([status, list]) => [status, refusal(list)]));
}

/**
 * @deprecated The refusals of a tunnel or route operation, for routes not yet naming their own:
 * name each operation's codes with `refusals(…)` (the contract test holds them to the answers).
 */
export const errors = refusals('request.invalid', 'tunnel.not_found', 'route.not_found', 'tunnel.deleting');

/** `Location` of a created object (201, and 202 while it converges). */
export const locationHeader = {
  location: { type: 'string', description: 'the path of the object created' },
} as const;

/** The cloudflared credentials file (`credentials.json`). */
export const credentialsSchema = {
  type: 'object',
  required: ['AccountTag', 'TunnelSecret', 'TunnelID', 'Endpoint'],
  properties: {
    AccountTag: { type: 'string' },
    TunnelSecret: { type: 'string', description: 'base64' },
    TunnelID: { type: 'string' },
    Endpoint: { type: 'string' },
  },
} as const;

/** A text file in `type` (config.yaml, the proof of concept's `Welcome`). */
export const textFile = (type: string, description: string) => ({
  description,
  content: { [type]: { schema: { type: 'string' } } },
});

/** An answer with no body. */
export const noBody = (description: string) => ({ type: 'null', description }) as const;

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
