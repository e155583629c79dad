/**
 * The OpenAPI document (`/openapi.json`, @fastify/swagger from the route schemas): its security
 * schemes, and what every operation shares, added as routes register (`describeOperation`, an
 * `onRoute` hook): its security (public ones `[]`; a session cookie changes things only with the
 * CSRF header), the refusals authentication gives (401, 403, 429), and `4XX` and `5XX` answers in the error
 * envelope for what any request may meet (413, 414, 415, 500, 503). What each route
 * declares itself — its `operationId`, request schemas, success answers and its own refusals — is
 * in its file; test/contract/openapi.e2e.test.ts holds the document to the real answers.
 */
import type { RouteOptions } from 'fastify';
import type { SwaggerOptions } from '@fastify/swagger';
import type { ErrorCode } from '../domain/error-catalogue.js';
import { SESSION_COOKIE } from './request-hooks.js';
import { codesIn, refusal } from './schemas.js';
import { idempotencyHeader } from './idempotency.js';

export function swaggerOptions(version: string): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Tunnelplane API',
        version,
        description:
          'Self-hosted control plane for Cloudflare Tunnels. Authenticate with HTTP Basic, a bearer API token, or a browser session (cookie; changes also send X-CSRF-Token). Every error answer is the ErrorEnvelope.',
      },
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic' },
          bearer: { type: 'http', scheme: 'bearer', description: 'an API token (tp_…)' },
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
          csrf: {
            type: 'apiKey',
            in: 'header',
            name: 'X-CSRF-Token',
            description: "the session's CSRF token (GET /auth/session); changes made with the cookie send it",
          },
        },
      },
      security: [{ basic: [] }, { bearer: [] }, { session: [] }],
    },
    // Shared schemas (the error envelope) keep their names under #/components/schemas.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  };
}

type Response = Record<string, unknown> & { description?: string };

const ANY_REQUEST: ErrorCode[] = [
  'request.too_large',
  'request.unsupported_media_type',
  'request.uri_too_long',
];
const IDEMPOTENCY: ErrorCode[] = [
  'request.invalid_idempotency_key',
  'idempotency.in_progress',
  'idempotency.key_reused',
];

/** Adds `codes` to the error answer under `status`, keeping the codes the route named. */
function addCodes(responses: Record<string, Response>, status: number, codes: ErrorCode[]) {
  const had = codesIn(responses[status]?.description);
  responses[status] = refusal([...had, ...codes.filter((c) => !had.includes(c))]);
}

/** The `onRoute` hook: an operation's security, authentication's refusals, and the 4XX and 5XX answers. */
export function describeOperation(route: RouteOptions) {
  const schema = (route.schema ?? {}) as Record<string, unknown> & { hide?: boolean };
  if (schema.hide) return;
  const methods = [route.method].flat();
  const changes = methods.some((m) => m !== 'GET' && m !== 'HEAD');
  const responses = { ...((schema.response as Record<string, Response> | undefined) ?? {}) };
  const open = route.config?.public === true;
  if (open) {
    schema.security = [];
  } else {
    schema.security = [{ basic: [] }, { bearer: [] }, changes ? { session: [], csrf: [] } : { session: [] }];
    addCodes(responses, 401, ['auth.required', 'auth.invalid']);
    addCodes(responses, 403, [
      'auth.disabled',
      'auth.scope',
      'auth.password_disabled',
      ...(route.config?.admin ? (['auth.forbidden'] as const) : []),
      ...(changes ? (['auth.csrf'] as const) : []),
    ]);
    addCodes(responses, 429, ['auth.throttled', ...(changes ? (['rate.limited'] as const) : [])]);
  }
  // Every authenticated POST takes an Idempotency-Key (server/idempotency.ts).
  const idempotent = !open && methods.includes('POST');
  if (idempotent) {
    const headers = (schema.headers ?? { type: 'object', properties: {} }) as {
      type: 'object';
      properties: Record<string, unknown>;
    };
    schema.headers = { ...headers, properties: { ...headers.properties, ...idempotencyHeader } };
  }
  // Ranges, not `default`: an answer a route left undeclared (a success it does not describe) must
  // not be serialised as an error.
  responses['4xx'] ??= idempotent
    ? {
        ...refusal([...ANY_REQUEST, ...IDEMPOTENCY]),
        description:
          'Refusals any request may meet, in the error envelope: 413 `request.too_large`, 414 `request.uri_too_long`, 415 `request.unsupported_media_type`; with an `Idempotency-Key`: 400 `request.invalid_idempotency_key` (not 1–255 printable ASCII), 409 `idempotency.in_progress` (its first request is still running), 422 `idempotency.key_reused` (used for another request).',
      }
    : {
        ...refusal(ANY_REQUEST),
        description:
          'Refusals any request may meet, in the error envelope: 413 `request.too_large`, 414 `request.uri_too_long`, 415 `request.unsupported_media_type`.',
      };
  responses['5xx'] ??= {
    ...refusal(['internal', 'database.unavailable', 'auth.busy']),
    description:
      'Failures, in the error envelope: 500 `internal`, 503 `database.unavailable` or `auth.busy` (Retry-After).',
  };
  schema.response = responses;
  route.schema = schema;
}
