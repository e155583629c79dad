/**
 * Routes as users see them: validation (service URL, allow-list, Access rule, the size of the
 * route's Access application), quotas and the account's capacity, the desired-state writes and
 * the bounded wait. One lookup of a route (by name or hostname) and one not-found error.
 */
import { AppError } from '../domain/errors.js';
import { assertRouteName, randomLabel, routeHostname } from '../domain/names.js';
import { parseService } from '../domain/service-url.js';
import { parseAccessRule, parseAllowList } from '../domain/allow-list.js';
import { accessPolicies } from '../domain/access-policies.js';
import type { AccountCapacity, Quotas, RouteView, TunnelRow, TunnelsRepository } from '../store/index.js';
import type { Actor } from './actor.js';
import { expiresIn, type TunnelService } from './tunnel-service.js';
import type { Waits } from './waits.js';
import type { ZoneService } from './zone-service.js';

export interface RouteServiceConfig {
  /** What every tenant shares of the Cloudflare account (checked when a route is created). */
  capacity: AccountCapacity;
  /** Cloudflare's limit of rules (include + require entries) in one Access application. */
  rulesPerApplication: number;
}

export interface NewRouteInput {
  service: string;
  name?: string;
  allowIps?: string[];
  access?: { emails?: string[]; emailDomains?: string[] };
  /** Deleted by itself this long after creation (`tunnelctl share --ttl`). */
  ttlSeconds?: number;
  /** The zone the hostname lives under (default: the caller's default zone). */
  zone?: string;
}

export interface RouteServiceDeps {
  tunnels: Pick<TunnelsRepository, 'addRoute' | 'markRoutesDeleting' | 'requestRotation' | 'routesById'>;
  tunnelService: Pick<TunnelService, 'ownTunnel' | 'withRoutes'>;
  waits: Waits;
  /** The quotas that bind a tunnel's owner (the caller's own, or their team's). */
  quotasOfOwner: (ownerId: string, actor: Actor) => Promise<Quotas>;
  /** The zone a new route lives under: the one asked for, if the caller may use it. */
  zones: Pick<ZoneService, 'choose'>;
  config: RouteServiceConfig;
}

/** The route of a tunnel named (or with the hostname) `ref`; `route.not_found` otherwise. */
export function findRoute(
  tunnel: Pick<TunnelRow, 'name'>,
  routes: readonly RouteView[],
  ref: string,
): RouteView {
  const route = routes.find((r) => r.name === ref) ?? routes.find((r) => r.hostname === ref);
  if (!route)
    throw routeNotFound(tunnel, `named ${JSON.stringify(ref.slice(0, 64))}`, { route: ref.slice(0, 64) });
  return route;
}

const routeNotFound = (tunnel: Pick<TunnelRow, 'name'>, which: string, details: Record<string, unknown>) =>
  new AppError('route.not_found', `Tunnel ${tunnel.name} has no route ${which}.`, details);

export function createRouteService(deps: RouteServiceDeps) {
  const { tunnels, tunnelService, waits, config } = deps;

  /** The route's own Access application must fit Cloudflare's limit of rules per application. */
  function checkProtectionSize(
    tcpLike: boolean,
    allowIps: string[] | null,
    access: ReturnType<typeof parseAccessRule> | null,
  ) {
    const rules = accessPolicies({ tcpLike, allowIps, access }, 'token').reduce(
      (n, p) => n + p.include.length + (p.require?.length ?? 0),
      0,
    );
    if (rules > config.rulesPerApplication) {
      throw new AppError(
        'route.protection_too_large',
        `This protection needs ${rules} Access rules (each email or domain once per allowed range); Cloudflare allows ${config.rulesPerApplication} in one application. Use fewer ranges or fewer people.`,
        { rules, limit: config.rulesPerApplication },
      );
    }
  }

  return {
    /** One route of the caller's tunnel. */
    async get(actor: Actor, tunnelName: string, ref: string) {
      const tunnel = await tunnelService.ownTunnel(actor, tunnelName);
      return { tunnel, route: findRoute(tunnel, (await tunnelService.withRoutes(tunnel)).routes, ref) };
    },

    async add(actor: Actor, tunnelName: string, input: NewRouteInput, waitMs: number) {
      const tunnel = await tunnelService.ownTunnel(actor, tunnelName);
      if (tunnel.deleting) throw new AppError('tunnel.deleting', `Tunnel ${tunnel.name} is being deleted.`);
      const service = parseService(input.service);
      const allowIps = input.allowIps ? parseAllowList(input.allowIps) : null;
      const access = input.access ? parseAccessRule(input.access, service.tcpLike) : null;
      checkProtectionSize(service.tcpLike, allowIps, access);
      const zone = await deps.zones.choose(actor, input.zone);
      let route: RouteView | undefined;
      for (let attempt = 0; !route; attempt++) {
        const name = input.name !== undefined ? assertRouteName(input.name) : randomLabel(8);
        try {
          route = await tunnels.addRoute(
            tunnel,
            {
              name,
              hostname: routeHostname(name, tunnel.name, zone.name),
              zone: zone.name,
              service: service.service,
              protocol: service.protocol,
              allowIps,
              access,
              expiresAt: expiresIn(input.ttlSeconds),
            },
            await deps.quotasOfOwner(tunnel.owner_id, actor),
            config.capacity,
            actor.user.name,
          );
        } catch (err) {
          const retry =
            err instanceof AppError &&
            err.code === 'route.name_taken' &&
            input.name === undefined &&
            attempt < 5;
          if (!retry) throw err;
        }
      }
      const routeId = route.id;
      const finished =
        waitMs > 0
          ? await waits.waitFor(tunnel.id, waitMs, async (t) => {
              if (!t) return true;
              const [r] = await tunnels.routesById([routeId]);
              return (
                !r ||
                r.phase === 'ready' ||
                r.phase === 'error' ||
                (t.phase === 'error' && t.observed_generation >= t.generation)
              );
            })
          : false;
      const [current] = await tunnels.routesById([routeId]);
      return { tunnel, route: current ?? route, finished };
    },

    /** Deletes the given routes of a tunnel (by name or hostname, or every route of a service). */
    async delete(
      actor: Actor,
      tunnelName: string,
      select: { name?: string; service?: string },
      waitMs: number,
    ) {
      const tunnel = await tunnelService.ownTunnel(actor, tunnelName);
      const { routes } = await tunnelService.withRoutes(tunnel);
      let chosen: RouteView[];
      if (select.name !== undefined) {
        chosen = [findRoute(tunnel, routes, select.name)];
      } else {
        const wanted = parseService(select.service ?? '').service;
        chosen = routes.filter((r) => r.service === wanted);
        if (chosen.length === 0) throw routeNotFound(tunnel, `to ${wanted}`, { service: wanted });
      }
      await tunnels.markRoutesDeleting(
        tunnel,
        chosen.filter((r) => !r.deleting),
        actor.user.name,
      );
      const ids = chosen.map((r) => r.id);
      if (waitMs > 0)
        await waits.waitFor(tunnel.id, waitMs, async () => (await tunnels.routesById(ids)).length === 0);
      const left = await tunnels.routesById(ids);
      const leftNames = new Set(left.map((r) => r.name));
      return {
        tunnel,
        deleted: chosen.filter((r) => !leftNames.has(r.name)).map((r) => r.name),
        pending: left,
      };
    },

    /** Admins: rotate a TCP route's service token (the access pods roll onto the new one). */
    async rotateToken(actor: Actor, tunnelName: string, ref: string) {
      const tunnel = await tunnelService.ownTunnel(actor, tunnelName);
      const route = findRoute(
        tunnel,
        (await tunnelService.withRoutes(tunnel)).routes.filter((r) => !r.deleting),
        ref,
      );
      if (!route.service_token_id) {
        throw new AppError(
          'route.no_service_token',
          `Route ${route.name} has no service token (only TCP-like routes do, once provisioned).`,
        );
      }
      await tunnels.requestRotation(tunnel, route, actor.user.name);
      return route;
    },
  };
}

export type RouteService = ReturnType<typeof createRouteService>;
