/** API v1 for the caller's account (`/api/v1/me`, `/tokens`, `/events`). Thin: schema, one service call, the presenter. */
import type { FastifyInstance } from 'fastify';
import { presentEvent, presentToken, presentUser } from './presenters.js';
import { actorOf, pageQuery } from './schemas.js';
import type { AccountService } from './account-service.js';

export function registerAccountRoutes(v1: FastifyInstance, deps: { accounts: AccountService }) {
  const { accounts } = deps;

  v1.get('/me', { schema: { tags: ['me'], summary: 'Who you are, your quotas and usage' } }, async (req) => ({
    ...presentUser(await accounts.me(actorOf(req))),
    authenticatedWith: req.auth!.via,
  }));

  v1.post<{ Body: { name: string; expiresInDays?: number } }>(
    '/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token (the secret is shown once)',
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 100 },
            expiresInDays: { type: 'integer', minimum: 1, maximum: 3650 },
          },
        },
      },
    },
    async (req, reply) => {
      const { row, secret } = await accounts.createToken(actorOf(req), req.body);
      return reply.status(201).send({ token: presentToken(row), secret });
    },
  );

  v1.get('/tokens', { schema: { tags: ['tokens'] } }, async (req) => ({
    items: (await accounts.listTokens(actorOf(req))).map(presentToken),
  }));

  v1.delete<{ Params: { id: string } }>(
    '/tokens/:id',
    {
      schema: {
        tags: ['tokens'],
        params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } },
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
        summary: "Your audit trail (admins see everyone's)",
        querystring: pageQuery,
      },
    },
    async (req) => {
      const page = await accounts.events(actorOf(req), req.query.limit ?? 50, req.query.cursor);
      return { items: page.items.map(presentEvent), nextCursor: page.nextCursor };
    },
  );
}
