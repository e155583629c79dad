/**
 * Route verbs: the proof of concept's `create TUNNEL SERVICE` and `delete TUNNEL SERVICE`, and
 * `route add|list|delete`. After a change, a reminder on stderr says whether cloudflared must be
 * restarted (locally-configured tunnel) or not (remotely managed).
 */
import type {
  CreateRouteInput,
  OriginRequestOptions,
  Route,
  RouteAccess,
  RouteDeletion,
  TunnelplaneClient,
  UpdateRouteInput,
} from '../client/index.js';
import type { Ctx } from './context.js';
import { converge, orGone, serverWait, type ConvergeSpec } from './converge.js';
import { ttlFlag } from './duration.js';
import { CliError, UsageError } from './errors.js';
import { pollUntil, withSpinner } from './progress.js';
import { routesTable } from './output.js';

/**
 * What `create TUNNEL SERVICE`, `route add` and `share` send for a new route: the service, and
 * `--name`, `--zone`, `--allow-ips`, `--access-emails`, `--access-domains` and `--ttl` when given.
 */
export function routeInput(ctx: Ctx, service: string, command: string[]): CreateRouteInput {
  const name = ctx.flag('name');
  const zone = ctx.flag('zone');
  const hostname = ctx.flag('hostname');
  const allowIps = listFlag(ctx, 'allow-ips');
  const access = accessFlags(ctx);
  const originRequest = originFlag(ctx.flag('origin'));
  const ttlSeconds = ttlFlag(ctx.flag('ttl'), command);
  return {
    service,
    ...(name !== undefined && { name }),
    ...(hostname !== undefined && { hostname }),
    ...(zone !== undefined && { zone }),
    ...(allowIps && { allowIps }),
    ...(access && { access }),
    ...(originRequest && { originRequest }),
    ...(ttlSeconds !== undefined && { ttlSeconds }),
  };
}

/** A comma-separated flag as a list; undefined when not given. */
function listFlag(ctx: Ctx, flag: string): string[] | undefined {
  const v = ctx.flag(flag);
  return v === undefined
    ? undefined
    : v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
}

/** `--access-emails`, `--access-domains`, `--access-groups` and `--session` as one `access`. */
function accessFlags(ctx: Ctx): RouteAccess | undefined {
  const emails = listFlag(ctx, 'access-emails');
  const emailDomains = listFlag(ctx, 'access-domains');
  const groups = listFlag(ctx, 'access-groups');
  const sessionDuration = ctx.flag('session');
  if (!emails && !emailDomains && !groups) {
    if (sessionDuration !== undefined)
      throw new UsageError(
        '--session sets how long Access sessions last: give it with --access-emails, --access-domains or --access-groups.',
      );
    return undefined;
  }
  return {
    ...(emails && { emails }),
    ...(emailDomains && { emailDomains }),
    ...(groups && { groups }),
    ...(sessionDuration !== undefined && { sessionDuration }),
  };
}

/**
 * `--origin key=value,…` as cloudflared's originRequest: `true`/`false` are booleans, whole
 * numbers are numbers (seconds for durations), anything else a string (`10s` too). The server
 * validates the keys and values as cloudflared would.
 */
export function originFlag(v: string | undefined): OriginRequestOptions | null | undefined {
  if (v === undefined) return undefined;
  if (v.trim() === 'none') return null;
  const out: OriginRequestOptions = {};
  for (const part of v
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0)
      throw new UsageError(
        `--origin takes KEY=VALUE pairs, comma-separated (e.g. noTLSVerify=true); got ${JSON.stringify(part)}.`,
      );
    const key = part.slice(0, eq);
    const raw = part.slice(eq + 1);
    if (key === 'access' || key === 'access.required') out.access = { required: raw === 'true' };
    else out[key] = raw === 'true' ? true : raw === 'false' ? false : /^\d+$/.test(raw) ? Number(raw) : raw;
  }
  return out;
}

export async function addRoute(
  ctx: Ctx,
  tunnel: string,
  service: string,
  command: string[] = ['route', 'add'],
): Promise<number> {
  const input = routeInput(ctx, service, command);
  const { client } = await ctx.session();
  ctx.subject.tunnel = tunnel;
  let created: Route | null = null;
  const spec: ConvergeSpec<Route> = {
    label: `Adding a route to ${service} on tunnel ${tunnel}`,
    what: `the route to ${service}`,
    check: `tunnelctl route list ${tunnel}`,
    goal: 'ready',
    start: async (wait) => {
      const res = await client.routes.create(tunnel, input, { wait });
      created = res.value;
      spec.what = `route ${res.value.name} (${res.value.hostname})`;
      return res;
    },
    poll: () => orGone(() => client.routes.get(tunnel, (created as Route).name)),
  };
  const route = (await converge(ctx, spec)) ?? (created as Route | null);
  if (route) {
    if (ctx.format === 'table') ctx.out(routesTable([route]));
    else ctx.data(route);
  }
  await remindRestart(ctx, client, tunnel, 'added');
  return 0;
}

/**
 * `route update TUNNEL ROUTE`: changes the service, the protection or the origin options in
 * place (the hostname and its DNS record stay). Only the given flags change; `--allow-ips none`,
 * `--no-access` and `--origin none` clear. The change applies to the route as it was read.
 */
export async function updateRoute(ctx: Ctx, tunnel: string, ref: string): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.tunnel = tunnel;
  ctx.subject.route = ref;
  const input: UpdateRouteInput = {};
  const service = ctx.flag('service');
  if (service !== undefined) input.service = service;
  const allow = ctx.flag('allow-ips');
  if (allow !== undefined)
    input.allowIps = allow.trim() === 'none' ? null : (listFlag(ctx, 'allow-ips') ?? []);
  const access = accessFlags(ctx);
  if (ctx.flag('no-access') !== undefined) {
    if (access) throw new UsageError('--no-access removes Access: give it without --access-… flags.');
    input.access = null;
  } else if (access) input.access = access;
  const origin = originFlag(ctx.flag('origin'));
  if (origin !== undefined) input.originRequest = origin;
  if (Object.keys(input).length === 0)
    throw new UsageError(
      'Nothing to change: give --service, --allow-ips, --access-emails/--access-domains/--access-groups (or --no-access), --session, or --origin.',
    );
  const current = await client.routes.get(tunnel, ref);
  let route = await client.routes.update(tunnel, current.name, input, {
    ...(current.generation !== undefined && { ifMatch: current.generation }),
  });
  if (ctx.wait) {
    route =
      (await converge<Route>(ctx, {
        label: `Updating route ${route.name} (${route.hostname})`,
        what: `route ${route.name}`,
        check: `tunnelctl route list ${tunnel}`,
        goal: 'ready',
        start: async () => ({ value: route, converged: route.phase === 'ready', status: 200 }),
        poll: () => orGone(() => client.routes.get(tunnel, route.name)),
      })) ?? route;
  }
  if (ctx.format === 'table') ctx.out(routesTable([route]));
  else ctx.data(route);
  await remindRestart(ctx, client, tunnel, 'changed');
  return 0;
}

export async function listRoutes(ctx: Ctx, tunnel: string): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.tunnel = tunnel;
  const routes = await client.routes.list(tunnel);
  if (ctx.format === 'name') ctx.out(routes.map((r) => `${r.name}\n`).join(''));
  else if (ctx.format !== 'table') ctx.data(routes);
  else if (routes.length === 0)
    ctx.note(`Tunnel ${tunnel} has no routes; add one with: tunnelctl route add ${tunnel} SERVICE`);
  else ctx.out(routesTable(routes));
  return 0;
}

/**
 * `route delete TUNNEL REF`: REF is a route name, a hostname, or a service (every route of that
 * service goes), tried in that order.
 */
export async function deleteRoute(ctx: Ctx, tunnel: string, ref: string): Promise<number> {
  const { client } = await ctx.session();
  ctx.subject.tunnel = tunnel;
  ctx.subject.route = ref;
  const routes = await client.routes.list(tunnel);
  const host = ref.toLowerCase().replace(/\.$/, '');
  const match = routes.find((r) => r.name === ref) ?? routes.find((r) => r.hostname === host);
  if (match) {
    const left = await converge<Route>(ctx, {
      label: `Deleting route ${match.name} (${match.hostname})`,
      what: `route ${match.name}`,
      check: `tunnelctl route list ${tunnel}`,
      goal: 'gone',
      start: (wait) => client.routes.delete(tunnel, match.name, { wait }),
      poll: () => orGone(() => client.routes.get(tunnel, match.name)),
    });
    printDeletion(
      ctx,
      tunnel,
      left ? { deleted: [], pending: [match.name] } : { deleted: [match.name], pending: [] },
    );
    await remindRestart(ctx, client, tunnel, 'removed');
    return 0;
  }
  if (!ref.includes(':')) {
    throw new CliError(
      `Tunnel ${tunnel} has no route named ${ref} or with that hostname; ${routeList(routes)}`,
      { code: 'cli.not_found' },
    );
  }
  return deleteByService(ctx, tunnel, ref, routes);
}

/** The proof of concept's `delete TUNNEL SERVICE`: every route of TUNNEL to SERVICE. */
export async function deleteRoutesOfService(ctx: Ctx, tunnel: string, service: string): Promise<number> {
  await ctx.session();
  ctx.subject.tunnel = tunnel;
  ctx.subject.route = service;
  return deleteByService(ctx, tunnel, service, null);
}

async function deleteByService(
  ctx: Ctx,
  tunnel: string,
  service: string,
  known: Route[] | null,
): Promise<number> {
  const { client } = await ctx.session();
  const deadline = Date.now() + ctx.timeoutSeconds * 1000;
  const result = await withSpinner(
    ctx.io.stderr,
    `Deleting the routes of tunnel ${tunnel} to ${service}`,
    () => client.routes.deleteByService(tunnel, service, { wait: serverWait(ctx) }),
  );
  if (result.deleted.length === 0 && result.pending.length === 0) {
    const routes = known ?? (await client.routes.list(tunnel));
    throw new CliError(`Tunnel ${tunnel} has no route to ${service}; ${routeList(routes)}`, {
      code: 'cli.not_found',
    });
  }
  let final: RouteDeletion = result;
  if (result.pending.length > 0 && ctx.wait) {
    const polled = await withSpinner(ctx.io.stderr, `Deleting routes ${result.pending.join(', ')}`, () =>
      pollUntil({
        deadline,
        fetch: async () => (await client.routes.list(tunnel)).map((r) => r.name),
        done: (names) => result.pending.every((n) => !names.includes(n)),
      }),
    );
    if (polled.timedOut) {
      throw new CliError(
        `Timed out after ${ctx.timeoutSeconds}s waiting for routes ${result.pending.join(', ')} to go; the control plane keeps trying: check with tunnelctl route list ${tunnel}`,
        { code: 'cli.timeout' },
      );
    }
    final = { deleted: [...result.deleted, ...result.pending], pending: [] };
  } else if (result.pending.length > 0) {
    ctx.note(
      `Routes ${result.pending.join(', ')} are being deleted; not waiting (check with: tunnelctl route list ${tunnel})`,
    );
  }
  printDeletion(ctx, tunnel, final);
  await remindRestart(ctx, client, tunnel, 'removed');
  return 0;
}

function printDeletion(ctx: Ctx, tunnel: string, d: RouteDeletion): void {
  if (ctx.format !== 'table') {
    ctx.data({ tunnel, deleted: d.deleted, pending: d.pending });
    return;
  }
  ctx.out(
    [
      ...d.deleted.map((n) => `route ${n} deleted\n`),
      ...d.pending.map((n) => `route ${n} is being deleted\n`),
    ].join(''),
  );
}

function routeList(routes: Route[]): string {
  if (routes.length === 0) return 'it has no routes';
  return `its routes: ${routes.map((r) => `${r.name} (${r.hostname} -> ${r.service})`).join(', ')}`;
}

/** Says on stderr how the change reaches cloudflared. */
async function remindRestart(
  ctx: Ctx,
  client: TunnelplaneClient,
  tunnel: string,
  change: 'added' | 'removed' | 'changed',
) {
  let mode: string | null = null;
  try {
    mode = (await client.tunnels.get(tunnel)).configMode;
  } catch {
    // The change itself succeeded; fall back to the proof of concept's generic reminder.
  }
  if (mode === 'remote') {
    ctx.note(
      `Tunnel ${tunnel} is remotely managed: the ${change === 'added' ? 'route is' : 'change is'} live without restarting cloudflared.`,
    );
  } else if (mode === 'local') {
    ctx.note(
      `Tunnel ${tunnel} is locally configured: restart the running cloudflared with the new config (tunnelctl config ${tunnel} > config.yaml, or tunnelctl run ${tunnel}).`,
    );
  } else {
    ctx.note(
      `Restart running cloudflared instances of tunnel ${tunnel} with the new config to apply this change.`,
    );
  }
}
