/** API v1 for the caller's account (`/me`, `/me/password`, `/teams`, `/tokens`, `/events`): schema, one service call, a presenter. */
import type { FastifyInstance } from 'fastify';
import {
  eventSchema,
  presentEvent,
  presentToken,
  presentUser,
  tokenSchema,
  userSchema,
} from './presenters.js';
import { actorOf, locationHeader, noBody, pageQuery, refusals } from './schemas.js';
import type { AccountService } from './account-service.js';
import { ownersOf } from './actor.js';
import type { EventStream } from './event-stream.js';
import { AppError } from '../domain/errors.js';

const itemsOf = (item: object) => ({
  type: 'object',
  required: ['items'],
  properties: { items: { type: 'array', items: item } },
});

/** A token just made, with its secret (shown this once). */
export const newTokenSchema = {
  type: 'object',
  required: ['token', 'secret'],
  properties: { token: tokenSchema, secret: { type: 'string', description: 'shown once' } },
} as const;

/** A token's path (a created token's Location: revoke it there). */
export const tokenPath = (id: string) => `/api/v1/tokens/${encodeURIComponent(id)}`;

export function registerAccountRoutes(
  v1: FastifyInstance,
  deps: { accounts: AccountService; eventStream?: EventStream },
) {
  const { accounts } = deps;

  v1.get(
    '/me',
    {
      schema: {
        tags: ['me'],
        operationId: 'getMe',
        summary: 'Who you are, your quotas, usage and teams, and what your credential may do',
        response: {
          200: {
            type: 'object',
            required: [...userSchema.required, 'teams', 'authenticatedWith', 'scopes', 'expiresAt'],
            properties: {
              ...userSchema.properties,
              authenticatedWith: { type: 'string', enum: ['basic', 'token', 'session'] },
              scopes: tokenSchema.properties.scopes,
              expiresAt: { type: 'string', nullable: true },
            },
          },
        },
      },
    },
    async (req) => ({
      ...presentUser({ ...(await accounts.me(actorOf(req))), teams: req.auth!.teams }),
      authenticatedWith: req.auth!.via,
      scopes: req.auth!.scopes,
      expiresAt: req.auth!.expiresAt,
    }),
  );

  v1.put<{ Body: { currentPassword: string; newPassword: string } }>(
    '/me/password',
    {
      schema: {
        tags: ['me'],
        operationId: 'changePassword',
        summary:
          'Change your password (signs your browser sessions out; revokes your tokens when the operator chose so)',
        body: {
          type: 'object',
          required: ['currentPassword', 'newPassword'],
          additionalProperties: false,
          properties: {
            currentPassword: { type: 'string', maxLength: 1024 },
            newPassword: { type: 'string', maxLength: 1024 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['tokensRevoked'],
            properties: { tokensRevoked: { type: 'integer' } },
          },
          ...refusals('request.invalid', 'user.weak_password', 'auth.wrong_password'),
        },
      },
    },
    async (req) => accounts.changePassword(actorOf(req), req.body),
  );

  v1.get(
    '/teams',
    {
      schema: {
        tags: ['me'],
        operationId: 'listMyTeams',
        summary: 'The teams you are in (their tunnels are yours to see and manage)',
        response: {
          200: itemsOf({ type: 'object', required: ['name'], properties: { name: { type: 'string' } } }),
        },
      },
    },
    async (req) => ({ items: req.auth!.teams.map((t) => ({ name: t.name })) }),
  );

  v1.post<{ Body: { name: string; expiresInDays?: number; scopes?: string[] } }>(
    '/tokens',
    {
      schema: {
        tags: ['tokens'],
        operationId: 'createToken',
        summary:
          'Create an API token (the secret is shown once); its scopes and expiry default to, and never exceed, the credential that asks',
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            expiresInDays: { type: 'integer', minimum: 1, maximum: 3650 },
            scopes: { type: 'array', maxItems: 3, items: { type: 'string', maxLength: 16 } },
          },
        },
        response: {
          201: { ...newTokenSchema, description: 'Created', headers: locationHeader },
          ...refusals('request.invalid', 'token.bad_scope', 'token.exceeds'),
        },
      },
    },
    async (req, reply) => {
      const { row, secret } = await accounts.createToken(actorOf(req), req.body);
      return reply
        .status(201)
        .header('location', tokenPath(row.id))
        .send({ token: presentToken(row), secret });
    },
  );

  v1.get(
    '/tokens',
    {
      schema: {
        tags: ['tokens'],
        operationId: 'listTokens',
        summary: 'Your API tokens (never their secrets)',
        response: { 200: itemsOf(tokenSchema) },
      },
    },
    async (req) => ({ items: (await accounts.listTokens(actorOf(req))).map(presentToken) }),
  );

  v1.delete<{ Params: { id: string } }>(
    '/tokens/:id',
    {
      schema: {
        tags: ['tokens'],
        operationId: 'revokeToken',
        summary: 'Revoke one of your API tokens',
        params: { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } },
        response: { 204: noBody('Revoked'), ...refusals('request.invalid', 'token.not_found') },
      },
    },
    async (req, reply) => {
      await accounts.revokeToken(actorOf(req), req.params.id);
      return reply.status(204).send();
    },
  );

  v1.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/events',
    {
      schema: {
        tags: ['events'],
        operationId: 'listEvents',
        summary: "Your audit trail and your teams' (admins see everyone's)",
        querystring: pageQuery,
        response: {
          ...refusals('request.invalid'),
          200: {
            type: 'object',
            required: ['items', 'nextCursor'],
            properties: {
              items: { type: 'array', items: eventSchema },
              nextCursor: { type: 'string', nullable: true },
            },
          },
        },
      },
    },
    async (req) => {
      const page = await accounts.events(actorOf(req), req.query.limit ?? 50, req.query.cursor);
      return { items: page.items.map(presentEvent), nextCursor: page.nextCursor };
    },
  );

  v1.get<{ Querystring: { after?: number } }>(
    '/events/stream',
    {
      schema: {
        tags: ['events'],
        operationId: 'streamEvents',
        summary:
          "The audit trail live, as server-sent events (yours and your teams'; admins everyone's); resume with Last-Event-ID (or ?after=ID)",
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { after: { type: 'integer', minimum: 0 } },
        },
        response: {
          200: {
            description:
              'text/event-stream: `id: <event id>`, `event: <action>`, `data: <the event as GET /events gives it>`; a `: ping` comment every 15 s',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          ...refusals('request.invalid', 'rate.limited'),
        },
      },
    },
    async (req, reply) => {
      if (!deps.eventStream) throw new AppError('route.unknown_path', 'No event stream on this server.');
      const header = req.headers['last-event-id'];
      const fromHeader = typeof header === 'string' && /^\d{1,15}$/.test(header) ? Number(header) : null;
      const actor = actorOf(req);
      await deps.eventStream.serve(req, reply, {
        userId: actor.user.id,
        owners: actor.user.role === 'admin' ? null : ownersOf(actor),
        lastEventId: fromHeader ?? req.query.after ?? null,
      });
      return reply;
    },
  );
}
