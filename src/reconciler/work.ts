/** The unit a pass works on: one claimed tunnel, its routes, and what the pass concluded. */
import type { ProviderError } from '../domain/errors.js';
import type { RouteRow, TunnelRow } from '../store/index.js';

/**
 * `deferred`: the pass put off a remote tunnel's configuration PUT while a burst of changes goes
 * on; the steps after the configuration wait for it and the tunnel is not recorded (it stays
 * dirty, without backoff, and a later pass pushes it).
 */
export type Outcome = { kind: 'done' } | { kind: 'deferred' } | { kind: 'failed'; error: ProviderError | Error };

export interface Work {
  tunnel: TunnelRow;
  routes: RouteRow[];
  outcome: Outcome | null;
}

export const live = (w: Work) => !w.tunnel.deleting;
export const routeLive = (w: Work, r: RouteRow) => !w.tunnel.deleting && !r.deleting;

/** The first failure of a pass is the one recorded; later steps skip a failed tunnel. */
export function fail(w: Work, error: unknown) {
  if (w.outcome?.kind === 'failed') return;
  w.outcome = { kind: 'failed', error: error instanceof Error ? error : new Error(String(error)) };
}
