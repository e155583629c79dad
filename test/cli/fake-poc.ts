/**
 * The fake's proof-of-concept paths (no prefix), after src/server/routes-poc.ts: the same
 * services as API v1, always waiting up to 30 s, in the original's answer shapes.
 */
import { AppError } from '../../src/domain/errors.js';
import { json, NO_STORE, ownTunnel, readyTunnel, type Deps, type RouteDef } from './fake-http.js';
import type { FakeTunnel } from './fake-state.js';
import { HttpError, SCHEMAS } from './fake-validation.js';
import { addRoute, createTunnel, deleteRoutes, deleteTunnel } from './fake-tunnels.js';

const WAIT_MS = 30_000;
const missingService = () => json(400, { message: "Missing parameter: 'service'" });
const pocTunnel = (deps: Deps, t: FakeTunnel) => ({ name: t.name, config: deps.state.pocConfigOf(t) });
const { pocParams: params, pocServiceQuery: query } = SCHEMAS;
const codeOf = (err: unknown) => (err instanceof HttpError || err instanceof AppError ? err.code : undefined);
/** As the server: no tunnel of the caller's by that name (a name that cannot be one included). */
const isUnknownTunnel = (err: unknown) =>
  ['tunnel.not_found', 'tunnel.invalid_name'].includes(codeOf(err) ?? '');
/** As the server: no route of the tunnel has this service (a service that does not parse has none). */
const isNoRouteOfService = (err: unknown) =>
  ['route.not_found', 'route.invalid_service'].includes(codeOf(err) ?? '');

export const pocRoutes: RouteDef[] = [
  {
    method: 'POST',
    url: '/tunnels',
    async handle(ctx, deps) {
      const { tunnel } = await createTunnel(deps, ctx, {}, WAIT_MS);
      return json(200, { result: 'ok', tunnel: pocTunnel(deps, tunnel) });
    },
  },
  {
    method: 'GET',
    url: '/tunnels',
    handle: (ctx, deps) =>
      json(200, {
        result: 'ok',
        tunnels: [...deps.state.tunnels.values()]
          .filter((t) => t.owner === ctx.user.name)
          .map((t) => pocTunnel(deps, t)),
      }),
  },
  {
    method: 'GET',
    url: '/tunnels/:name/credentials',
    params,
    headers: NO_STORE,
    handle(ctx, deps) {
      const t = readyTunnel(deps, ownTunnel(deps, ctx, ctx.params.name!));
      return { status: 200, body: deps.state.credentialsOf(t), type: 'application/json' };
    },
  },
  {
    method: 'GET',
    url: '/tunnels/:name/config',
    params,
    handle(ctx, deps) {
      const t = readyTunnel(deps, ownTunnel(deps, ctx, ctx.params.name!));
      return { status: 200, body: deps.state.configOf(t), type: 'application/yaml' };
    },
  },
  {
    method: 'DELETE',
    url: '/tunnels/:name',
    params,
    async handle(ctx, deps) {
      const name = ctx.params.name!;
      try {
        const { tunnel, gone } = await deleteTunnel(deps, ctx, name, WAIT_MS);
        if (gone) return json(200, { result: 'ok', name });
        return json(200, {
          result: 'error',
          name,
          message: tunnel.lastError ?? `tunnel ${name} is still being deleted; try again shortly`,
        });
      } catch (err) {
        if (!isUnknownTunnel(err)) throw err;
        return json(200, {
          result: 'error',
          message: `tunnel ${name} configuration not found for user ${ctx.user.name}`,
        });
      }
    },
  },
  {
    method: 'POST',
    url: '/tunnels/:name/routes',
    params,
    query,
    async handle(ctx, deps) {
      if (!ctx.query.service) return missingService();
      const { tunnel } = await addRoute(deps, ctx, ctx.params.name!, { service: ctx.query.service }, WAIT_MS);
      return json(200, { result: 'ok', tunnel: pocTunnel(deps, tunnel) });
    },
  },
  {
    method: 'DELETE',
    url: '/tunnels/:name/routes',
    params,
    query,
    async handle(ctx, deps) {
      if (!ctx.query.service) return missingService();
      let tunnel;
      try {
        ({ tunnel } = await deleteRoutes(
          deps,
          ctx,
          ctx.params.name!,
          { service: ctx.query.service },
          WAIT_MS,
        ));
      } catch (err) {
        if (!isNoRouteOfService(err)) throw err;
        tunnel = ownTunnel(deps, ctx, ctx.params.name!);
      }
      return json(200, { result: 'ok', tunnel: pocTunnel(deps, tunnel) });
    },
  },
];
