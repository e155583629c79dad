/**
 * The fake's proof-of-concept paths (no prefix), after src/server/routes-poc.ts: the same
 * services as API v1, always waiting up to 30 s, in the original's answer shapes.
 */
import { json, NO_STORE, ownTunnel, readyTunnel, type Deps, type RouteDef } from './fake-http.js';
import type { FakeTunnel } from './fake-state.js';
import { SCHEMAS } from './fake-validation.js';
import { addRoute, createTunnel, deleteRoutes, deleteTunnel } from './fake-tunnels.js';

const WAIT_MS = 30_000;
const missingService = () => json(400, { message: "Missing parameter: 'service'" });
const pocTunnel = (deps: Deps, t: FakeTunnel) => ({ name: t.name, config: deps.state.pocConfigOf(t) });
const { pocParams: params, pocServiceQuery: query } = SCHEMAS;

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
      const { gone } = await deleteTunnel(deps, ctx, ctx.params.name!, WAIT_MS);
      return json(200, { result: gone ? 'ok' : 'error', name: ctx.params.name });
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
      const { tunnel } = await deleteRoutes(
        deps,
        ctx,
        ctx.params.name!,
        { service: ctx.query.service },
        WAIT_MS,
      );
      return json(200, { result: 'ok', tunnel: pocTunnel(deps, tunnel) });
    },
  },
];
