/**
 * The fake's API v1 tunnels and routes, written after src/server's tunnel and route services:
 * the same checks in the same order, the same errors, the same bounded waits and answers.
 */
import { parseAccessRule, parseAllowList, parseSessionDuration } from '../../src/domain/allow-list.js';
import {
  assertRouteName,
  assertTunnelName,
  chosenHostname,
  randomLabel,
  routeNameOfLabel,
} from '../../src/domain/names.js';
import { parseOriginRequest } from '../../src/domain/origin-request.js';
import { DEFAULT_RESERVED_HOSTNAMES } from '../../src/config/config-schema.js';
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

type AccessInput = { emails?: string[]; emailDomains?: string[]; sessionDuration?: string };

/** Access as the real service keeps it (the fake has no identity provider: no groups). */
function accessOf(input: AccessInput, tcpLike: boolean): FakeRoute['access'] {
  const rule: NonNullable<FakeRoute['access']> = parseAccessRule(input, tcpLike);
  if (input.sessionDuration !== undefined) rule.sessionDuration = parseSessionDuration(input.sessionDuration);
  return rule;
}

const originOf = (input: unknown, scheme: string, t: FakeTunnel, accessProtected: boolean) =>
  parseOriginRequest(input, { scheme, configMode: t.configMode, accessProtected, teamName: null }) as Record<
    string,
    unknown
  > | null;

export interface NewRouteInput {
  service: string;
  name?: string;
  hostname?: string;
  allowIps?: string[];
  access?: AccessInput;
  originRequest?: Record<string, unknown>;
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
  const access = input.access ? accessOf(input.access, service.tcpLike) : null;
  const originRequest = originOf(
    input.originRequest,
    service.protocol,
    t,
    service.tcpLike || !!access || !!allowIps,
  );
  const hostname =
    input.hostname === undefined
      ? undefined
      : chosenHostname(input.hostname, deps.options.zone, {
          reserved: DEFAULT_RESERVED_HOSTNAMES,
          prefix: null,
        });
  let name =
    input.name !== undefined
      ? assertRouteName(input.name)
      : hostname !== undefined
        ? routeNameOfLabel(hostname)
        : randomLabel(8);
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
      originRequest,
      ...(hostname !== undefined && { hostname }),
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
    method: 'PATCH',
    url: '/api/v1/tunnels/:tunnel/routes/:route',
    params: routeParams,
    body: SCHEMAS.routePatchBody,
    handle(ctx, deps) {
      const t = ownTunnel(deps, ctx, ctx.params.tunnel!);
      const r = findRoute(t, ctx.params.route!);
      const ifMatch = ctx.ifMatch;
      if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== `"${r.generation}"`)
        throw new HttpError(
          /^"\d+"$/.test(ifMatch) ? 412 : 400,
          /^"\d+"$/.test(ifMatch) ? 'request.precondition_failed' : 'request.invalid_precondition',
          /^"\d+"$/.test(ifMatch)
            ? `Route ${r.name} changed since you read it (it is at generation ${r.generation}); read it again and retry.`
            : 'If-Match must be one ETag as this server gives it (e.g. "3"), or *.',
          /^"\d+"$/.test(ifMatch) ? { generation: r.generation } : { ifMatch },
        );
      const body = ctx.body as {
        service?: string;
        allowIps?: string[] | null;
        access?: AccessInput | null;
        originRequest?: Record<string, unknown> | null;
      };
      const current = parseService(r.service);
      const service = body.service !== undefined ? parseService(body.service) : current;
      if (service.tcpLike !== current.tcpLike)
        throw new HttpError(
          400,
          'route.protocol_change',
          `Route ${r.name} is ${current.tcpLike ? 'a TCP' : 'an HTTP'} route; its service must stay ${current.tcpLike ? 'TCP-like' : 'HTTP'}. Delete it and add a new route instead.`,
          { from: current.protocol, to: service.protocol },
        );
      const allowIps =
        body.allowIps !== undefined ? (body.allowIps ? parseAllowList(body.allowIps) : null) : r.allowIps;
      const access =
        body.access !== undefined ? (body.access ? accessOf(body.access, service.tcpLike) : null) : r.access;
      const originRequest =
        body.originRequest !== undefined
          ? originOf(body.originRequest, service.protocol, t, service.tcpLike || !!access || !!allowIps)
          : r.originRequest;
      Object.assign(r, {
        service: service.service,
        protocol: service.protocol,
        allowIps,
        access,
        originRequest,
      });
      r.generation += 1;
      t.generation += 1;
      deps.state.event({
        owner: t.owner,
        actor: ctx.user.name,
        action: 'route.update',
        target: `${t.name}/${r.name}`,
        details: { changed: Object.keys(body) },
      });
      return { ...json(200, deps.state.routeJson(t, r)), headers: { etag: `"${r.generation}"` } };
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
