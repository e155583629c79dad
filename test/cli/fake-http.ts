/**
 * What the fake's routes share: the request as a handler sees it, the reply, the route table's
 * entry (with the schemas the real route declares), and the lookups every handler makes the
 * way the real services make them (ownership, the bounded wait).
 */
import { assertTunnelName } from '../../src/domain/names.js';
import {
  TEAM_PREFIX,
  type FakeScope,
  type FakeState,
  type FakeTunnel,
  type FakeUser,
  type StateOptions,
} from './fake-state.js';
import type { FakeDevices } from './fake-identity.js';
import { HttpError, type Schema } from './fake-validation.js';

export interface Behaviour {
  /** How long after a change the simulated reconciler is done with it (ms). */
  settleMs: number;
  /**
   * The server waits at most this long for convergence, whatever `?wait=` says: 0 stands for a
   * reconciler slower than any wait (the real server's cap is 120 s).
   */
  maxWaitSeconds: number;
  /** Cloudflare refuses to create the next tunnel with this message: it ends in phase `error`. */
  failNextTunnel: string | null;
}

export interface Deps {
  state: FakeState;
  devices: FakeDevices;
  options: StateOptions;
  behaviour(): Behaviour;
  /** The failure for the next tunnel created, used up by taking it. */
  takeFailure(): string | null;
}

export interface Ctx {
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, any>;
  body: any;
  user: FakeUser;
  via: 'basic' | 'token';
  /** What the credential may do (a password: all the user's rights) and until when. */
  scopes: FakeScope[];
  expiresAt: string | null;
  requestId: string;
  /** The request's `If-Match` header, if any. */
  ifMatch?: string;
}

export interface Reply {
  status: number;
  body?: unknown;
  /** Content type of a text body; JSON bodies are `application/json; charset=utf-8`. */
  type?: string;
  headers?: Record<string, string>;
}

export interface RouteDef {
  method: string;
  /** Fastify-style: `/api/v1/tunnels/:tunnel`. */
  url: string;
  public?: boolean;
  admin?: boolean;
  params?: Schema;
  query?: Schema;
  body?: Schema;
  /** Headers the real route sets before its work, so they come with its errors too. */
  headers?: Record<string, string>;
  handle(ctx: Ctx, deps: Deps): Promise<Reply> | Reply;
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body,
  ...(headers && { headers }),
});

export const NO_STORE = { 'cache-control': 'no-store' };

/** The owners whose tunnels the user sees: themselves and their teams (`team:<name>`). */
export const ownersOf = (deps: Deps, user: FakeUser): string[] => [
  user.name,
  ...deps.state.teamsOf(user.name).map((t) => TEAM_PREFIX + t.name),
];

/** The caller's tunnel or their teams' (an admin's: anyone's); someone else's does not exist (404, never 403). */
export function ownTunnel(deps: Deps, ctx: Pick<Ctx, 'user'>, name: string): FakeTunnel {
  const t = deps.state.tunnels.get(assertTunnelName(name));
  if (!t || (!ownersOf(deps, ctx.user).includes(t.owner) && ctx.user.role !== 'admin')) {
    throw new HttpError(
      404,
      'tunnel.not_found',
      `You have no tunnel named ${JSON.stringify(name.slice(0, 64))}.`,
      {
        tunnel: name.slice(0, 64),
      },
    );
  }
  return t;
}

/** The tunnel once Cloudflare has it: what its files need. */
export function readyTunnel(deps: Deps, t: FakeTunnel): FakeTunnel {
  if (t.provisioned) return t;
  throw new HttpError(
    409,
    'tunnel.not_ready',
    `Tunnel ${t.name} is still being created in Cloudflare; try again shortly.`,
    { phase: deps.state.phaseOf(t), lastError: t.lastError },
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits up to `waitMs` (capped by the behaviour) for `done`, letting the simulated reconciler
 * work; `?wait=0` does not wait at all, so nothing has changed since the write.
 */
export async function waitFor(deps: Deps, waitMs: number, done: () => boolean): Promise<boolean> {
  if (waitMs <= 0) return false;
  const deadline = Date.now() + Math.min(waitMs, deps.behaviour().maxWaitSeconds * 1000);
  for (;;) {
    deps.state.advance();
    if (done()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(5, Math.max(1, deadline - Date.now())));
  }
}

export const waitMsOf = (query: { wait?: number }) => Math.round((query.wait ?? 30) * 1000);

/** A page of `items` by an opaque cursor (an offset), as the real server pages its lists. */
export function page<T>(items: T[], limit: number, cursor: string | undefined) {
  let start = 0;
  if (cursor) {
    try {
      start = Number(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))[0]) || 0;
    } catch {
      start = 0;
    }
  }
  const end = start + limit;
  return {
    items: items.slice(start, end),
    nextCursor: end < items.length ? Buffer.from(JSON.stringify([end])).toString('base64url') : null,
  };
}
