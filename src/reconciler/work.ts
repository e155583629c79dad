/**
 * The unit a pass works on: one claimed tunnel, its routes, and what the pass learnt. Failures
 * are kept where they belong: the tunnel's own (its Cloudflare tunnel, its configuration, its
 * deletion) stops the tunnel-level steps after it; a route's own (its Access objects, its
 * record, its pods) stops only that route, and the other routes go on. Whether the tunnel is
 * converged is decided at the end from the state itself (outcome.ts), never from which steps
 * happened to run.
 */
import type { Route, Tunnel } from '../domain/model.js';

export interface Blocked {
  code: string;
  message: string;
}

export interface Work {
  tunnel: Tunnel;
  routes: Route[];
  failure: Error | null;
  routeFailures: Map<string, Error>;
  /** Routes that cannot converge until something outside changes (a foreign record, the zone's quota). */
  blocked: Map<string, Blocked>;
  /** The configuration PUT was put off while a burst goes on: neither converged nor failed. */
  deferred: boolean;
  /** Deleted: its rows are gone. */
  done: boolean;
}

export const newWork = (tunnel: Tunnel, routes: Route[]): Work => ({
  tunnel,
  routes,
  failure: null,
  routeFailures: new Map(),
  blocked: new Map(),
  deferred: false,
  done: false,
});

const asError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)));

/** The tunnel's own failure; the first one of a pass is the one recorded. */
export function failTunnel(w: Work, err: unknown) {
  w.failure ??= asError(err);
}

/** A route's own failure; its tunnel goes on with the other routes. */
export function failRoute(w: Work, r: Route, err: unknown) {
  if (!w.routeFailures.has(r.id)) w.routeFailures.set(r.id, asError(err));
}

/** Whether tunnel-level steps still run for this tunnel in this pass. */
export const active = (w: Work) => !w.failure && !w.done && !w.deferred;
/**
 * Whether route-level steps still run for this route. A put-off configuration holds back the
 * steps after it (pods, Access removal): a deleted route's objects go only once its hostname
 * left the configuration.
 */
export const routeActive = (w: Work, r: Route) =>
  !w.failure && !w.done && !w.deferred && !w.routeFailures.has(r.id) && !w.blocked.has(r.id);

export const routeLive = (w: Work, r: Route) => !w.tunnel.deleting && !r.deleting;
