/** API v1 tunnels and routes (`/api/v1/tunnels…`). Thin: schema, one service call, the presenter. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { Page, TunnelView } from '../store/index.js';
import { ownersOf } from './actor.js';
import { presentRoute, presentTunnel, routeSchema, tunnelSchema, type InCluster } from './presenters.js';
import {
  actorOf,
  errorSchema,
  errors,
  pageQuery,
  routeParams,
  tunnelParams,
  waitMs,
  waitQuery,
} from './schemas.js';
import type { AccountService } from './account-service.js';
import type { RouteService, NewRouteInput } from './route-service.js';
import type { TunnelService } from './tunnel-service.js';

export interface ApiRouteDeps {
  tunnels: TunnelService;
  routes: RouteService;
  accounts: AccountService;
  inCluster: InCluster;
}

/** Owner names of a page's tunnels (the caller's own without a lookup). */
export async function ownerNamesOf(accounts: AccountService, req: FastifyRequest, rows: TunnelView[]) {
  const me = req.auth!.user;
  const names = new Map([[me.id, me.name]]);
  for (const t of rows)
    if (!names.has(t.owner_id)) names.set(t.owner_id, await accounts.ownerName(t.owner_id));
  return names;
}

/** A page of tunnels as JSON text, from the rendered-view cache (the schema's document, pre-serialised). */
export async function sendPage(
  deps: ApiRouteDeps,
  reply: FastifyReply,
  req: FastifyRequest,
  pageKey: string,
  page: Page<TunnelView>,
) {
  const json = await deps.tunnels.views.pageJson(
    pageKey,
    page.items,
    await ownerNamesOf(deps.accounts, req, page.items),
    page.nextCursor,
  );
  return reply.type('application/json; charset=utf-8').send(json);
}

const routeBody = {
  type: 'object',
  required: ['service'],
  additionalProperties: false,
  properties: {
    service: { type: 'string', maxLength: 300 },
    name: { type: 'string', maxLength: 64 },
    allowIps: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 64 } },
    access: {
      type: 'object',
      additionalProperties: false,
      properties: {
        emails: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 320 } },
        emailDomains: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 253 } },
      },
    },
    /** Deleted by itself this long after creation (`tunnelctl share --ttl`; at most 30 days). */
    ttlSeconds: { type: 'integer', minimum: 60, maximum: 2592000 },
    /** The zone the hostname lives under (`GET /api/v1/zones` lists yours); default: your default zone. */
    zone: { type: 'string', maxLength: 253 },
  },
} as const;

export function registerTunnelRoutes(v1: FastifyInstance, deps: ApiRouteDeps) {
  const { tunnels, routes, accounts, inCluster } = deps;

  v1.post<{
    Body: { name?: string; configMode?: 'local' | 'remote'; team?: string; ttlSeconds?: number } | undefined;
    Querystring: { wait?: number };
  }>(
    '/tunnels',
    {
      schema: {
        tags: ['tunnels'],
        summary: 'Create a tunnel (random name unless given)',
        querystring: waitQuery,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            name: { type: 'string', maxLength: 64 },
            configMode: { type: 'string', enum: ['local', 'remote'] },
            /** One of your teams: it owns the tunnel (its members manage it, its quotas count it). */
            team: { type: 'string', maxLength: 64 },
            /** Deleted by itself this long after creation (at most 30 days). */
            ttlSeconds: { type: 'integer', minimum: 60, maximum: 2592000 },
          },
        },
        response: { 201: tunnelSchema, 202: tunnelSchema, ...errors },
      },
    },
    async (req, reply) => {
      const res = await tunnels.createTunnel(actorOf(req), req.body ?? {}, waitMs(req.query));
      return reply
        .status(res.finished && res.tunnel.phase === 'ready' ? 201 : 202)
        .send(
          presentTunnel(res.tunnel, res.routes, await accounts.ownerName(res.tunnel.owner_id), inCluster),
        );
    },
  );

  v1.get<{ Querystring: { limit?: number; cursor?: string; team?: string } }>(
    '/tunnels',
    {
      schema: {
        tags: ['tunnels'],
        summary: "Your tunnels and your teams' with their routes (`team`: only that team's)",
        querystring: {
          ...pageQuery,
          properties: { ...pageQuery.properties, team: { type: 'string', maxLength: 64 } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              items: { type: 'array', items: tunnelSchema },
              nextCursor: { type: 'string', nullable: true },
            },
          },
        },
      },
    },
    async (req, reply) => {
      const { limit = 50, cursor, team } = req.query;
      const me = req.auth!.user;
      const teams = req.auth!.teams;
      if (team !== undefined) {
        const ref = teams.find((t) => t.name === team);
        if (!ref)
          throw new AppError('team.not_found', `You are not in a team named ${JSON.stringify(team)}.`);
        const page = await tunnels.list(ref.id, limit, cursor);
        return sendPage(deps, reply, req, `team:${ref.id}:${limit}:${cursor ?? ''}`, page);
      }
      if (teams.length) {
        // Several owners: the page is cached under the versions of the tunnels it shows.
        const page = await tunnels.list(ownersOf(actorOf(req)), limit, cursor);
        return sendPage(deps, reply, req, `mine:${me.id}:${limit}:${cursor ?? ''}`, page);
      }
      const json = await tunnels.views.ownPageJson(me, limit, cursor, () =>
        tunnels.list(me.id, limit, cursor),
      );
      return reply.type('application/json; charset=utf-8').send(json);
    },
  );

  v1.get<{ Params: { tunnel: string } }>(
    '/tunnels/:tunnel',
    { schema: { tags: ['tunnels'], params: tunnelParams, response: { 200: tunnelSchema, ...errors } } },
    async (req, reply) => {
      const t = await tunnels.ownTunnel(actorOf(req), req.params.tunnel);
      const names = await ownerNamesOf(accounts, req, [t]);
      return reply
        .type('application/json; charset=utf-8')
        .send(await tunnels.views.tunnelJson(t, names.get(t.owner_id)!));
    },
  );

  v1.delete<{ Params: { tunnel: string }; Querystring: { wait?: number } }>(
    '/tunnels/:tunnel',
    {
      schema: {
        tags: ['tunnels'],
        summary: 'Delete a tunnel and everything it made',
        params: tunnelParams,
        querystring: waitQuery,
      },
    },
    async (req, reply) => {
      const res = await tunnels.deleteTunnel(actorOf(req), req.params.tunnel, waitMs(req.query));
      if (res.gone) return reply.status(204).send();
      const c = res.current!;
      return reply
        .status(202)
        .send(presentTunnel(c.tunnel, c.routes, await accounts.ownerName(c.tunnel.owner_id), inCluster));
    },
  );

  v1.get<{ Params: { tunnel: string } }>(
    '/tunnels/:tunnel/credentials',
    { schema: { tags: ['tunnels'], summary: 'The cloudflared credentials file', params: tunnelParams } },
    async (req, reply) => {
      const creds = await tunnels.credentials(actorOf(req), req.params.tunnel);
      return reply.header('cache-control', 'no-store').type('application/json').send(JSON.stringify(creds));
    },
  );

  v1.get<{ Params: { tunnel: string } }>(
    '/tunnels/:tunnel/config',
    { schema: { tags: ['tunnels'], summary: 'The cloudflared config.yaml', params: tunnelParams } },
    async (req, reply) =>
      reply.type('application/yaml').send(await tunnels.configYaml(actorOf(req), req.params.tunnel)),
  );

  v1.get<{ Params: { tunnel: string } }>(
    '/tunnels/:tunnel/token',
    {
      schema: {
        tags: ['tunnels'],
        summary: 'The run token for `cloudflared tunnel run --token`',
        params: tunnelParams,
      },
    },
    async (req, reply) =>
      reply
        .header('cache-control', 'no-store')
        .send({ token: await tunnels.token(actorOf(req), req.params.tunnel) }),
  );

  v1.post<{ Params: { tunnel: string }; Body: NewRouteInput; Querystring: { wait?: number } }>(
    '/tunnels/:tunnel/routes',
    {
      schema: {
        tags: ['routes'],
        summary: 'Add a route: a random hostname in the zone pointing at a service behind the tunnel',
        params: tunnelParams,
        querystring: waitQuery,
        body: routeBody,
        response: { 201: routeSchema, 202: routeSchema, ...errors, 422: errorSchema },
      },
    },
    async (req, reply) => {
      const res = await routes.add(actorOf(req), req.params.tunnel, req.body, waitMs(req.query));
      return reply
        .status(res.finished && res.route.phase === 'ready' ? 201 : 202)
        .send(presentRoute(res.route, res.tunnel.name, inCluster));
    },
  );

  v1.get<{ Params: { tunnel: string } }>(
    '/tunnels/:tunnel/routes',
    { schema: { tags: ['routes'], params: tunnelParams } },
    async (req) => {
      const t = await tunnels.ownTunnel(actorOf(req), req.params.tunnel);
      return { items: (await tunnels.withRoutes(t)).routes.map((r) => presentRoute(r, t.name, inCluster)) };
    },
  );

  v1.get<{ Params: { tunnel: string; route: string } }>(
    '/tunnels/:tunnel/routes/:route',
    { schema: { tags: ['routes'], params: routeParams } },
    async (req) => {
      const { tunnel, route } = await routes.get(actorOf(req), req.params.tunnel, req.params.route);
      return presentRoute(route, tunnel.name, inCluster);
    },
  );

  v1.delete<{ Params: { tunnel: string; route: string }; Querystring: { wait?: number } }>(
    '/tunnels/:tunnel/routes/:route',
    { schema: { tags: ['routes'], params: routeParams, querystring: waitQuery } },
    async (req, reply) => {
      const res = await routes.delete(
        actorOf(req),
        req.params.tunnel,
        { name: req.params.route },
        waitMs(req.query),
      );
      if (res.pending.length === 0) return reply.status(204).send();
      return reply.status(202).send(presentRoute(res.pending[0]!, res.tunnel.name, inCluster));
    },
  );

  v1.delete<{ Params: { tunnel: string }; Querystring: { service: string; wait?: number } }>(
    '/tunnels/:tunnel/routes',
    {
      schema: {
        tags: ['routes'],
        summary: 'Delete every route of a service',
        params: tunnelParams,
        querystring: {
          type: 'object',
          required: ['service'],
          additionalProperties: false,
          properties: { service: { type: 'string', maxLength: 300 }, wait: waitQuery.properties.wait },
        },
      },
    },
    async (req) => {
      const res = await routes.delete(
        actorOf(req),
        req.params.tunnel,
        { service: req.query.service },
        waitMs(req.query),
      );
      return { deleted: res.deleted, pending: res.pending.map((r) => r.name) };
    },
  );
}
