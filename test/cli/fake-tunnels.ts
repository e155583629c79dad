/**
 * The fake's API v1 tunnels and routes, written after src/server's tunnel and route services:
 * the same checks in the same order, the same errors, the same bounded waits and answers.
 */
import { parseAccessRule, parseAllowList } from '../../src/domain/allow-list.js';
import { assertRouteName, assertTunnelName, randomLabel } from '../../src/domain/names.js';
import { parseService } from '../../src/domain/service-url.js';
import {
  json,
  NO_STORE,
  ownersOf,
  ownTunnel,
  page,
  readyTunnel,
  waitFor,
  waitMsOf,
  type Ctx,
  type Deps,
  type RouteDef,
} from './fake-http.js';
import { TEAM_PREFIX, type FakeRoute, type FakeTunnel } from './fake-state.js';
import { HttpError, SCHEMAS } from './fake-validation.js';

const QUOTA_WORDS = {
  tunnels: 'tunnels',
  routes: 'routes',
  protectedRoutes: 'protected routes (Access, allow-lists, TCP)',
  tcpRoutes: 'TCP routes',
} as const;

export function checkQuota(resource: keyof typeof QUOTA_WORDS, used: number, limit: number): void {
  if (used >= limit) {
    throw new HttpError(
      403,
      'quota.exceeded',
      `You have reached your quota of ${limit} ${QUOTA_WORDS[resource]}.`,
      {
        resource,
        limit,
        used,
      },
    );
  }
}

/** Creates a tunnel as the real service does; `finished` when it converged within the wait. */
export async function createTunnel(
  deps: Deps,
  ctx: Pick<Ctx, 'user'>,
  input: { name?: string; configMode?: 'local' | 'remote'; team?: string; ttlSeconds?: number },
  waitMs: number,
) {
  const { state } = deps;
  // In a team: the team owns it and its quotas count it; only members may.
  let owner = ctx.user.name;
  if (input.team !== undefined) {
    if (!state.teams.get(input.team)?.members.has(ctx.user.name))
      throw new HttpError(
        404,
        'team.not_found',
        `You are not in a team named ${JSON.stringify(input.team.slice(0, 64))}.`,
      );
    owner = TEAM_PREFIX + input.team;
  }
  let name = input.name !== undefined ? assertTunnelName(input.name) : randomLabel(8);
  while (input.name === undefined && state.tunnels.has(name)) name = randomLabel(8);
  checkQuota('tunnels', state.usageOf(owner).tunnels, state.quotasOf(owner).tunnels);
  if (state.tunnels.has(name))
    throw new HttpError(409, 'tunnel.name_taken', `A tunnel named ${name} already exists.`);
  const mode = input.configMode ?? deps.options.defaultConfigMode;
  const t = state.newTunnel(
    owner,
    name,
    mode,
    Date.now() + deps.behaviour().settleMs,
    expiresIn(input.ttlSeconds),
  );
  t.failure = deps.takeFailure();
  state.event({
    owner: t.owner,
    actor: ctx.user.name,
    action: 'tunnel.create',
    target: name,
    details: { configMode: mode },
  });
  const gen = t.generation;
  const finished = await waitFor(
    deps,
    waitMs,
    () => t.observedGeneration >= gen && ['ready', 'error'].includes(state.phaseOf(t)),
  );
  return { tunnel: t, finished };
}

export async function deleteTunnel(deps: Deps, ctx: Pick<Ctx, 'user'>, name: string, waitMs: number) {
  const t = ownTunnel(deps, ctx, name);
  if (t.deleteAt === null) {
    t.deleteAt = Date.now() + deps.behaviour().settleMs;
    t.lastError = null;
    t.generation += 1;
    deps.state.event({
      owner: t.owner,
      actor: ctx.user.name,
      action: 'tunnel.delete',
      target: t.name,
      details: {},
    });
  }
  await waitFor(deps, waitMs, () => !deps.state.tunnels.has(t.name));
  return { tunnel: t, gone: !deps.state.tunnels.has(t.name) };
}

/** The route named (or with the hostname) `ref`; `route.not_found` otherwise. */
function findRoute(t: FakeTunnel, ref: string): FakeRoute {
  const r = t.routes.find((x) => x.name === ref) ?? t.routes.find((x) => x.hostname === ref);
  if (!r)
    throw new HttpError(
      404,
      'route.not_found',
      `Tunnel ${t.name} has no route named ${JSON.stringify(ref.slice(0, 64))}.`,
      {
        route: ref.slice(0, 64),
      },
    );
  return r;
}

export interface NewRouteInput {
  service: string;
  name?: string;
  allowIps?: string[];
  access?: { emails?: string[]; emailDomains?: string[] };
  /** Deleted by itself this long after creation (the schema holds it to 60..2592000). */
  ttlSeconds?: number;
}

/** When something made now with `ttlSeconds` expires, as the real services compute it. */
const expiresIn = (ttlSeconds: number | undefined) =>
  ttlSeconds ? new Date(Date.now() + ttlSeconds * 1000).toISOString() : null;

export async function addRoute(
  deps: Deps,
  ctx: Pick<Ctx, 'user'>,
  tunnel: string,
  input: NewRouteInput,
  waitMs: number,
) {
  const { state } = deps;
  const t = ownTunnel(deps, ctx, tunnel);
  if (t.deleteAt !== null) throw new HttpError(409, 'tunnel.deleting', `Tunnel ${t.name} is being deleted.`);
  const service = parseService(input.service);
  const allowIps = input.allowIps ? parseAllowList(input.allowIps) : null;
  const access = input.access ? parseAccessRule(input.access, service.tcpLike) : null;
  let name = input.name !== undefined ? assertRouteName(input.name) : randomLabel(8);
  while (input.name === undefined && t.routes.some((r) => r.name === name)) name = randomLabel(8);
  const quotas = state.quotasOf(t.owner);
  const usage = state.usageOf(t.owner);
  checkQuota('routes', usage.routes, quotas.routes);
  if (service.tcpLike || access || allowIps) {
    checkQuota('protectedRoutes', usage.protectedRoutes, quotas.protectedRoutes);
    if (service.tcpLike) checkQuota('tcpRoutes', usage.tcpRoutes, quotas.tcpRoutes);
  }
  if (t.routes.some((r) => r.name === name))
    throw new HttpError(409, 'route.name_taken', `Tunnel ${t.name} already has a route named ${name}.`);
  const r = state.newRoute(
    t,
    {
      name,
      service: service.service,
      protocol: service.protocol,
      allowIps,
      access,
      expiresAt: expiresIn(input.ttlSeconds),
    },
    Date.now() + deps.behaviour().settleMs,
  );
  state.event({
    owner: t.owner,
    actor: ctx.user.name,
    action: 'route.create',
    target: `${t.name}/${name}`,
    details: { hostname: r.hostname, service: r.service },
  });
  const finished = await waitFor(
    deps,
    waitMs,
    () => !t.routes.includes(r) || r.ready || state.phaseOf(t) === 'error',
  );
  return { tunnel: t, route: r, finished: finished && r.ready };
}

/** Deletes routes of a tunnel by name or hostname, or every route of a service. */
export async function deleteRoutes(
  deps: Deps,
  ctx: Pick<Ctx, 'user'>,
  tunnel: string,
  select: { name?: string; service?: string },
  waitMs: number,
) {
  const t = ownTunnel(deps, ctx, tunnel);
  let chosen: FakeRoute[];
  if (select.name !== undefined) chosen = [findRoute(t, select.name)];
  else {
    const wanted = parseService(select.service ?? '').service;
    chosen = t.routes.filter((r) => r.service === wanted);
    if (chosen.length === 0)
      throw new HttpError(404, 'route.not_found', `Tunnel ${t.name} has no route to ${wanted}.`, {
        service: wanted,
      });
  }
  const fresh = chosen.filter((r) => r.deleteAt === null);
  if (fresh.length > 0) {
    for (const r of fresh) r.deleteAt = Date.now() + deps.behaviour().settleMs;
    t.generation += 1;
    t.settleAt = Date.now() + deps.behaviour().settleMs;
    for (const r of fresh)
      deps.state.event({
        owner: t.owner,
        actor: ctx.user.name,
        action: 'route.delete',
        target: `${t.name}/${r.name}`,
        details: { hostname: r.hostname, service: r.service },
      });
  }
  await waitFor(deps, waitMs, () => chosen.every((r) => !t.routes.includes(r)));
  const pending = chosen.filter((r) => t.routes.includes(r) && deps.state.tunnels.has(t.name));
  return { tunnel: t, deleted: chosen.filter((r) => !pending.includes(r)).map((r) => r.name), pending };
}

const { tunnelParams, routeParams, waitQuery } = SCHEMAS;

export const tunnelRoutes: RouteDef[] = [
  {
    method: 'POST',
    url: '/api/v1/tunnels',
    query: waitQuery,
    body: SCHEMAS.tunnelBody,
    async handle(ctx, deps) {
      const { tunnel, finished } = await createTunnel(deps, ctx, ctx.body, waitMsOf(ctx.query));
      return json(finished ? 201 : 202, deps.state.tunnelJson(tunnel));
    },
  },
  {
    method: 'GET',
    url: '/api/v1/tunnels',
    query: SCHEMAS.tunnelsQuery,
    handle(ctx, deps) {
      const { state } = deps;
      const team = ctx.query.team as string | undefined;
      if (team !== undefined && !state.teams.get(team)?.members.has(ctx.user.name))
        throw new HttpError(404, 'team.not_found', `You are not in a team named ${JSON.stringify(team)}.`);
      const owners = team !== undefined ? [TEAM_PREFIX + team] : ownersOf(deps, ctx.user);
      const own = [...state.tunnels.values()].filter((t) => owners.includes(t.owner));
      const p = page(own, ctx.query.limit, ctx.query.cursor);
      return json(200, { items: p.items.map(state.tunnelJson), nextCursor: p.nextCursor });
    },
  },
  {
    method: 'GET',
    url: '/api/v1/tunnels/:tunnel',
    params: tunnelParams,
    handle: (ctx, deps) => json(200, deps.state.tunnelJson(ownTunnel(deps, ctx, ctx.params.tunnel!))),
  },
  {
    method: 'DELETE',
    url: '/api/v1/tunnels/:tunnel',
    params: tunnelParams,
    query: waitQuery,
    async handle(ctx, deps) {
      const { tunnel, gone } = await deleteTunnel(deps, ctx, ctx.params.tunnel!, waitMsOf(ctx.query));
      return gone ? { status: 204 } : json(202, deps.state.tunnelJson(tunnel));
    },
  },
  {
    method: 'GET',
    url: '/api/v1/tunnels/:tunnel/credentials',
    params: tunnelParams,
    handle(ctx, deps) {
      const t = readyTunnel(deps, ownTunnel(deps, ctx, ctx.params.tunnel!));
      return { status: 200, body: deps.state.credentialsOf(t), type: 'application/json', headers: NO_STORE };
    },
  },
  {
    method: 'GET',
    url: '/api/v1/tunnels/:tunnel/config',
    params: tunnelParams,
    handle(ctx, deps) {
      const t = readyTunnel(deps, ownTunnel(deps, ctx, ctx.params.tunnel!));
      return { status: 200, body: deps.state.configOf(t), type: 'application/yaml' };
    },
  },
  {
    method: 'GET',
    url: '/api/v1/tunnels/:tunnel/token',
    params: tunnelParams,
    headers: NO_STORE,
    handle(ctx, deps) {
      const t = readyTunnel(deps, ownTunnel(deps, ctx, ctx.params.tunnel!));
      return json(200, { token: deps.state.runTokenOf(t) });
    },
  },
  {
    method: 'POST',
    url: '/api/v1/tunnels/:tunnel/routes',
    params: tunnelParams,
    query: waitQuery,
    body: SCHEMAS.routeBody,
    async handle(ctx, deps) {
      const res = await addRoute(deps, ctx, ctx.params.tunnel!, ctx.body, waitMsOf(ctx.query));
      return json(res.finished ? 201 : 202, deps.state.routeJson(res.tunnel, res.route));
    },
  },
  {
    method: 'GET',
    url: '/api/v1/tunnels/:tunnel/routes',
    params: tunnelParams,
    handle(ctx, deps) {
      const t = ownTunnel(deps, ctx, ctx.params.tunnel!);
      return json(200, { items: t.routes.map((r) => deps.state.routeJson(t, r)) });
    },
  },
  {
    method: 'GET',
    url: '/api/v1/tunnels/:tunnel/routes/:route',
    params: routeParams,
    handle(ctx, deps) {
      const t = ownTunnel(deps, ctx, ctx.params.tunnel!);
      return json(200, deps.state.routeJson(t, findRoute(t, ctx.params.route!)));
    },
  },
  {
    method: 'DELETE',
    url: '/api/v1/tunnels/:tunnel/routes/:route',
    params: routeParams,
    query: waitQuery,
    async handle(ctx, deps) {
      const select = { name: ctx.params.route! };
      const res = await deleteRoutes(deps, ctx, ctx.params.tunnel!, select, waitMsOf(ctx.query));
      if (res.pending.length === 0) return { status: 204 };
      return json(202, deps.state.routeJson(res.tunnel, res.pending[0]!));
    },
  },
  {
    method: 'DELETE',
    url: '/api/v1/tunnels/:tunnel/routes',
    params: tunnelParams,
    query: SCHEMAS.serviceQuery,
    async handle(ctx, deps) {
      const { service } = ctx.query as { service: string };
      const res = await deleteRoutes(deps, ctx, ctx.params.tunnel!, { service }, waitMsOf(ctx.query));
      return json(200, { deleted: res.deleted, pending: res.pending.map((r) => r.name) });
    },
  },
];
