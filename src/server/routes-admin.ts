/** API v1 for admins (`/api/v1/admin/…`): users, teams, everyone's tunnels, quotas, token rotation. Every change is audited. */
import type { FastifyInstance } from 'fastify';
import { presentTeam, presentUser, teamSchema, tunnelPageSchema, userSchema } from './presenters.js';
import { actorOf, locationHeader, noBody, pageQuery, refusals, routeParams } from './schemas.js';
import { sendPage, type ApiRouteDeps } from './routes-tunnels.js';
import type { AdminService, QuotaPatch, UserPatch } from './admin-service.js';

const nameParam = (key: string) => ({
  type: 'object',
  required: [key],
  properties: { [key]: { type: 'string', maxLength: 100 } },
});
const quotasBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    tunnels: { type: 'integer', minimum: 0, maximum: 100000, nullable: true },
    routes: { type: 'integer', minimum: 0, maximum: 1000000, nullable: true },
  },
} as const;
const password = { type: 'string', maxLength: 1024 } as const;
const itemsOf = (item: object) => ({
  type: 'object',
  required: ['items'],
  properties: { items: { type: 'array', items: item } },
});
const users = { 200: itemsOf(userSchema) };
const teams = { 200: itemsOf(teamSchema) };
const tokensRevoked = {
  type: 'object',
  required: ['tokensRevoked'],
  properties: { tokensRevoked: { type: 'integer' } },
} as const;
const created = (schema: object) => ({ ...schema, description: 'Created', headers: locationHeader });
const userPath = (name: string) => `/api/v1/admin/users/${encodeURIComponent(name)}`;
const teamPath = (name: string) => `/api/v1/admin/teams/${encodeURIComponent(name)}`;

export function registerAdminRoutes(v1: FastifyInstance, deps: ApiRouteDeps & { admin: AdminService }) {
  const { routes, admin: svc } = deps;
  const admin = { admin: true };
  // Names are at most 100 characters, as the router allows: a name in a path is never a 400.
  const user = { 200: userSchema, ...refusals('user.not_found') };
  const team = { 200: teamSchema, ...refusals('team.not_found') };

  v1.get(
    '/admin/users',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'listUsers',
        summary: 'Every user with quotas and usage',
        response: users,
      },
    },
    async () => ({ items: (await svc.listUsers()).map((d) => presentUser(d)) }),
  );

  v1.post<{ Body: { name: string; password?: string; role?: 'user' | 'admin' } }>(
    '/admin/users',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'createUser',
        summary: 'Create a user (without a password they sign in only with single sign-on)',
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 100 },
            password,
            role: { type: 'string', enum: ['user', 'admin'] },
          },
        },
        response: {
          201: created(userSchema),
          ...refusals('request.invalid', 'user.invalid_name', 'user.weak_password', 'user.name_taken'),
        },
      },
    },
    async (req, reply) => {
      const made = presentUser(await svc.createUser(actorOf(req), req.body));
      return reply.status(201).header('location', userPath(made.name)).send(made);
    },
  );

  v1.get<{ Params: { user: string } }>(
    '/admin/users/:user',
    {
      config: admin,
      schema: { tags: ['admin'], operationId: 'getUser', params: nameParam('user'), response: user },
    },
    async (req) => presentUser(await svc.getUser(req.params.user)),
  );

  v1.patch<{ Params: { user: string }; Body: UserPatch }>(
    '/admin/users/:user',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'updateUser',
        summary:
          "Set a user's role, or disable (refused everywhere; their tunnels keep running) and re-enable them",
        params: nameParam('user'),
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { role: { type: 'string', enum: ['user', 'admin'] }, disabled: { type: 'boolean' } },
        },
        response: { ...user, ...refusals('request.invalid', 'user.not_found', 'user.last_admin') },
      },
    },
    async (req) => presentUser(await svc.updateUser(actorOf(req), req.params.user, req.body)),
  );

  v1.put<{ Params: { user: string }; Body: { password: string } }>(
    '/admin/users/:user/password',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'resetUserPassword',
        summary:
          "Reset a user's password (signs their sessions out; revokes their tokens when the operator chose so)",
        params: nameParam('user'),
        body: {
          type: 'object',
          required: ['password'],
          additionalProperties: false,
          properties: { password },
        },
        response: {
          200: tokensRevoked,
          ...refusals('request.invalid', 'user.weak_password', 'user.not_found'),
        },
      },
    },
    async (req) => svc.resetPassword(actorOf(req), req.params.user, req.body.password),
  );

  v1.delete<{ Params: { user: string } }>(
    '/admin/users/:user',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'deleteUser',
        summary: 'Remove a user (refused while they own personal tunnels; team tunnels stay with the team)',
        params: nameParam('user'),
        response: {
          204: noBody('Removed'),
          ...refusals('user.not_found', 'user.last_admin', 'user.has_tunnels'),
        },
      },
    },
    async (req, reply) => {
      await svc.removeUser(actorOf(req), req.params.user);
      return reply.status(204).send();
    },
  );

  v1.put<{ Params: { user: string }; Body: QuotaPatch }>(
    '/admin/users/:user/quotas',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'setUserQuotas',
        summary: "A user's quota overrides (null: the server's default)",
        params: nameParam('user'),
        body: quotasBody,
        response: { ...user, ...refusals('request.invalid', 'user.not_found') },
      },
    },
    async (req) => presentUser(await svc.setUserQuotas(actorOf(req), req.params.user, req.body)),
  );

  // --- teams ------------------------------------------------------------------------------
  v1.get(
    '/admin/teams',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'listTeams',
        summary: 'Every team with members, quotas and usage',
        response: teams,
      },
    },
    async () => ({ items: (await svc.listTeams()).map(presentTeam) }),
  );

  v1.post<{ Body: { name: string; quotas?: QuotaPatch } }>(
    '/admin/teams',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'createTeam',
        summary: 'Create a team (it owns tunnels; its members see and manage them)',
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: { type: 'string', maxLength: 100 }, quotas: quotasBody },
        },
        response: {
          201: created(teamSchema),
          ...refusals('request.invalid', 'user.invalid_name', 'team.name_taken', 'user.name_taken'),
        },
      },
    },
    async (req, reply) => {
      const made = presentTeam(await svc.createTeam(actorOf(req), req.body));
      return reply.status(201).header('location', teamPath(made.name)).send(made);
    },
  );

  v1.get<{ Params: { team: string } }>(
    '/admin/teams/:team',
    {
      config: admin,
      schema: { tags: ['admin'], operationId: 'getTeam', params: nameParam('team'), response: team },
    },
    async (req) => presentTeam(await svc.getTeam(req.params.team)),
  );

  v1.delete<{ Params: { team: string } }>(
    '/admin/teams/:team',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'deleteTeam',
        summary: 'Remove a team (refused while it owns tunnels)',
        params: nameParam('team'),
        response: {
          204: noBody('Removed'),
          ...refusals('team.not_found', 'team.has_tunnels'),
        },
      },
    },
    async (req, reply) => {
      await svc.removeTeam(actorOf(req), req.params.team);
      return reply.status(204).send();
    },
  );

  v1.put<{ Params: { team: string }; Body: QuotaPatch }>(
    '/admin/teams/:team/quotas',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'setTeamQuotas',
        summary: "A team's quotas (its tunnels count against them, not against its members')",
        params: nameParam('team'),
        body: quotasBody,
        response: { ...team, ...refusals('request.invalid', 'team.not_found') },
      },
    },
    async (req) => presentTeam(await svc.setTeamQuotas(actorOf(req), req.params.team, req.body)),
  );

  const memberParams = {
    type: 'object',
    required: ['team', 'user'],
    properties: { team: { type: 'string', maxLength: 100 }, user: { type: 'string', maxLength: 100 } },
  };
  v1.put<{ Params: { team: string; user: string } }>(
    '/admin/teams/:team/members/:user',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'addTeamMember',
        summary: 'Add a member',
        params: memberParams,
        response: { ...team, ...refusals('team.not_found', 'user.not_found') },
      },
    },
    async (req) => presentTeam(await svc.addMember(actorOf(req), req.params.team, req.params.user)),
  );

  v1.delete<{ Params: { team: string; user: string } }>(
    '/admin/teams/:team/members/:user',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'removeTeamMember',
        summary: "Remove a member (the team's tunnels stay as they are)",
        params: memberParams,
        response: { ...team, ...refusals('team.not_found', 'user.not_found') },
      },
    },
    async (req) => presentTeam(await svc.removeMember(actorOf(req), req.params.team, req.params.user)),
  );

  // --- tunnels ----------------------------------------------------------------------------
  v1.get<{ Querystring: { limit?: number; cursor?: string; owner?: string } }>(
    '/admin/tunnels',
    {
      config: admin,
      schema: {
        tags: ['admin'],
        operationId: 'listAllTunnels',
        summary: "Everyone's tunnels (or one owner's: a user name, or team:<name>)",
        querystring: {
          ...pageQuery,
          properties: { ...pageQuery.properties, owner: { type: 'string', maxLength: 100 } },
        },
        response: { 200: tunnelPageSchema, ...refusals('request.invalid', 'user.not_found') },
      },
    },
    async (req, reply) => {
      const ownerId = req.query.owner ? await deps.accounts.userId(req.query.owner) : null;
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
        operationId: 'rotateRouteToken',
        summary: "Rotate a TCP route's Access service token; the access pods roll onto the new one",
        params: routeParams,
        response: {
          202: {
            type: 'object',
            required: ['route', 'rotation'],
            description: 'Accepted: the reconciler rotates it',
            properties: { route: { type: 'string' }, rotation: { type: 'string', enum: ['requested'] } },
          },
          ...refusals(
            'request.invalid',
            'tunnel.invalid_name',
            'tunnel.not_found',
            'route.not_found',
            'route.no_service_token',
          ),
        },
      },
    },
    async (req, reply) => {
      const r = await routes.rotateToken(actorOf(req), req.params.tunnel, req.params.route);
      return reply.status(202).send({ route: r.name, rotation: 'requested' });
    },
  );
}
