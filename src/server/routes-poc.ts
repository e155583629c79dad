/**
 * The proof of concept's API, unchanged for its users and its bash `tunnelctl`: the same paths,
 * the same success shapes, the same "Missing parameter" answer, and its answers when something
 * does not exist: deleting a tunnel the caller does not have is a 200 `{"result":"error",
 * "message"}`, deleting the routes of a service the tunnel has none of a 200 `{"result":"ok"}`.
 * These calls always wait for convergence (up to 30 s), as the original's synchronous calls did.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../domain/errors.js';
import type { RouteView, TunnelView } from '../store/index.js';
import { actorOf, codesIn, credentialsSchema, describeCodes, refusals, textFile } from './schemas.js';
import type { RouteService } from './route-service.js';
import type { TunnelService } from './tunnel-service.js';

const WAIT_MS = 30_000;
const params = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', maxLength: 64 } },
} as const;
const serviceQuery = { type: 'object', properties: { service: { type: 'string', maxLength: 300 } } } as const;

/** `{name, config: {tunnel, ingress}}`: the tunnel as the original showed it. */
const pocTunnelSchema = {
  type: 'object',
  required: ['name', 'config'],
  properties: {
    name: { type: 'string' },
    config: {
      type: 'object',
      required: ['tunnel', 'ingress'],
      properties: {
        tunnel: { type: 'string', nullable: true, description: 'the Cloudflare tunnel id' },
        ingress: {
          type: 'array',
          description: 'newest route first; the catch-all `http_status:404` last',
          items: {
            type: 'object',
            required: ['service'],
            additionalProperties: true,
            properties: { hostname: { type: 'string' }, service: { type: 'string' } },
          },
        },
      },
    },
  },
} as const;
const pocResult = {
  type: 'object',
  required: ['result', 'tunnel'],
  properties: { result: { type: 'string', enum: ['ok'] }, tunnel: pocTunnelSchema },
} as const;
/** A 400: the original's own `{message}` for a missing `service`, or the error envelope. */
const pocBadRequest = (...codes: Parameters<typeof refusals>) => {
  const envelope = refusals(...codes)[400]!;
  return {
    description: `\`{"message": "Missing parameter: 'service'"}\` without \`service\`; else ${describeCodes(codesIn(envelope.description))}`,
    anyOf: [
      {
        type: 'object',
        required: ['message'],
        additionalProperties: false,
        properties: { message: { type: 'string', enum: ["Missing parameter: 'service'"] } },
      },
      { $ref: envelope.$ref },
    ],
  };
};

export function registerPocRoutes(
  app: FastifyInstance,
  deps: { tunnels: TunnelService; routes: RouteService },
) {
  const { tunnels, routes } = deps;

  /** `{name, config: {tunnel, ingress}}` as the original answered. */
  const pocTunnel = (t: TunnelView, routes: RouteView[]) => ({
    name: t.name,
    config: { tunnel: t.cf_tunnel_id, ingress: tunnels.ingressOf(routes) },
  });

  const missingService = { message: "Missing parameter: 'service'" };

  const stillDeleting = (name: string) => `tunnel ${name} is still being deleted; try again shortly`;

  /** What the original could not find (its state was a folder per name): no such tunnel of the caller's. */
  const isUnknownTunnel = (err: unknown) =>
    err instanceof AppError && (err.code === 'tunnel.not_found' || err.code === 'tunnel.invalid_name');
  /** No route of the tunnel has this service (a service that does not parse has none either). */
  const isNoRouteOfService = (err: unknown) =>
    err instanceof AppError && (err.code === 'route.not_found' || err.code === 'route.invalid_service');

  app.register(async (poc) => {
    poc.addHook('onRoute', (opts) => {
      opts.schema = { ...(opts.schema ?? {}), tags: ['proof of concept'] };
    });

    poc.get(
      '/',
      {
        config: { public: true },
        schema: { operationId: 'pocWelcome', response: { 200: textFile('text/html', 'The text `Welcome`') } },
      },
      async (_req, reply) => reply.type('text/html; charset=utf-8').send('Welcome'),
    );

    poc.post(
      '/tunnels',
      {
        schema: {
          operationId: 'pocCreateTunnel',
          summary: 'Create a tunnel with a random name (waits up to 30 s)',
          response: { 200: pocResult, ...refusals('quota.exceeded') },
        },
      },
      async (req) => {
        const res = await tunnels.createTunnel(actorOf(req), {}, WAIT_MS);
        return { result: 'ok', tunnel: pocTunnel(res.tunnel, res.routes) };
      },
    );

    poc.get(
      '/tunnels',
      {
        schema: {
          operationId: 'pocListTunnels',
          summary: 'Your tunnels',
          response: {
            200: {
              type: 'object',
              required: ['result', 'tunnels'],
              properties: {
                result: { type: 'string', enum: ['ok'] },
                tunnels: { type: 'array', items: pocTunnelSchema },
              },
            },
          },
        },
      },
      async (req) => {
        const actor = actorOf(req);
        const out: ReturnType<typeof pocTunnel>[] = [];
        for await (const t of tunnels.listAll(actor)) out.push(pocTunnel(t.tunnel, t.routes));
        return { result: 'ok', tunnels: out };
      },
    );

    poc.get<{ Params: { name: string } }>(
      '/tunnels/:name/credentials',
      {
        schema: {
          operationId: 'pocGetCredentials',
          params,
          response: {
            200: {
              description: 'The raw `credentials.json`',
              content: { 'application/json': { schema: credentialsSchema } },
            },
            ...refusals('request.invalid', 'tunnel.invalid_name', 'tunnel.not_found', 'tunnel.not_ready'),
          },
        },
      },
      async (req, reply) =>
        reply
          .type('application/json')
          .header('cache-control', 'no-store')
          .send(JSON.stringify(await tunnels.credentials(actorOf(req), req.params.name))),
    );

    poc.get<{ Params: { name: string } }>(
      '/tunnels/:name/config',
      {
        schema: {
          operationId: 'pocGetConfig',
          params,
          response: {
            200: textFile('application/yaml', 'The raw `config.yaml`'),
            ...refusals('request.invalid', 'tunnel.invalid_name', 'tunnel.not_found', 'tunnel.not_ready'),
          },
        },
      },
      async (req, reply) =>
        reply.type('application/yaml').send(await tunnels.configYaml(actorOf(req), req.params.name)),
    );

    poc.delete<{ Params: { name: string } }>(
      '/tunnels/:name',
      {
        schema: {
          operationId: 'pocDeleteTunnel',
          summary: 'Remove its routes, then the tunnel (waits up to 30 s); 200 whatever the outcome',
          params,
          response: {
            200: {
              type: 'object',
              description:
                "`ok` with `name` once gone; `error` with `name` and `message` (Cloudflare's error) when not gone within the wait; `error` with `message` when you have no such tunnel",
              required: ['result'],
              properties: {
                result: { type: 'string', enum: ['ok', 'error'] },
                name: { type: 'string' },
                message: { type: 'string' },
              },
            },
            ...refusals('request.invalid'),
          },
        },
      },
      async (req) => {
        const { name } = req.params;
        try {
          const res = await tunnels.deleteTunnel(actorOf(req), name, WAIT_MS);
          if (res.gone) return { result: 'ok', name };
          // Not gone within the wait: the original gave Cloudflare's error; the reconciler goes on.
          return { result: 'error', name, message: res.current?.tunnel.last_error ?? stillDeleting(name) };
        } catch (err) {
          if (!isUnknownTunnel(err)) throw err;
          // The original's words, with its 200: scripts test `result`, not the status.
          return {
            result: 'error',
            message: `tunnel ${name} configuration not found for user ${req.auth!.user.name}`,
          };
        }
      },
    );

    poc.post<{ Params: { name: string }; Querystring: { service?: string } }>(
      '/tunnels/:name/routes',
      {
        schema: {
          operationId: 'pocAddRoute',
          summary: 'Add a route for service S (waits up to 30 s)',
          params,
          querystring: serviceQuery,
          response: {
            200: pocResult,
            400: pocBadRequest('request.invalid', 'tunnel.invalid_name', 'route.invalid_service'),
            ...refusals('quota.exceeded', 'tunnel.not_found', 'tunnel.deleting', 'capacity.exhausted'),
          },
        },
      },
      async (req, reply) => {
        if (!req.query.service) return reply.status(400).send(missingService);
        const res = await routes.add(actorOf(req), req.params.name, { service: req.query.service }, WAIT_MS);
        const current = await tunnels.withRoutes(res.tunnel);
        return { result: 'ok', tunnel: pocTunnel(current.tunnel, current.routes) };
      },
    );

    poc.delete<{ Params: { name: string }; Querystring: { service?: string } }>(
      '/tunnels/:name/routes',
      {
        schema: {
          operationId: 'pocDeleteRoutes',
          summary: 'Remove every route of service S (waits up to 30 s); none is no failure',
          params,
          querystring: serviceQuery,
          response: {
            200: pocResult,
            400: pocBadRequest('request.invalid', 'tunnel.invalid_name'),
            ...refusals('tunnel.not_found'),
          },
        },
      },
      async (req, reply) => {
        if (!req.query.service) return reply.status(400).send(missingService);
        const actor = actorOf(req);
        let tunnel;
        try {
          ({ tunnel } = await routes.delete(actor, req.params.name, { service: req.query.service }, WAIT_MS));
        } catch (err) {
          // Nothing to remove is not a failure there: the tunnel as it is, and "ok".
          if (!isNoRouteOfService(err)) throw err;
          tunnel = await tunnels.ownTunnel(actor, req.params.name);
        }
        const current = await tunnels.withRoutes(tunnel);
        return { result: 'ok', tunnel: pocTunnel(current.tunnel, current.routes) };
      },
    );
  });
}
