/**
 * The HTTP server: `buildApp` puts together Fastify with schema-validated routes, the request
 * hooks (request-hooks.ts: authentication, pacing, the audit of refusals), the one error mapper
 * (error-mapper.ts), metrics, health and readiness, the OpenAPI document (openapi.ts), and shutdown. Routes
 * are thin: schema, auth, one service call.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import cookie from '@fastify/cookie';
import type { Logger } from 'pino';
import type { EventsRepository } from '../store/index.js';
import type { Authenticated, Authenticator } from './auth.js';
import {
  answerFrameworkError,
  createClientErrorHandler,
  handleError,
  handleNotFound,
} from './error-mapper.js';
import { createAuthHook, createRefusalAudit } from './request-hooks.js';
import { describeOperation, swaggerOptions } from './openapi.js';
import { errorEnvelopeSchema } from './schemas.js';
import type { TunnelService } from './tunnel-service.js';
import type { RouteService } from './route-service.js';
import type { AccountService } from './account-service.js';
import type { AdminService } from './admin-service.js';
import type { SsoService } from './sso-service.js';
import { registerSsoRoutes } from './routes-sso.js';
import { sharedSerializers } from './serializers.js';
import { createEventStream } from './event-stream.js';
import type { Waits } from './waits.js';
import type { InCluster } from './presenters.js';
import { createHttpMetrics, type MetricsRegistry } from './metrics.js';
import { registerTunnelRoutes } from './routes-tunnels.js';
import { registerIdempotency, type IdempotencyOptions } from './idempotency.js';
import { registerAccountRoutes } from './routes-account.js';
import { registerAdminRoutes } from './routes-admin.js';
import { registerPocRoutes } from './routes-poc.js';
import { registerConsole } from './console.js';
import { registerWebhookRoutes } from './routes-webhooks.js';
import type { WebhookService } from './webhook-service.js';
import type { ZoneService } from './zone-service.js';
import { registerZoneRoutes } from './routes-zones.js';

export { errorBody } from './error-mapper.js';

declare module 'fastify' {
  interface FastifyRequest {
    auth: Authenticated | null;
    /** The error code answered, for the audit trail of refused mutations. */
    errorCode: string | null;
  }
  interface FastifyContextConfig {
    /** Reachable without credentials. */
    public?: boolean;
    /** Only admins. */
    admin?: boolean;
  }
}

export interface AppConfig {
  version: string;
  /** Where TCP routes are reachable in the cluster; null without Kubernetes. */
  inCluster: InCluster;
  /** Changes per user (0 per minute: no limit). */
  mutations?: { perMinute: number; burst: number };
  /** Refused changes a user leaves in the audit trail per minute; more are counted into one event. */
  events?: { refusedPerMinute: number };
  /**
   * Whose `X-Forwarded-For` gives `req.ip` (the address sign-in throttling counts): nobody
   * (default), every hop, or the proxies' addresses / CIDR ranges (`listen.trustProxy`).
   */
  trustProxy?: boolean | readonly string[];
  /** Sign-in: where browsers reach the server, whether passwords are accepted, Secure cookies. */
  identity?: { publicUrl: string; passwordSignIn: boolean; secureCookies: boolean };
  /** Where the built web console is (default: dist/web beside the entrypoints, or the checkout's). */
  console?: { root?: string };
}

/** What the HTTP layer calls: built by the composition root (src/main/services.ts), never here. */
export interface AppServices {
  auth: Authenticator;
  tunnels: TunnelService;
  routes: RouteService;
  accounts: AccountService;
  admin: AdminService;
  sso: SsoService;
  waits: Waits;
  webhooks: WebhookService;
  zones: ZoneService;
}

export interface AppDeps {
  services: AppServices;
  /** The audit trail: refused requests are appended; the event stream reads what is new. */
  events: Pick<EventsRepository, 'append' | 'after' | 'latestId'>;
  /** Cheap database liveness query for /readyz. */
  ping: () => Promise<void>;
  logger: Logger;
  metrics: MetricsRegistry;
  config: AppConfig;
  /** Extra readiness checks (Cloudflare reachable…); the store is always checked. */
  readiness?: () => Promise<string | null>;
  https?: { cert: string | Buffer; key: string | Buffer };
  /** Where POSTs' `Idempotency-Key` answers are kept; none: the header is ignored. */
  idempotency?: IdempotencyOptions;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const requestIdPrefix = `${randomBytes(6).toString('hex')}-`;
  let requestCount = 0;
  const newRequestId = () => `req-${requestIdPrefix}${(++requestCount).toString(36)}`;
  const trustProxy = deps.config.trustProxy;
  const app = Fastify({
    loggerInstance: deps.logger,
    // Request lines would repeat what /metrics counts; errors are logged once, in the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // Unique across replicas and restarts without a call into the CSPRNG per request (which
    // cost ~9 % of a cached list request): a random prefix per process, then a counter.
    genReqId: newRequestId,
    // No child logger per request (pino serialises a child's bindings as it is made, ~2 % of a
    // cached read): the lines the API logs name their request id themselves (error-mapper.ts).
    childLoggerFactory: (logger) => logger,
    // One compiled serializer per distinct response schema, not per route and status.
    schemaController: { compilersFactory: { buildSerializer: sharedSerializers as never } },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: true } },
    // Off unless configured: a client's own X-Forwarded-For must never choose its address.
    ...(trustProxy ? { trustProxy: trustProxy === true ? true : [...trustProxy] } : {}),
    // What the router refuses before any route gets the error body of every other answer.
    frameworkErrors: (err, req, reply) => answerFrameworkError(err, req, reply as FastifyReply),
    // And so does what Node's parser refuses before Fastify sees a request.
    clientErrorHandler: createClientErrorHandler(newRequestId),
    ...(deps.https ? { https: deps.https } : {}),
  }) as unknown as FastifyInstance;

  const { auth, tunnels, waits } = deps.services;
  const refusals = createRefusalAudit({
    events: deps.events,
    logger: deps.logger,
    refusedPerMinute: deps.config.events?.refusedPerMinute,
  });
  const httpMetrics = createHttpMetrics(deps.metrics);
  httpMetrics.viewCache(tunnels.views.stats);

  app.decorateRequest('auth', null);
  app.decorateRequest('errorCode', null);
  // JSON only: a text body is refused with 415, not parsed and then refused by the schema.
  app.removeContentTypeParser('text/plain');

  await app.register(swagger, swaggerOptions(deps.config.version));
  // The error envelope every error answer refers to; then what every operation shares (openapi.ts).
  app.addSchema(errorEnvelopeSchema);
  app.addHook('onRoute', describeOperation);
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.addHook('onRequest', createAuthHook(auth, deps.config.mutations));
  // Callback-style (no promise per request): only a refused change waits for its audit write.
  app.addHook('onResponse', (req, reply, done) => {
    httpMetrics.observe(
      req.method,
      req.routeOptions.url ?? 'unknown',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    const recording = refusals.record(req, reply);
    if (recording) recording.then(() => done(), done);
    else done();
  });

  if (deps.idempotency) registerIdempotency(app, deps.idempotency);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);

  app.get('/healthz', { config: { public: true }, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    try {
      await deps.ping();
    } catch {
      return reply.status(503).send({ status: 'unavailable', reason: 'database unreachable' });
    }
    const reason = deps.readiness ? await deps.readiness() : null;
    if (reason) return reply.status(503).send({ status: 'unavailable', reason });
    return { status: 'ready' };
  });
  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  // On close, requests waiting for convergence answer at once instead of holding the exit, and
  // every answer given while closing ends its connection: a keep-alive connection that goes idle
  // only after the close began would otherwise hold the exit until its keep-alive timeout.
  let closing = false;
  // Refused changes counted but not written are written as one event a minute, and at close.
  const flushTimer = setInterval(() => void refusals.flush(), 60_000);
  flushTimer.unref();
  const eventStream = createEventStream(deps.events, deps.logger);
  app.addHook('preClose', async () => {
    closing = true;
    waits.shutdown();
    // Open event streams end now: clients reconnect (to another replica) with Last-Event-ID.
    eventStream.close();
  });
  app.addHook('onClose', async () => {
    clearInterval(flushTimer);
    await refusals.flush();
  });
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  const api = {
    tunnels,
    routes: deps.services.routes,
    accounts: deps.services.accounts,
    admin: deps.services.admin,
    inCluster: deps.config.inCluster,
  };
  app.register(
    async (v1) => {
      registerAccountRoutes(v1, { ...api, eventStream });
      registerTunnelRoutes(v1, api);
      registerAdminRoutes(v1, api);
      registerWebhookRoutes(v1, { webhooks: deps.services.webhooks });
      registerZoneRoutes(v1, { zones: deps.services.zones });
    },
    { prefix: '/api/v1' },
  );
  // Before the proof of concept's `GET /`: browsers get the console there, other clients `Welcome`.
  registerConsole(app, deps.config.console ?? {});
  registerPocRoutes(app, { tunnels, routes: deps.services.routes });
  const identity = deps.config.identity ?? {
    publicUrl: 'http://127.0.0.1',
    passwordSignIn: true,
    secureCookies: false,
  };
  // Cookies are set and read by the sign-in routes alone (never signed: the session's value is a
  // random secret), so the plugin's two hooks run for them only; the auth hook reads the session
  // cookie itself, when a request has no Authorization header.
  app.register(async (signIn) => {
    await signIn.register(cookie);
    registerSsoRoutes(signIn, {
      sso: deps.services.sso,
      auth,
      accounts: deps.services.accounts,
      ...identity,
    });
  });

  await app.ready();
  return app;
}
