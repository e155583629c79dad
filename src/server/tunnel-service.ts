/**
 * Tunnels and routes as users see them: validation, ownership, quotas, desired-state writes,
 * and the bounded wait for the reconciler. Never calls Cloudflare: it only writes the store.
 */
import { randomBytes } from 'node:crypto';
import { AppError, notFound } from '../domain/errors.js';
import { assertRouteName, assertTunnelName, randomLabel, routeHostname } from '../domain/names.js';
import { parseService } from '../domain/service-url.js';
import { parseAccessRule, parseAllowList } from '../domain/allow-list.js';
import { credentialsFile, renderIngress, tunnelToken } from '../domain/cloudflared-files.js';
import type { SecretBox } from '../domain/secret-box.js';
import type {
  AccountCapacity,
  Quotas,
  RouteView,
  Store,
  TunnelRow,
  TunnelView,
  UserRow,
} from '../store/index.js';
import { accessPolicies } from '../domain/access-policies.js';
import { createTunnelViews } from './tunnel-views.js';

export interface Actor {
  user: UserRow;
}

export interface TunnelServiceConfig {
  zoneName: string;
  accountId: string;
  defaultQuotas: Quotas;
  defaultConfigMode: 'local' | 'remote';
  /** The longest a request may wait for convergence. */
  maxWaitMs: number;
  /** Where TCP routes are reachable in the cluster; null without Kubernetes. */
  inCluster: { namespace: string; port: number } | null;
  /** The budget of rendered views kept in memory (0: none); see tunnel-views.ts. */
  viewCacheBytes: number;
  /** What every tenant shares of the Cloudflare account (checked when a route is created). */
  capacity: AccountCapacity;
  /** Cloudflare's limit of rules (include + require entries) in one Access application. */
  rulesPerApplication: number;
}

export interface TunnelWithRoutes<T extends TunnelView = TunnelRow> {
  tunnel: T;
  routes: RouteView[];
}

export function quotasOf(user: UserRow, defaults: Quotas): Quotas {
  return {
    ...defaults,
    tunnels: user.quota_tunnels ?? defaults.tunnels,
    routes: user.quota_routes ?? defaults.routes,
  };
}

export function createTunnelService(deps: { store: Store; secrets: SecretBox; config: TunnelServiceConfig }) {
  const { store, secrets, config } = deps;
  const views = createTunnelViews({ store, inCluster: config.inCluster, maxBytes: config.viewCacheBytes });
  let closing = false;
  /** Waiters of this server, woken at once when it shuts down. */
  const waiters = new Set<() => void>();

  /** The caller's tunnel by name. Someone else's tunnel does not exist for the caller (404, never 403). */
  async function ownTunnel(actor: Actor, name: string): Promise<TunnelRow> {
    const tunnel = await store.tunnels.byName(assertTunnelName(name));
    if (!tunnel || (tunnel.owner_id !== actor.user.id && actor.user.role !== 'admin')) {
      throw notFound('tunnel.not_found', `You have no tunnel named ${JSON.stringify(name.slice(0, 64))}.`, {
        tunnel: name.slice(0, 64),
      });
    }
    return tunnel;
  }

  async function withRoutes(tunnel: TunnelRow): Promise<TunnelWithRoutes> {
    const routes = (await store.tunnels.routeViewsOf([tunnel.id])).get(tunnel.id) ?? [];
    return { tunnel, routes };
  }

  /**
   * Waits until `done` holds for the tunnel's current rows, the tunnel is gone, or the time is
   * up. Wakes on in-process changes and polls for other replicas' work.
   */
  async function waitFor(
    tunnelId: string,
    waitMs: number,
    done: (t: TunnelRow | undefined) => boolean | Promise<boolean>,
  ) {
    const deadline = Date.now() + Math.min(waitMs, config.maxWaitMs);
    for (;;) {
      const t = await store.tunnels.byId(tunnelId);
      if (await done(t)) return true;
      const left = deadline - Date.now();
      // Shutting down: answer now with the current state (202) rather than hold the exit.
      if (left <= 0 || closing) return false;
      await new Promise<void>((resolve) => {
        const onChange = (id: string) => {
          if (id === tunnelId) finish();
        };
        const timer = setTimeout(() => finish(), Math.min(left, 250));
        const finish = () => {
          clearTimeout(timer);
          store.signals.off('observed', onChange);
          waiters.delete(finish);
          resolve();
        };
        store.signals.on('observed', onChange);
        waiters.add(finish);
      });
    }
  }

  const converged = (gen: number) => (t: TunnelRow | undefined) =>
    !!t && t.observed_generation >= gen && (t.phase === 'ready' || t.phase === 'error');

  return {
    ownTunnel,
    withRoutes,
    views,

    /** Ends every wait at once (server shutdown): callers get the current state. */
    shutdown() {
      closing = true;
      for (const finish of [...waiters]) finish();
    },

    /** Every tunnel of the caller with its routes, a page at a time. */
    async *listAll(actor: Actor): AsyncGenerator<TunnelWithRoutes<TunnelView>> {
      let cursor: string | undefined;
      do {
        const page = await store.tunnels.listForOwner(actor.user.id, 200, cursor);
        const routes = await store.tunnels.routeViewsOf(page.items.map((t) => t.id));
        for (const tunnel of page.items) yield { tunnel, routes: routes.get(tunnel.id) ?? [] };
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    },

    async createTunnel(
      actor: Actor,
      input: { name?: string; configMode?: 'local' | 'remote' },
      waitMs: number,
    ) {
      const secret = randomBytes(32);
      const mode = input.configMode ?? config.defaultConfigMode;
      let tunnel: TunnelRow | undefined;
      for (let attempt = 0; !tunnel; attempt++) {
        const name = input.name !== undefined ? assertTunnelName(input.name) : randomLabel(8);
        try {
          tunnel = await store.tunnels.create(
            { ownerId: actor.user.id, name, configMode: mode, secretSealed: secrets.seal(secret) },
            quotasOf(actor.user, config.defaultQuotas),
            actor.user.name,
          );
        } catch (err) {
          // A random name that collides is drawn again; a chosen one is the user's to change.
          if (!(
            err instanceof AppError &&
            err.code === 'tunnel.name_taken' &&
            input.name === undefined &&
            attempt < 5
          ))
            throw err;
        }
      }
      const finished = waitMs > 0 ? await waitFor(tunnel.id, waitMs, converged(tunnel.generation)) : false;
      const current = (await store.tunnels.byId(tunnel.id)) ?? tunnel;
      return { ...(await withRoutes(current)), finished };
    },

    async deleteTunnel(actor: Actor, name: string, waitMs: number) {
      const tunnel = await ownTunnel(actor, name);
      if (!tunnel.deleting) await store.tunnels.markDeleting(tunnel, actor.user.name);
      const finished = waitMs > 0 ? await waitFor(tunnel.id, waitMs, (t) => !t) : false;
      const current = await store.tunnels.byId(tunnel.id);
      return { gone: !current, finished, current: current ? await withRoutes(current) : null };
    },

    async addRoute(
      actor: Actor,
      tunnelName: string,
      input: {
        service: string;
        name?: string;
        allowIps?: string[];
        access?: { emails?: string[]; emailDomains?: string[] };
      },
      waitMs: number,
    ) {
      const tunnel = await ownTunnel(actor, tunnelName);
      if (tunnel.deleting)
        throw new AppError('tunnel.deleting', 409, `Tunnel ${tunnel.name} is being deleted.`);
      const service = parseService(input.service);
      const allowIps = input.allowIps ? parseAllowList(input.allowIps) : null;
      const access = input.access ? parseAccessRule(input.access, service.tcpLike) : null;
      // The route's own Access application must fit Cloudflare's limit of rules per application.
      const rules = accessPolicies({ tcpLike: service.tcpLike, allowIps, access }, 'token').reduce(
        (n, p) => n + p.include.length + (p.require?.length ?? 0),
        0,
      );
      if (rules > config.rulesPerApplication) {
        throw new AppError(
          'route.protection_too_large',
          400,
          `This protection needs ${rules} Access rules (each email or domain once per allowed range); Cloudflare allows ${config.rulesPerApplication} in one application. Use fewer ranges or fewer people.`,
          { rules, limit: config.rulesPerApplication },
        );
      }
      let route: RouteView | undefined;
      for (let attempt = 0; !route; attempt++) {
        const name = input.name !== undefined ? assertRouteName(input.name) : randomLabel(8);
        try {
          route = await store.tunnels.addRoute(
            tunnel,
            {
              name,
              hostname: routeHostname(name, tunnel.name, config.zoneName),
              service: service.service,
              protocol: service.protocol,
              allowIps,
              access,
            },
            quotasOf(actor.user, config.defaultQuotas),
            config.capacity,
            actor.user.name,
          );
        } catch (err) {
          if (!(
            err instanceof AppError &&
            err.code === 'route.name_taken' &&
            input.name === undefined &&
            attempt < 5
          ))
            throw err;
        }
      }
      const routeId = route.id;
      const finished =
        waitMs > 0
          ? await waitFor(tunnel.id, waitMs, async (t) => {
              if (!t) return true;
              const [r] = await store.tunnels.routesById([routeId]);
              return (
                !r ||
                r.phase === 'ready' ||
                r.phase === 'error' ||
                (t.phase === 'error' && t.observed_generation >= t.generation)
              );
            })
          : false;
      const [current] = await store.tunnels.routesById([routeId]);
      return { tunnel, route: current ?? route, finished };
    },

    /** Deletes the given routes of a tunnel (by name, or every route of a service). */
    async deleteRoutes(
      actor: Actor,
      tunnelName: string,
      select: { name?: string; service?: string },
      waitMs: number,
    ) {
      const tunnel = await ownTunnel(actor, tunnelName);
      const { routes } = await withRoutes(tunnel);
      let chosen: RouteView[];
      if (select.name !== undefined) {
        chosen = routes.filter((r) => r.name === select.name || r.hostname === select.name);
        if (chosen.length === 0) {
          throw notFound(
            'route.not_found',
            `Tunnel ${tunnel.name} has no route named ${JSON.stringify(select.name.slice(0, 64))}.`,
          );
        }
      } else {
        const wanted = parseService(select.service ?? '').service;
        chosen = routes.filter((r) => r.service === wanted);
        if (chosen.length === 0) {
          throw notFound('route.not_found', `Tunnel ${tunnel.name} has no route to ${wanted}.`, {
            service: wanted,
          });
        }
      }
      await store.tunnels.markRoutesDeleting(
        tunnel,
        chosen.filter((r) => !r.deleting),
        actor.user.name,
      );
      const ids = chosen.map((r) => r.id);
      if (waitMs > 0)
        await waitFor(tunnel.id, waitMs, async () => (await store.tunnels.routesById(ids)).length === 0);
      const left = await store.tunnels.routesById(ids);
      const leftNames = new Set(left.map((r) => r.name));
      return {
        tunnel,
        deleted: chosen.filter((r) => !leftNames.has(r.name)).map((r) => r.name),
        pending: left,
      };
    },

    /** The cloudflared credentials file; needs the Cloudflare tunnel to exist. */
    async credentials(actor: Actor, name: string) {
      const tunnel = await ready(await ownTunnel(actor, name));
      return credentialsFile({
        accountTag: config.accountId,
        tunnelId: tunnel.cf_tunnel_id!,
        secret: secrets.open(tunnel.secret_sealed),
      });
    },

    /** Admins: rotate a TCP route's service token (the access pods roll onto the new one). */
    async rotateToken(actor: Actor, tunnelName: string, routeName: string) {
      const tunnel = await ownTunnel(actor, tunnelName);
      const { routes } = await withRoutes(tunnel);
      const route = routes.find((r) => r.name === routeName || r.hostname === routeName);
      if (!route || route.deleting)
        throw notFound(
          'route.not_found',
          `Tunnel ${tunnel.name} has no route ${JSON.stringify(routeName.slice(0, 64))}.`,
        );
      if (!route.service_token_id) {
        throw new AppError(
          'route.no_service_token',
          409,
          `Route ${route.name} has no service token (only TCP-like routes do, once provisioned).`,
        );
      }
      await store.tunnels.requestRotation(tunnel, route, actor.user.name);
      return route;
    },

    async token(actor: Actor, name: string) {
      const tunnel = await ready(await ownTunnel(actor, name));
      return tunnelToken({
        accountTag: config.accountId,
        tunnelId: tunnel.cf_tunnel_id!,
        secret: secrets.open(tunnel.secret_sealed),
      });
    },

    /** The ingress as cloudflared should see it: live routes, newest first, then the catch-all. */
    ingressOf(routes: RouteView[]) {
      return renderIngress(routes.filter((r) => !r.deleting));
    },

    async configYaml(actor: Actor, name: string) {
      const tunnel = await ready(await ownTunnel(actor, name));
      return views.configYaml(tunnel, async () => (await withRoutes(tunnel)).routes);
    },
  };

  async function ready(tunnel: TunnelRow): Promise<TunnelRow & { cf_tunnel_id: string }> {
    if (tunnel.cf_tunnel_id) return tunnel as TunnelRow & { cf_tunnel_id: string };
    throw new AppError(
      'tunnel.not_ready',
      409,
      `Tunnel ${tunnel.name} is still being created in Cloudflare; try again shortly.`,
      {
        phase: tunnel.phase,
        lastError: tunnel.last_error,
      },
    );
  }
}

export type TunnelService = ReturnType<typeof createTunnelService>;
