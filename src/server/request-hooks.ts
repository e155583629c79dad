/**
 * The hooks every API request passes: who it is and whether it may change things now (the
 * `onRequest` authentication, admin check and per-user pacing of mutations), and, once answered,
 * the audit of refused mutations (a few per user per minute; the rest counted into one event).
 * app.ts installs them; accepted mutations are audited by the store, with their write.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Logger } from 'pino';
import { fastifyCookie } from '@fastify/cookie';
import { timingSafeEqual } from 'node:crypto';
import { AppError } from '../domain/errors.js';
import { assertScopes, neededScope } from '../domain/scopes.js';
import type { EventsRepository } from '../store/index.js';
import type { Authenticator } from './auth.js';
import { createBuckets } from './buckets.js';

/** The cookie a browser session travels in (HttpOnly, SameSite=Lax; Secure under TLS). */
export const SESSION_COOKIE = 'tp_session';

const sameText = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * The `onRequest` hook: authenticates every request but public ones (and the OpenAPI document and
 * UI) with a Basic password, a bearer token or a session cookie; refuses non-admins on admin
 * paths and tokens without the scope a request needs; asks cookie-authenticated changes for the
 * session's CSRF token (`X-CSRF-Token`); and paces each user's changes (0 per minute: no limit).
 */
export function createAuthHook(
  auth: Pick<Authenticator, 'authenticate'>,
  pacing: { perMinute: number; burst: number } = { perMinute: 0, burst: 1 },
) {
  const mutations = createBuckets(pacing);
  return async (req: FastifyRequest) => {
    // Fastify builds `routeOptions` anew at each read: once per request.
    const { config: cfg, url } = req.routeOptions;
    if (cfg?.public || !url || url.startsWith('/docs') || url === '/openapi.json') return;
    // The plugin's parser (loaded when app.ts registers the plugin with the sign-in routes,
    // before the server is ready), with its default options, as the plugin's own hook used.
    const { authorization, cookie } = req.headers;
    const session = !authorization && cookie ? fastifyCookie.parse(cookie)[SESSION_COOKIE] : undefined;
    req.auth = await auth.authenticate(authorization, req.ip, session);
    if (cfg?.admin && req.auth.user.role !== 'admin') {
      throw new AppError('auth.forbidden', 'This path is for administrators.');
    }
    assertScopes(req.auth.scopes, neededScope(req.method, !!cfg?.admin));
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (req.auth.via === 'session') {
        const sent = req.headers['x-csrf-token'];
        if (typeof sent !== 'string' || !req.auth.csrf || !sameText(sent, req.auth.csrf))
          throw new AppError(
            'auth.csrf',
            'A change made with a session cookie needs the X-CSRF-Token header the session gave (GET /auth/session).',
          );
      }
      // Each user's changes are paced: a loop of creates and deletes cannot spend the Cloudflare budget everyone shares.
      const taken = mutations.take(req.auth.user.id);
      if (!taken.ok) {
        const seconds = Math.ceil(taken.retryAfterMs / 1000);
        throw new AppError(
          'rate.limited',
          `You are making changes faster than this server allows; retry in ${seconds} s.`,
          { retryAfterSeconds: seconds },
        );
      }
    }
  };
}

/**
 * The audit trail of refused mutations: `record` (from `onResponse`) writes up to
 * `refusedPerMinute` events per user per minute and counts the rest; `flush` writes each user's
 * count as one `audit.unrecorded` event (app.ts calls it every minute and at close).
 */
export function createRefusalAudit(deps: {
  events: Pick<EventsRepository, 'append'>;
  logger: Logger;
  refusedPerMinute?: number;
}) {
  const refusals = createBuckets({
    perMinute: deps.refusedPerMinute ?? 10,
    burst: deps.refusedPerMinute ?? 10,
  });
  /** Per user: refused changes not written to the audit trail since the last that was. */
  const unrecorded = new Map<string, { actor: string; count: number }>();

  return {
    /** Undefined when there is nothing to write (every answer but a refused change's). */
    record(req: FastifyRequest, reply: FastifyReply): Promise<void> | undefined {
      // Refused mutations are part of the audit trail too (accepted ones are recorded with their
      // write), a few per user per minute; the rest are counted into the next one that is written.
      if (req.auth && req.method !== 'GET' && req.method !== 'HEAD' && reply.statusCode >= 400) {
        const user = req.auth.user;
        if (!refusals.take(user.id).ok) {
          const u = unrecorded.get(user.id) ?? { actor: user.name, count: 0 };
          u.count++;
          unrecorded.set(user.id, u);
          return;
        }
        const suppressed = unrecorded.get(user.id)?.count ?? 0;
        unrecorded.delete(user.id);
        return deps.events
          .append({
            ownerId: user.id,
            actor: user.name,
            action: `${req.method} ${req.routeOptions.url ?? 'unknown'}`,
            target: req.url.split('?')[0]!.slice(0, 200),
            outcome: 'error',
            details: {
              status: reply.statusCode,
              code: req.errorCode,
              requestId: req.id,
              ...(suppressed ? { unrecordedBefore: suppressed } : {}),
            },
          })
          .then(
            () => undefined,
            (err: Error) =>
              req.log.warn({ err: err.message, reqId: req.id }, 'could not record an audit event'),
          );
      }
      return undefined;
    },

    /** Refused changes counted but not written, written as one event per user. */
    async flush() {
      const pending = [...unrecorded];
      unrecorded.clear();
      for (const [ownerId, { actor, count }] of pending) {
        await deps.events
          .append({
            ownerId,
            actor,
            action: 'audit.unrecorded',
            target: actor,
            outcome: 'error',
            details: { refusedRequests: count },
          })
          .catch((err: Error) => deps.logger.warn({ err: err.message }, 'could not record an audit event'));
      }
    },
  };
}

type RouteHookName = 'onRequest' | 'preHandler' | 'onSend' | 'onResponse';

/**
 * Adds hooks to the routes registered after this call that `applies` picks (by method and URL),
 * after any hooks they declare themselves: the other routes' requests pay nothing for them.
 */
export function hookRoutesWhere(
  app: FastifyInstance,
  applies: (methods: string[], url: string) => boolean,
  hooks: Partial<Record<RouteHookName, unknown>>,
) {
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!applies(methods, route.url)) return;
    const target = route as unknown as Record<RouteHookName, unknown>;
    for (const [name, hook] of Object.entries(hooks) as Array<[RouteHookName, unknown]>) {
      const existing = target[name];
      target[name] = [
        ...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]),
        hook,
      ];
    }
  });
}
