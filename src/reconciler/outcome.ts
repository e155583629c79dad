/**
 * How a pass ends for one tunnel, decided from the state itself: a tunnel is converged only
 * when every route is finished (live ones published and protected, deleted ones gone, blocked
 * ones marked) and its configuration is current. Whatever is left unfinished without an error
 * of its own is retried like a failure, so nothing acknowledged can ever be recorded done
 * while undone. Pure; tested in outcome.test.ts.
 */
import { ProviderError } from '../domain/errors.js';
import type { RouteErrorCode } from '../domain/error-catalogue.js';
import { isTcpLike, type Route } from '../domain/model.js';
import type { RouteErrorRecord, TunnelOutcome } from '../store/index.js';
import { configCurrent } from './steps/config.js';
import { accessGone, protectedNow } from './protection.js';
import { routeLive, type Work } from './work.js';

/** A live route is finished: its record exists and is certain, it is protected, and its pods (if any) applied. */
export function routeFinished(r: Route, kubernetesEnabled: boolean): boolean {
  const o = r.objects;
  return (
    !!o.dnsRecordId &&
    !o.dnsUncertain &&
    protectedNow(r) &&
    (!isTcpLike(r) || !kubernetesEnabled || o.k8sHash !== null)
  );
}

/** A deleted route is gone outside: no record, no Access object, no pods (or none can be). */
export function routeGone(r: Route, kubernetesEnabled: boolean): boolean {
  const o = r.objects;
  return (
    !o.dnsRecordId &&
    !o.dnsUncertain &&
    accessGone(r) &&
    (!isTcpLike(r) || !kubernetesEnabled || o.k8sRemoved)
  );
}

export interface Decided {
  /** What to record; null: nothing (deleted, or put off). */
  outcome: TunnelOutcome | null;
  /** The error that made it fail (for logs and events). */
  error: Error | null;
  /** Retryable failures back off; a non-retryable one sets phase `error` (retried at the longest backoff). */
  terminal: boolean;
  retryAfterMs: number | null;
  /** Why a tunnel with no error is not converged (a step did not run for it). */
  unfinished: string[];
}

const codeOf = (err: Error): string | null =>
  err instanceof ProviderError
    ? `${err.provider}.${err.kind}`
    : (((err as { code?: unknown }).code as string | null) ?? null);
const isTerminal = (err: Error) => err instanceof ProviderError && !err.retryable;

export function decide(
  w: Work,
  kubernetesEnabled: boolean,
  retryInMs: (retryAfterMs: number | null) => number,
): Decided {
  const none: Decided = { outcome: null, error: null, terminal: false, retryAfterMs: null, unfinished: [] };
  if (w.done || w.deferred) return none;
  const ready: string[] = [];
  const gone: Route[] = [];
  const routeErrors: RouteErrorRecord[] = [];
  const unfinished: string[] = [];
  for (const r of w.routes) {
    const failure = w.routeFailures.get(r.id);
    const blocked = w.blocked.get(r.id);
    if (!routeLive(w, r)) {
      if (routeGone(r, kubernetesEnabled) && !failure) gone.push(r);
      else if (!failure) unfinished.push(`route ${r.name} is not deleted yet`);
      // A deletion that fails says why on the route too (it stays `deleting`).
      else
        routeErrors.push({
          routeId: r.id,
          message: failure.message,
          code: codeOf(failure),
          phase: 'pending',
          deleting: true,
        });
      continue;
    }
    if (blocked)
      routeErrors.push({ routeId: r.id, message: blocked.message, code: blocked.code, phase: 'error' });
    else if (failure)
      routeErrors.push({
        routeId: r.id,
        message: failure.message,
        code: codeOf(failure),
        phase: isTerminal(failure) ? 'error' : 'pending',
      });
    else if (routeFinished(r, kubernetesEnabled)) ready.push(r.id);
    else unfinished.push(`route ${r.name} is not live yet`);
  }
  if (w.tunnel.deleting && !w.failure) unfinished.push('the tunnel is not deleted yet');
  else if (!w.tunnel.deleting && !w.tunnel.cfTunnelId && !w.failure)
    unfinished.push('the Cloudflare tunnel does not exist yet');
  else if (!w.failure && !configCurrent(w)) unfinished.push('the remote configuration is not current');

  const failures = [...(w.failure ? [w.failure] : []), ...w.routeFailures.values()];
  const first = failures[0] ?? null;
  const base = { tunnel: w.tunnel, readyRouteIds: ready, goneRoutes: gone, routeErrors };
  if (!first && unfinished.length === 0) {
    return { ...none, outcome: { ...base, kind: 'converged' } };
  }
  const terminal = failures.some(isTerminal);
  const retryAfterMs =
    Math.max(0, ...failures.map((e) => (e instanceof ProviderError ? (e.retryAfterMs ?? 0) : 0))) || null;
  let message: string;
  let code: string | null;
  if (w.failure) {
    message = w.failure.message;
    code = codeOf(w.failure);
    // Routes with nothing of their own to say carry the tunnel's error.
    for (const r of w.routes) {
      if (routeLive(w, r) && !ready.includes(r.id) && !routeErrors.some((e) => e.routeId === r.id)) {
        routeErrors.push({ routeId: r.id, message, code, phase: terminal ? 'error' : 'pending' });
      }
    }
  } else if (first) {
    const n = w.routeFailures.size;
    message = n === 1 ? first.message : `${n} routes are failing; first: ${first.message}`;
    code = codeOf(first);
  } else {
    message = `Not finished: ${unfinished.join('; ')}.`;
    code = 'reconciler.unfinished' satisfies RouteErrorCode;
  }
  const outcome: TunnelOutcome = {
    ...base,
    kind: 'failed',
    error: { message, code, retryInMs: retryInMs(retryAfterMs), terminal },
  };
  return { outcome, error: first ?? new Error(message), terminal, retryAfterMs, unfinished };
}
