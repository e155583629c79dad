/** API v1 (`/api/v1`): tunnels, routes, tokens, me, events, admin. Thin: schema, auth, one call. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { notFound } from '../domain/errors.js';
import { createAccountService } from './account-service.js';
import type { Page, Store, TunnelView, UserRow } from '../store/index.js';
import { presentRoute, presentTunnel, routeSchema, tunnelSchema } from './presenters.js';
import { quotasOf, type Actor, type TunnelService, type TunnelServiceConfig } from './tunnel-service.js';

const errorSchema = {
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

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 409: errorSchema };
const tunnelParams = {
  type: 'object',
  required: ['tunnel'],
  properties: { tunnel: { type: 'string', maxLength: 64 } },
} as const;
const waitQuery = {
  type: 'object',
  properties: { wait: { type: 'number', minimum: 0, maximum: 120, default: 30 } },
  additionalProperties: false,
} as const;
const pageQuery = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
    cursor: { type: 'string', maxLength: 200 },
  },
  additionalProperties: false,
} as const;

function presentUser(
  u: UserRow,
  defaults: TunnelServiceConfig['defaultQuotas'],
  usage: { tunnels: number; routes: number },
) {
  return { name: u.name, role: u.role, quotas: quotasOf(u, defaults), usage, createdAt: u.created_at };
}

const actorOf = (req: FastifyRequest): Actor => ({ user: req.auth!.user });
const waitMs = (q: { wait?: number }) => Math.round((q.wait ?? 30) * 1000);

export function registerV1Routes(
  app: FastifyInstance,
  deps: { tunnels: TunnelService; store: Store; config: TunnelServiceConfig },
) {
  const { tunnels, store, config } = deps;
  const accounts = createAccountService({ store });
  // User names never change, so an owner's name can be remembered (bounded: admins list everyone's).
  const ownerNames = new LRUCache<string, string>({ max: 10_000 });
  const ownerName = async (id: string) => {
    let n = ownerNames.get(id);
    if (!n) {
      n = (await store.users.byId(id))?.name ?? 'unknown';
      ownerNames.set(id, n);
    }
    return n;
  };

  async function ownerNamesOf(req: FastifyRequest, rows: TunnelView[]) {
    const me = req.auth!.user;
    const names = new Map([[me.id, me.name]]);
    for (const t of rows) if (!names.has(t.owner_id)) names.set(t.owner_id, await ownerName(t.owner_id));
    return names;
  }

  /** A page of tunnels as JSON text, from the rendered-view cache (the schema's document, pre-serialised). */
  async function sendPage(reply: FastifyReply, req: FastifyRequest, pageKey: string, page: Page<TunnelView>) {
    const json = await tunnels.views.pageJson(
      pageKey,
      page.items,
      await ownerNamesOf(req, page.items),
      page.nextCursor,
    );
    return reply.type('application/json; charset=utf-8').send(json);
  }

  app.register(
    async (v1) => {
      v1.get(
        '/me',
        { schema: { tags: ['me'], summary: 'Who you are, your quotas and usage' } },
        async (req) => {
          const user = req.auth!.user;
          return {
            ...presentUser(user, config.defaultQuotas, await store.users.usage(user.id)),
            authenticatedWith: req.auth!.via,
          };
        },
      );

      // API tokens
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

      // Tunnels
      v1.post<{
        Body: { name?: string; configMode?: 'local' | 'remote' } | undefined;
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
              },
            },
            response: { 201: tunnelSchema, 202: tunnelSchema, ...errors },
          },
        },
        async (req, reply) => {
          const res = await tunnels.createTunnel(actorOf(req), req.body ?? {}, waitMs(req.query));
          return reply
            .status(res.finished ? 201 : 202)
            .send(presentTunnel(res.tunnel, res.routes, req.auth!.user.name, config.inCluster));
        },
      );
      v1.get<{ Querystring: { limit?: number; cursor?: string } }>(
        '/tunnels',
        {
          schema: {
            tags: ['tunnels'],
            summary: 'Your tunnels with their routes',
            querystring: pageQuery,
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
          const { limit = 50, cursor } = req.query;
          const me = req.auth!.user;
          const json = await tunnels.views.ownPageJson(me, limit, cursor, () =>
            store.tunnels.listForOwner(me.id, limit, cursor),
          );
          return reply.type('application/json; charset=utf-8').send(json);
        },
      );
      v1.get<{ Params: { tunnel: string } }>(
        '/tunnels/:tunnel',
        { schema: { tags: ['tunnels'], params: tunnelParams, response: { 200: tunnelSchema, ...errors } } },
        async (req, reply) => {
          const t = await tunnels.ownTunnel(actorOf(req), req.params.tunnel);
          const names = await ownerNamesOf(req, [t]);
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
            .send(presentTunnel(c.tunnel, c.routes, await ownerName(c.tunnel.owner_id), config.inCluster));
        },
      );
      v1.get<{ Params: { tunnel: string } }>(
        '/tunnels/:tunnel/credentials',
        { schema: { tags: ['tunnels'], summary: 'The cloudflared credentials file', params: tunnelParams } },
        async (req, reply) => {
          const creds = await tunnels.credentials(actorOf(req), req.params.tunnel);
          return reply
            .header('cache-control', 'no-store')
            .type('application/json')
            .send(JSON.stringify(creds));
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

      // Routes
      v1.post<{
        Params: { tunnel: string };
        Body: {
          service: string;
          name?: string;
          allowIps?: string[];
          access?: { emails?: string[]; emailDomains?: string[] };
        };
        Querystring: { wait?: number };
      }>(
        '/tunnels/:tunnel/routes',
        {
          schema: {
            tags: ['routes'],
            summary: 'Add a route: a random hostname in the zone pointing at a service behind the tunnel',
            params: tunnelParams,
            querystring: waitQuery,
            body: {
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
              },
            },
            response: { 201: routeSchema, 202: routeSchema, ...errors },
          },
        },
        async (req, reply) => {
          const res = await tunnels.addRoute(actorOf(req), req.params.tunnel, req.body, waitMs(req.query));
          return reply
            .status(res.finished && res.route.phase === 'ready' ? 201 : 202)
            .send(presentRoute(res.route, res.tunnel.name, config.inCluster));
        },
      );
      v1.get<{ Params: { tunnel: string } }>(
        '/tunnels/:tunnel/routes',
        { schema: { tags: ['routes'], params: tunnelParams } },
        async (req) => {
          const t = await tunnels.ownTunnel(actorOf(req), req.params.tunnel);
          return {
            items: (await tunnels.withRoutes(t)).routes.map((r) => presentRoute(r, t.name, config.inCluster)),
          };
        },
      );
      v1.get<{ Params: { tunnel: string; route: string } }>(
        '/tunnels/:tunnel/routes/:route',
        {
          schema: {
            tags: ['routes'],
            params: {
              type: 'object',
              properties: {
                tunnel: { type: 'string', maxLength: 64 },
                route: { type: 'string', maxLength: 300 },
              },
            },
          },
        },
        async (req) => {
          const t = await tunnels.ownTunnel(actorOf(req), req.params.tunnel);
          const r = (await tunnels.withRoutes(t)).routes.find(
            (x) => x.name === req.params.route || x.hostname === req.params.route,
          );
          if (!r)
            throw notFound(
              'route.not_found',
              `Tunnel ${t.name} has no route ${JSON.stringify(req.params.route.slice(0, 64))}.`,
            );
          return presentRoute(r, t.name, config.inCluster);
        },
      );
      v1.delete<{ Params: { tunnel: string; route: string }; Querystring: { wait?: number } }>(
        '/tunnels/:tunnel/routes/:route',
        {
          schema: {
            tags: ['routes'],
            params: {
              type: 'object',
              properties: {
                tunnel: { type: 'string', maxLength: 64 },
                route: { type: 'string', maxLength: 300 },
              },
            },
            querystring: waitQuery,
          },
        },
        async (req, reply) => {
          const res = await tunnels.deleteRoutes(
            actorOf(req),
            req.params.tunnel,
            { name: req.params.route },
            waitMs(req.query),
          );
          if (res.pending.length === 0) return reply.status(204).send();
          return reply.status(202).send(presentRoute(res.pending[0]!, res.tunnel.name, config.inCluster));
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
          const res = await tunnels.deleteRoutes(
            actorOf(req),
            req.params.tunnel,
            { service: req.query.service },
            waitMs(req.query),
          );
          return { deleted: res.deleted, pending: res.pending.map((r) => r.name) };
        },
      );

      // Events
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
          const user = req.auth!.user;
          const page = await store.events.list(
            user.role === 'admin' ? null : user.id,
            req.query.limit ?? 50,
            req.query.cursor,
          );
          return {
            items: page.items.map((e) => ({
              id: Number(e.id),
              at: e.at,
              actor: e.actor,
              action: e.action,
              target: e.target,
              outcome: e.outcome,
              details: JSON.parse(e.details) as unknown,
            })),
            nextCursor: page.nextCursor,
          };
        },
      );

      // Admin
      v1.get('/admin/users', { config: { admin: true }, schema: { tags: ['admin'] } }, async () => ({
        items: await Promise.all(
          (await store.users.list()).map(async (u) =>
            presentUser(u, config.defaultQuotas, await store.users.usage(u.id)),
          ),
        ),
      }));
      v1.get<{ Querystring: { limit?: number; cursor?: string; owner?: string } }>(
        '/admin/tunnels',
        {
          config: { admin: true },
          schema: {
            tags: ['admin'],
            querystring: {
              ...pageQuery,
              properties: { ...pageQuery.properties, owner: { type: 'string', maxLength: 100 } },
            },
          },
        },
        async (req, reply) => {
          let ownerId: string | null = null;
          if (req.query.owner) {
            const u = await store.users.byName(req.query.owner);
            if (!u) throw notFound('user.not_found', `No user named ${req.query.owner}.`);
            ownerId = u.id;
          }
          const { limit = 50, cursor } = req.query;
          return sendPage(
            reply,
            req,
            `admin:${ownerId ?? '*'}:${limit}:${cursor ?? ''}`,
            await store.tunnels.listForOwner(ownerId, limit, cursor),
          );
        },
      );
      v1.post<{ Params: { tunnel: string; route: string } }>(
        '/admin/tunnels/:tunnel/routes/:route/rotate-token',
        {
          config: { admin: true },
          schema: {
            tags: ['admin'],
            summary: "Rotate a TCP route's Access service token; the access pods roll onto the new one",
            params: {
              type: 'object',
              properties: {
                tunnel: { type: 'string', maxLength: 64 },
                route: { type: 'string', maxLength: 300 },
              },
            },
          },
        },
        async (req, reply) => {
          const r = await tunnels.rotateToken(actorOf(req), req.params.tunnel, req.params.route);
          return reply.status(202).send({ route: r.name, rotation: 'requested' });
        },
      );
      v1.put<{ Params: { user: string }; Body: { tunnels?: number | null; routes?: number | null } }>(
        '/admin/users/:user/quotas',
        {
          config: { admin: true },
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
        async (req) => {
          const updated = await accounts.setQuotas(actorOf(req), req.params.user, req.body);
          return presentUser(updated, config.defaultQuotas, await store.users.usage(updated.id));
        },
      );
    },
    { prefix: '/api/v1' },
  );
}

function presentToken(t: {
  id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
}) {
  return {
    id: t.id,
    name: t.name,
    createdAt: t.created_at,
    lastUsedAt: t.last_used_at,
    expiresAt: t.expires_at,
  };
}
