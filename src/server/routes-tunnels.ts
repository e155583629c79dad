/** API v1 tunnels and routes (`/api/v1/tunnels…`). Thin: schema, one service call, the presenter. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { Page, TunnelView } from '../store/index.js';
import { ownersOf } from './actor.js';
import {
  presentRoute,
  presentTunnel,
  routeSchema,
  tunnelPageSchema,
  tunnelSchema,
  type InCluster,
} from './presenters.js';
import {
  actorOf,
  credentialsSchema,
  locationHeader,
  noBody,
  pageQuery,
  refusals,
  routeParams,
  textFile,
  tunnelParams,
  waitMs,
  waitQuery,
} from './schemas.js';
import type { AccountService } from './account-service.js';
import type { RouteService, NewRouteInput, RouteUpdateInput } from './route-service.js';
import { etagHeader, ifMatchGeneration, ifMatchHeaders, withEtag } from './preconditions.js';
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

const accessBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    emails: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 320 } },
    emailDomains: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 253 } },
    /** Identity-provider groups (an OIDC claim of the Access IdP the operator names). */
    groups: { type: 'array', maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 128 } },
    /** How long an Access session lasts: `30m`, `24h` (1m–720h; default 24h). */
    sessionDuration: { type: 'string', maxLength: 16 },
  },
} as const;

/** cloudflared's origin options, validated by the service (domain/origin-request.ts). */
const originRequestBody = { type: 'object', maxProperties: 20, additionalProperties: true } as const;

const routeBody = {
  type: 'object',
  required: ['service'],
  additionalProperties: false,
  properties: {
    service: { type: 'string', maxLength: 300 },
    name: { type: 'string', maxLength: 64 },
    /** A label of the zone: `myapp` → `myapp.<zone>` (or the full name under the zone). */
    hostname: { type: 'string', maxLength: 253 },
    allowIps: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 64 } },
    access: accessBody,
    originRequest: originRequestBody,
    /** Deleted by itself this long after creation (`tunnelctl share --ttl`; at most 30 days). */
    ttlSeconds: { type: 'integer', minimum: 60, maximum: 2592000 },
    /** The zone the hostname lives under (`GET /api/v1/zones` lists yours); default: your default zone. */
    zone: { type: 'string', maxLength: 253 },
  },
} as const;

const routePatchBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    service: { type: 'string', maxLength: 300 },
    allowIps: { type: 'array', nullable: true, maxItems: 50, items: { type: 'string', maxLength: 64 } },
    access: { ...accessBody, nullable: true },
    originRequest: { ...originRequestBody, nullable: true },
  },
} as const;

/** The tunnel's path (a created tunnel's Location). */
export const tunnelPath = (name: string) => `/api/v1/tunnels/${encodeURIComponent(name)}`;

const created = <S extends object>(schema: S, description: string) => ({
  ...schema,
  description,
  headers: locationHeader,
});

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
        operationId: 'createTunnel',
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
        response: {
          201: created(tunnelSchema, 'Created: Cloudflare has the tunnel'),
          202: created(tunnelSchema, 'Accepted: not converged within the wait (see `phase`, `lastError`)'),
          ...refusals(
            'request.invalid',
            'tunnel.invalid_name',
            'quota.exceeded',
            'team.not_found',
            'tunnel.name_taken',
          ),
        },
      },
    },
    async (req, reply) => {
      const res = await tunnels.createTunnel(actorOf(req), req.body ?? {}, waitMs(req.query));
      return reply
        .status(res.finished && res.tunnel.phase === 'ready' ? 201 : 202)
        .header('location', tunnelPath(res.tunnel.name))
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
        operationId: 'listTunnels',
        summary: "Your tunnels and your teams' with their routes (`team`: only that team's)",
        querystring: {
          ...pageQuery,
          properties: { ...pageQuery.properties, team: { type: 'string', maxLength: 64 } },
        },
        response: { 200: tunnelPageSchema, ...refusals('request.invalid', 'team.not_found') },
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
    {
      schema: {
        tags: ['tunnels'],
        operationId: 'getTunnel',
        params: tunnelParams,
        response: {
          200: { ...tunnelSchema, headers: etagHeader },
          ...refusals('request.invalid', 'tunnel.invalid_name', 'tunnel.not_found'),
        },
      },
    },
    async (req, reply) => {
      const t = await tunnels.ownTunnel(actorOf(req), req.params.tunnel);
      const names = await ownerNamesOf(accounts, req, [t]);
      return withEtag(reply, t.generation)
        .type('application/json; charset=utf-8')
        .send(await tunnels.views.tunnelJson(t, names.get(t.owner_id)!));
    },
  );

  v1.delete<{ Params: { tunnel: string }; Querystring: { wait?: number } }>(
    '/tunnels/:tunnel',
    {
      schema: {
        tags: ['tunnels'],
        operationId: 'deleteTunnel',
        summary: 'Delete a tunnel and everything it made',
        params: tunnelParams,
        querystring: waitQuery,
        response: {
          204: noBody('Deleted, with everything it made'),
          202: { ...tunnelSchema, description: 'Accepted: still being deleted when the wait ended' },
          ...refusals('request.invalid', 'tunnel.invalid_name', 'tunnel.not_found'),
        },
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
    {
      schema: {
        tags: ['tunnels'],
        operationId: 'getTunnelCredentials',
        summary: 'The cloudflared credentials file',
        params: tunnelParams,
        response: {
          200: { ...credentialsSchema, description: '`credentials.json` for `--cred-file`' },
          ...refusals('request.invalid', 'tunnel.invalid_name', 'tunnel.not_found', 'tunnel.not_ready'),
        },
      },
    },
    async (req, reply) => {
      const creds = await tunnels.credentials(actorOf(req), req.params.tunnel);
      return reply.header('cache-control', 'no-store').type('application/json').send(JSON.stringify(creds));
    },
  );

  v1.get<{ Params: { tunnel: string } }>(
    '/tunnels/:tunnel/config',
    {
      schema: {
        tags: ['tunnels'],
        operationId: 'getTunnelConfig',
        summary: 'The cloudflared config.yaml',
        params: tunnelParams,
        response: {
          200: textFile('application/yaml', '`config.yaml`: `tunnel`, `credentials-file`, `ingress`'),
          ...refusals('request.invalid', 'tunnel.invalid_name', 'tunnel.not_found', 'tunnel.not_ready'),
        },
      },
    },
    async (req, reply) =>
      reply.type('application/yaml').send(await tunnels.configYaml(actorOf(req), req.params.tunnel)),
  );

  v1.get<{ Params: { tunnel: string } }>(
    '/tunnels/:tunnel/token',
    {
      schema: {
        tags: ['tunnels'],
        operationId: 'getTunnelToken',
        summary: 'The run token for `cloudflared tunnel run --token`',
        params: tunnelParams,
        response: {
          200: { type: 'object', required: ['token'], properties: { token: { type: 'string' } } },
          ...refusals('request.invalid', 'tunnel.invalid_name', 'tunnel.not_found', 'tunnel.not_ready'),
        },
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
        operationId: 'createRoute',
        summary:
          'Add a route: a hostname in the zone (random, or the label you choose) pointing at a service behind the tunnel',
        params: tunnelParams,
        querystring: waitQuery,
        body: routeBody,
        response: {
          201: created(routeSchema, 'Created: the route is live'),
          202: created(routeSchema, 'Accepted: not converged within the wait (see `phase`, `lastError`)'),
          ...refusals(
            'request.invalid',
            'tunnel.invalid_name',
            'route.invalid_service',
            'route.invalid_name',
            'route.invalid_allow_list',
            'route.invalid_access',
            'route.protection_too_large',
            'quota.exceeded',
            'tunnel.not_found',
            'tunnel.deleting',
            'route.name_taken',
            'route.hostname_taken',
            'capacity.exhausted',
            'route.invalid_hostname',
            'route.hostname_prefix',
            'route.hostname_reserved',
            'route.hostname_foreign',
            'route.invalid_origin_request',
            'route.origin_option_unavailable',
            'route.unknown_zone',
            'route.zone_forbidden',
          ),
        },
      },
    },
    async (req, reply) => {
      const res = await routes.add(actorOf(req), req.params.tunnel, req.body, waitMs(req.query));
      return reply
        .status(res.finished && res.route.phase === 'ready' ? 201 : 202)
        .header('location', `${tunnelPath(res.tunnel.name)}/routes/${encodeURIComponent(res.route.name)}`)
        .send(presentRoute(res.route, res.tunnel.name, inCluster));
    },
  );

  v1.get<{ Params: { tunnel: string } }>(
    '/tunnels/:tunnel/routes',
    {
      schema: {
        tags: ['routes'],
        operationId: 'listRoutes',
        params: tunnelParams,
        response: {
          200: {
            type: 'object',
            required: ['items'],
            properties: { items: { type: 'array', items: routeSchema } },
          },
          ...refusals('request.invalid', 'tunnel.invalid_name', 'tunnel.not_found'),
        },
      },
    },
    async (req) => {
      const t = await tunnels.ownTunnel(actorOf(req), req.params.tunnel);
      return { items: (await tunnels.withRoutes(t)).routes.map((r) => presentRoute(r, t.name, inCluster)) };
    },
  );

  v1.get<{ Params: { tunnel: string; route: string } }>(
    '/tunnels/:tunnel/routes/:route',
    {
      schema: {
        tags: ['routes'],
        operationId: 'getRoute',
        summary: 'One route, by name or hostname',
        params: routeParams,
        response: {
          200: { ...routeSchema, headers: etagHeader },
          ...refusals('request.invalid', 'tunnel.invalid_name', 'tunnel.not_found', 'route.not_found'),
        },
      },
    },
    async (req, reply) => {
      const { tunnel, route } = await routes.get(actorOf(req), req.params.tunnel, req.params.route);
      return withEtag(reply, route.generation).send(presentRoute(route, tunnel.name, inCluster));
    },
  );

  v1.patch<{ Params: { tunnel: string; route: string }; Body: RouteUpdateInput }>(
    '/tunnels/:tunnel/routes/:route',
    {
      schema: {
        tags: ['routes'],
        summary:
          'Change a route in place (service, protection, origin options): its hostname and DNS record stay',
        params: routeParams,
        operationId: 'updateRoute',
        headers: ifMatchHeaders,
        body: routePatchBody,
        response: {
          200: { ...routeSchema, headers: etagHeader },
          ...refusals(
            'request.invalid',
            'request.invalid_precondition',
            'tunnel.invalid_name',
            'route.invalid_service',
            'route.invalid_allow_list',
            'route.invalid_access',
            'route.invalid_origin_request',
            'route.origin_option_unavailable',
            'route.protocol_change',
            'route.protection_too_large',
            'quota.exceeded',
            'tunnel.not_found',
            'route.not_found',
            'tunnel.deleting',
            'capacity.exhausted',
            'request.precondition_failed',
          ),
        },
      },
    },
    async (req, reply) => {
      const { tunnel, route } = await routes.update(
        actorOf(req),
        req.params.tunnel,
        req.params.route,
        req.body,
        ifMatchGeneration(req),
      );
      return withEtag(reply, route.generation).send(presentRoute(route, tunnel.name, inCluster));
    },
  );

  v1.patch<{ Params: { tunnel: string }; Body: { configMode?: 'local' | 'remote' } }>(
    '/tunnels/:tunnel',
    {
      schema: {
        tags: ['tunnels'],
        operationId: 'updateTunnel',
        summary: "Change a tunnel: its configuration mode (local → remote; Cloudflare's move is one-way)",
        params: tunnelParams,
        headers: ifMatchHeaders,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { configMode: { type: 'string', enum: ['local', 'remote'] } },
        },
        response: {
          200: { ...tunnelSchema, headers: etagHeader },
          ...refusals(
            'request.invalid',
            'request.invalid_precondition',
            'tunnel.invalid_name',
            'tunnel.config_mode_change',
            'tunnel.not_found',
            'tunnel.deleting',
            'request.precondition_failed',
          ),
        },
      },
    },
    async (req, reply) => {
      const res = await tunnels.updateTunnel(
        actorOf(req),
        req.params.tunnel,
        req.body,
        ifMatchGeneration(req),
      );
      return withEtag(reply, res.tunnel.generation).send(
        presentTunnel(res.tunnel, res.routes, await accounts.ownerName(res.tunnel.owner_id), inCluster),
      );
    },
  );

  v1.delete<{ Params: { tunnel: string; route: string }; Querystring: { wait?: number } }>(
    '/tunnels/:tunnel/routes/:route',
    {
      schema: {
        tags: ['routes'],
        operationId: 'deleteRoute',
        summary: 'Delete a route (by name or hostname) and everything it made',
        params: routeParams,
        querystring: waitQuery,
        response: {
          204: noBody('Deleted, with everything it made'),
          202: { ...routeSchema, description: 'Accepted: still being deleted when the wait ended' },
          ...refusals('request.invalid', 'tunnel.invalid_name', 'tunnel.not_found', 'route.not_found'),
        },
      },
    },
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
        operationId: 'deleteRoutesOfService',
        summary: 'Delete every route of a service',
        params: tunnelParams,
        querystring: {
          type: 'object',
          required: ['service'],
          additionalProperties: false,
          properties: { service: { type: 'string', maxLength: 300 }, wait: waitQuery.properties.wait },
        },
        response: {
          200: {
            type: 'object',
            required: ['deleted', 'pending'],
            properties: {
              deleted: { type: 'array', items: { type: 'string' }, description: 'route names gone' },
              pending: {
                type: 'array',
                items: { type: 'string' },
                description: 'route names still being deleted when the wait ended',
              },
            },
          },
          ...refusals(
            'request.invalid',
            'tunnel.invalid_name',
            'route.invalid_service',
            'tunnel.not_found',
            'route.not_found',
          ),
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
