/**
 * Routes as users see them: validation (service URL, allow-list, Access rule, the size of the
 * route's Access application), quotas and the account's capacity, the desired-state writes and
 * the bounded wait. One lookup of a route (by name or hostname) and one not-found error.
 */
import { AppError } from '../domain/errors.js';
import {
  assertRouteName,
  chosenHostname,
  ownerPrefix,
  randomLabel,
  routeHostname,
  routeNameOfLabel,
} from '../domain/names.js';
import { parseService, type Service } from '../domain/service-url.js';
import { parseAccessRule, parseAllowList, parseSessionDuration } from '../domain/allow-list.js';
import { accessPolicies } from '../domain/access-policies.js';
import {
  parseAccessColumn,
  parseAllowIpsColumn,
  parseOriginRequestColumn,
  type AccessRule,
} from '../domain/model.js';
import { parseOriginRequest, type OriginRequest } from '../domain/origin-request.js';
import type {
  AccountCapacity,
  Quotas,
  RouteChanges,
  RouteView,
  TunnelRow,
  TunnelsRepository,
} from '../store/index.js';
import type { Actor } from './actor.js';
import { expiresIn, type TunnelService } from './tunnel-service.js';
import type { Waits } from './waits.js';
import type { ZoneService } from './zone-service.js';
import type { Zone } from '../domain/zones.js';

export interface RouteServiceConfig {
  /** What every tenant shares of the Cloudflare account (checked when a route is created). */
  capacity: AccountCapacity;
  /** Cloudflare's limit of rules (include + require entries) in one Access application. */
  rulesPerApplication: number;
  /** What users may choose as hostnames (`routes.*`). */
  hostnames: { reserved: readonly string[]; prefix: 'none' | 'owner' };
  /** Cloudflare Access settings (`access.*`): the team name for the origin's JWT check, the IdP for groups. */
  access: { teamName: string | null; identityProviderId: string | null; groupsClaim: string };
}

export interface AccessInput {
  emails?: string[];
  emailDomains?: string[];
  groups?: string[];
  sessionDuration?: string;
}

export interface NewRouteInput {
  service: string;
  name?: string;
  /** A label of the zone (`myapp` → `myapp.<zone>`); none: `<name>-<tunnel>.<zone>`. */
  hostname?: string;
  allowIps?: string[];
  access?: AccessInput;
  originRequest?: Record<string, unknown>;
  /** Deleted by itself this long after creation (`tunnelctl share --ttl`). */
  ttlSeconds?: number;
  /** The zone the hostname lives under (default: the caller's default zone). */
  zone?: string;
}

/** A PATCH of a route: absent fields stay, `null` clears. */
export interface RouteUpdateInput {
  service?: string;
  allowIps?: string[] | null;
  access?: AccessInput | null;
  originRequest?: Record<string, unknown> | null;
}

/** Who holds a hostname's DNS name already: `foreign` when a record Tunnelplane did not make is there. */
export type HostnameHolder = (hostname: string, zoneId: string) => Promise<'foreign' | 'free'>;

export interface RouteServiceDeps {
  tunnels: Pick<
    TunnelsRepository,
    'addRoute' | 'markRoutesDeleting' | 'requestRotation' | 'routesById' | 'updateRoute'
  >;
  tunnelService: Pick<TunnelService, 'ownTunnel' | 'withRoutes'>;
  waits: Waits;
  /** The quotas that bind a tunnel's owner (the caller's own, or their team's). */
  quotasOfOwner: (ownerId: string, actor: Actor) => Promise<Quotas>;
  /** The owner's name (a person's, or `team:<name>`): the prefix of their chosen hostnames. */
  ownerName: (ownerId: string) => Promise<string>;
  /** Looks at the zone before a chosen hostname is taken (one DNS read). */
  hostnameHolder: HostnameHolder;
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
  function checkProtectionSize(tcpLike: boolean, allowIps: string[] | null, access: AccessRule | null) {
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

  /** `access` as the API gave it, with its groups tied to the server's Access identity provider. */
  function accessOf(input: AccessInput, tcpLike: boolean): AccessRule {
    const groups = [...new Set((input.groups ?? []).map((g) => g.trim()))].filter(Boolean);
    const rule: AccessRule = parseAccessRule({ ...input, groupsCount: groups.length }, tcpLike);
    if (groups.length > 0) {
      const idp = config.access.identityProviderId;
      if (!idp)
        throw new AppError(
          'route.origin_option_unavailable',
          'access.groups: this server has no Access identity provider configured (access.identityProviderId); ask the operator, or use emails and domains.',
          { field: 'groups' },
        );
      rule.groups = groups.sort();
      rule.idp = { id: idp, claim: config.access.groupsClaim };
    }
    if (input.sessionDuration !== undefined)
      rule.sessionDuration = parseSessionDuration(input.sessionDuration);
    return rule;
  }

  function originOf(
    input: unknown,
    service: Service,
    configMode: 'local' | 'remote',
    accessProtected: boolean,
  ): OriginRequest | null {
    return parseOriginRequest(input, {
      scheme: service.protocol,
      configMode,
      accessProtected,
      teamName: config.access.teamName,
    });
  }

  async function hostnameFor(
    tunnel: TunnelRow,
    input: NewRouteInput,
    name: string,
    zone: Pick<Zone, 'name' | 'id'>,
  ): Promise<string> {
    if (input.hostname === undefined) return routeHostname(name, tunnel.name, zone.name);
    const prefix =
      config.hostnames.prefix === 'owner' ? ownerPrefix(await deps.ownerName(tunnel.owner_id)) : null;
    const host = chosenHostname(input.hostname, zone.name, {
      reserved: config.hostnames.reserved,
      prefix,
    });
    if ((await deps.hostnameHolder(host, zone.id)) === 'foreign')
      throw new AppError(
        'route.hostname_foreign',
        `The name ${host} already has a DNS record Tunnelplane did not make; it is left alone. Choose another hostname.`,
        { hostname: host },
      );
    return host;
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
      const access = input.access ? accessOf(input.access, service.tcpLike) : null;
      checkProtectionSize(service.tcpLike, allowIps, access);
      const zone = await deps.zones.choose(actor, input.zone);
      const originRequest = originOf(
        input.originRequest,
        service,
        tunnel.config_mode,
        service.tcpLike || !!access || !!allowIps,
      );
      let route: RouteView | undefined;
      for (let attempt = 0; !route; attempt++) {
        const name =
          input.name !== undefined
            ? assertRouteName(input.name)
            : input.hostname !== undefined && attempt === 0
              ? routeNameOfLabel(input.hostname)
              : randomLabel(8);
        try {
          route = await tunnels.addRoute(
            tunnel,
            {
              name,
              hostname: await hostnameFor(tunnel, input, name, zone),
              zone: zone.name,
              service: service.service,
              protocol: service.protocol,
              allowIps,
              access,
              originRequest,
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

    /**
     * Changes a route in place (its service, protection, origin options): its hostname and DNS
     * record stay, and the reconciler writes only what changed. `ifGeneration`: the client's
     * `If-Match` (null: none given).
     */
    async update(
      actor: Actor,
      tunnelName: string,
      ref: string,
      input: RouteUpdateInput,
      ifGeneration: number | null,
    ) {
      const tunnel = await tunnelService.ownTunnel(actor, tunnelName);
      if (tunnel.deleting) throw new AppError('tunnel.deleting', `Tunnel ${tunnel.name} is being deleted.`);
      const route = findRoute(
        tunnel,
        (await tunnelService.withRoutes(tunnel)).routes.filter((r) => !r.deleting),
        ref,
      );
      const current = parseService(route.service);
      const service = input.service !== undefined ? parseService(input.service) : current;
      if (service.tcpLike !== current.tcpLike)
        throw new AppError(
          'route.protocol_change',
          `Route ${route.name} is ${current.tcpLike ? 'a TCP' : 'an HTTP'} route; its service must stay ${current.tcpLike ? 'TCP-like' : 'HTTP'}. Delete it and add a new route instead.`,
          { from: current.protocol, to: service.protocol },
        );
      const changes: RouteChanges = {};
      if (input.service !== undefined)
        changes.service = { service: service.service, protocol: service.protocol };
      if (input.allowIps !== undefined)
        changes.allowIps = input.allowIps ? parseAllowList(input.allowIps) : null;
      if (input.access !== undefined)
        changes.access = input.access ? accessOf(input.access, service.tcpLike) : null;
      const allowIps =
        changes.allowIps !== undefined ? changes.allowIps : parseAllowIpsColumn(route.allow_ips);
      const access = changes.access !== undefined ? changes.access : parseAccessColumn(route.access_rule);
      checkProtectionSize(service.tcpLike, allowIps, access);
      const accessProtected = service.tcpLike || !!access || !!allowIps;
      if (input.originRequest !== undefined)
        changes.originRequest = originOf(input.originRequest, service, tunnel.config_mode, accessProtected);
      else if (route.origin_request)
        // The options stay; they must still hold for the new service and protection.
        originOf(
          parseOriginRequestColumn(route.origin_request),
          service,
          tunnel.config_mode,
          accessProtected,
        );
      const row = await tunnels.updateRoute(
        tunnel,
        route.id,
        changes,
        ifGeneration,
        await deps.quotasOfOwner(tunnel.owner_id, actor),
        config.capacity,
        actor.user.name,
      );
      return { tunnel, route: row };
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
