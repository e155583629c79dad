/** API v1 for admins (`/api/v1/admin/…`): users, everyone's tunnels, quotas, token rotation. */
import type { FastifyInstance } from 'fastify';
import { presentUser } from './presenters.js';
import { actorOf, pageQuery, routeParams } from './schemas.js';
import { sendPage, type ApiRouteDeps } from './routes-tunnels.js';

export function registerAdminRoutes(v1: FastifyInstance, deps: ApiRouteDeps) {
  const { routes, accounts } = deps;
  const admin = { admin: true };

  v1.get('/admin/users', { config: admin, schema: { tags: ['admin'] } }, async () => ({
    items: (await accounts.listUsers()).map(presentUser),
  }));

  v1.get<{ Querystring: { limit?: number; cursor?: string; owner?: string } }>(
    '/admin/tunnels',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        querystring: {
          ...pageQuery,
          properties: { ...pageQuery.properties, owner: { type: 'string', maxLength: 100 } },
        },
      },
    },
    async (req, reply) => {
      const ownerId = req.query.owner ? await accounts.userId(req.query.owner) : null;
      const { limit = 50, cursor } = req.query;
      return sendPage(
        deps,
        reply,
        req,
        `admin:${ownerId ?? '*'}:${limit}:${cursor ?? ''}`,
        await deps.tunnels.list(ownerId, limit, cursor),
      );
    },
  );

  v1.post<{ Params: { tunnel: string; route: string } }>(
    '/admin/tunnels/:tunnel/routes/:route/rotate-token',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        summary: "Rotate a TCP route's Access service token; the access pods roll onto the new one",
        params: routeParams,
      },
    },
    async (req, reply) => {
      const r = await routes.rotateToken(actorOf(req), req.params.tunnel, req.params.route);
      return reply.status(202).send({ route: r.name, rotation: 'requested' });
    },
  );

  v1.put<{ Params: { user: string }; Body: { tunnels?: number | null; routes?: number | null } }>(
    '/admin/users/:user/quotas',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        params: { type: 'object', properties: { user: { type: 'string', maxLength: 100 } } },
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            tunnels: { type: 'integer', minimum: 0, maximum: 100000, nullable: true },
            routes: { type: 'integer', minimum: 0, maximum: 1000000, nullable: true },
          },
        },
      },
    },
    async (req) => presentUser(await accounts.setQuotas(actorOf(req), req.params.user, req.body)),
  );
}
