/**
 * Tunnels as users see them: ownership (someone else's tunnel does not exist for you), creating
 * and deleting with the bounded wait, listing, and what cloudflared needs (credentials, token,
 * config.yaml). Never calls Cloudflare: it writes the store's desired state and reads back.
 */
import { randomBytes } from 'node:crypto';
import { AppError } from '../domain/errors.js';
import { assertTunnelName, randomLabel } from '../domain/names.js';
import { credentialsFile, tunnelToken } from '../domain/cloudflared-files.js';
import type { SecretBox } from '../domain/secret-box.js';
import type {
  Page,
  Quotas,
  RouteView,
  TunnelRow,
  TunnelsRepository,
  TunnelView,
  UserRow,
} from '../store/index.js';
import { ownersOf, type Actor } from './actor.js';
import { ingressOf, type TunnelViews } from './tunnel-views.js';
import type { Waits } from './waits.js';

export type { Actor } from './actor.js';

/** When something made now with `ttlSeconds` expires (RFC 3339); none: never. */
export const expiresIn = (ttlSeconds: number | undefined) =>
  ttlSeconds ? new Date(Date.now() + ttlSeconds * 1000).toISOString() : null;

export interface TunnelServiceConfig {
  accountId: string;
  defaultConfigMode: 'local' | 'remote';
}

export interface TunnelWithRoutes<T extends TunnelView = TunnelRow> {
  tunnel: T;
  routes: RouteView[];
}

export interface TunnelServiceDeps {
  tunnels: Pick<
    TunnelsRepository,
    'byId' | 'byName' | 'create' | 'markDeleting' | 'routeViewsOf' | 'listForOwner' | 'updateTunnel'
  >;
  views: TunnelViews;
  waits: Waits;
  secrets: SecretBox;
  quotasOf: (user: UserRow) => Quotas;
  /** A team's row by name (the caller must be a member to create in it). */
  teamRow: (id: string) => Promise<UserRow | undefined>;
  config: TunnelServiceConfig;
}

/** Converged, or failed for good (an error only a change outside can fix: waiting longer would not help). */
const settled = (gen: number) => (t: TunnelRow | undefined) =>
  !!t &&
  ((t.observed_generation >= gen && (t.phase === 'ready' || t.phase === 'error')) ||
    (t.phase === 'error' && t.attempts > 0));

export function createTunnelService(deps: TunnelServiceDeps) {
  const { tunnels, views, waits, secrets, config } = deps;

  /**
   * The caller's tunnel (or one of their teams') by name. Someone else's tunnel does not exist
   * for the caller (404, never 403).
   */
  async function ownTunnel(actor: Actor, name: string): Promise<TunnelRow> {
    const tunnel = await tunnels.byName(assertTunnelName(name));
    if (!tunnel || (!ownersOf(actor).includes(tunnel.owner_id) && actor.user.role !== 'admin')) {
      throw new AppError(
        'tunnel.not_found',
        `You have no tunnel named ${JSON.stringify(name.slice(0, 64))}.`,
        {
          tunnel: name.slice(0, 64),
        },
      );
    }
    return tunnel;
  }

  async function withRoutes(tunnel: TunnelRow): Promise<TunnelWithRoutes> {
    const routes = (await tunnels.routeViewsOf([tunnel.id])).get(tunnel.id) ?? [];
    return { tunnel, routes };
  }

  async function ready(tunnel: TunnelRow): Promise<TunnelRow & { cf_tunnel_id: string }> {
    if (tunnel.cf_tunnel_id) return tunnel as TunnelRow & { cf_tunnel_id: string };
    throw new AppError(
      'tunnel.not_ready',
      `Tunnel ${tunnel.name} is still being created in Cloudflare; try again shortly.`,
      {
        phase: tunnel.phase,
        lastError: tunnel.last_error,
      },
    );
  }

  const secretOf = (t: TunnelRow & { cf_tunnel_id: string }) => ({
    accountTag: config.accountId,
    tunnelId: t.cf_tunnel_id,
    secret: secrets.open(t.secret_sealed),
  });

  return {
    ownTunnel,
    withRoutes,
    views,

    /** A page of tunnels: the owners' (a person and their teams; null: everyone's, for admins). */
    list: (owners: string | string[] | null, limit: number, cursor?: string): Promise<Page<TunnelView>> =>
      tunnels.listForOwner(owners, limit, cursor),

    /** Every tunnel of the caller with its routes, a page at a time. */
    async *listAll(actor: Actor): AsyncGenerator<TunnelWithRoutes<TunnelView>> {
      let cursor: string | undefined;
      do {
        const page = await tunnels.listForOwner(ownersOf(actor), 200, cursor);
        const routes = await tunnels.routeViewsOf(page.items.map((t) => t.id));
        for (const tunnel of page.items) yield { tunnel, routes: routes.get(tunnel.id) ?? [] };
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    },

    async createTunnel(
      actor: Actor,
      input: { name?: string; configMode?: 'local' | 'remote'; team?: string; ttlSeconds?: number },
      waitMs: number,
    ) {
      // In a team: the team owns it and its quotas count it; only members may.
      let owner = actor.user;
      if (input.team !== undefined) {
        const ref = (actor.teams ?? []).find((t) => t.name === input.team);
        const row = ref && (await deps.teamRow(ref.id));
        if (!row)
          throw new AppError(
            'team.not_found',
            `You are not in a team named ${JSON.stringify(input.team.slice(0, 64))}.`,
          );
        owner = row;
      }
      const secret = randomBytes(32);
      const mode = input.configMode ?? config.defaultConfigMode;
      let tunnel: TunnelRow | undefined;
      for (let attempt = 0; !tunnel; attempt++) {
        const name = input.name !== undefined ? assertTunnelName(input.name) : randomLabel(8);
        try {
          tunnel = await tunnels.create(
            {
              ownerId: owner.id,
              name,
              configMode: mode,
              secretSealed: secrets.seal(secret),
              expiresAt: expiresIn(input.ttlSeconds),
            },
            deps.quotasOf(owner),
            actor.user.name,
          );
        } catch (err) {
          // A random name that collides is drawn again; a chosen one is the user's to change.
          const retry =
            err instanceof AppError &&
            err.code === 'tunnel.name_taken' &&
            input.name === undefined &&
            attempt < 5;
          if (!retry) throw err;
        }
      }
      const finished =
        waitMs > 0 ? await waits.waitFor(tunnel.id, waitMs, settled(tunnel.generation)) : false;
      const current = (await tunnels.byId(tunnel.id)) ?? tunnel;
      return { ...(await withRoutes(current)), finished };
    },

    /**
     * Changes a tunnel in place. Its configuration moves from local to remote as Cloudflare's
     * dashboard migration does (the reconciler PUTs its ingress); remote to local is refused:
     * Cloudflare cannot move a tunnel back.
     */
    async updateTunnel(
      actor: Actor,
      name: string,
      input: { configMode?: 'local' | 'remote' },
      ifGeneration: number | null,
    ) {
      const tunnel = await ownTunnel(actor, name);
      if (tunnel.deleting) throw new AppError('tunnel.deleting', `Tunnel ${tunnel.name} is being deleted.`);
      if (input.configMode === 'local' && tunnel.config_mode === 'remote')
        throw new AppError(
          'tunnel.config_mode_change',
          `Tunnel ${tunnel.name} is configured remotely; Cloudflare cannot move a tunnel back to a local configuration. Create a new local tunnel instead.`,
          { from: 'remote', to: 'local' },
        );
      const row = await deps.tunnels.updateTunnel(tunnel, input, ifGeneration, actor.user.name);
      return withRoutes(row);
    },

    async deleteTunnel(actor: Actor, name: string, waitMs: number) {
      const tunnel = await ownTunnel(actor, name);
      if (!tunnel.deleting) await tunnels.markDeleting(tunnel, actor.user.name);
      const finished = waitMs > 0 ? await waits.waitFor(tunnel.id, waitMs, (t) => !t) : false;
      const current = await tunnels.byId(tunnel.id);
      return { gone: !current, finished, current: current ? await withRoutes(current) : null };
    },

    /** The cloudflared credentials file; needs the Cloudflare tunnel to exist. */
    async credentials(actor: Actor, name: string) {
      return credentialsFile(secretOf(await ready(await ownTunnel(actor, name))));
    },

    async token(actor: Actor, name: string) {
      return tunnelToken(secretOf(await ready(await ownTunnel(actor, name))));
    },

    /** The ingress as cloudflared should see it: live routes, newest first, then the catch-all. */
    ingressOf(routes: RouteView[]) {
      return ingressOf(routes, 'json');
    },

    async configYaml(actor: Actor, name: string) {
      return views.ownConfigYaml(actor.user, name, async () => {
        const tunnel = await ready(await ownTunnel(actor, name));
        const bytes = await views.configYaml(tunnel, async () => (await withRoutes(tunnel)).routes);
        return { bytes, own: tunnel.owner_id === actor.user.id };
      });
    },
  };
}

export type TunnelService = ReturnType<typeof createTunnelService>;
