/**
 * The HTTP server: Fastify with schema-validated routes, one authentication hook, one error
 * mapper, metrics, and the OpenAPI document. Routes are thin: schema, auth, one service call.
 */
import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger } from 'pino';
import { AppError, type ErrorCode } from '../domain/errors.js';
import { isUnavailable, type EventsRepository } from '../store/index.js';
import type { Authenticated, Authenticator } from './auth.js';
import { createBuckets } from './buckets.js';
import type { TunnelService } from './tunnel-service.js';
import type { RouteService } from './route-service.js';
import type { AccountService } from './account-service.js';
import type { Waits } from './waits.js';
import type { InCluster } from './presenters.js';
import { createHttpMetrics, type MetricsRegistry } from './metrics.js';
import { registerTunnelRoutes } from './routes-tunnels.js';
import { registerAccountRoutes } from './routes-account.js';
import { registerAdminRoutes } from './routes-admin.js';
import { registerPocRoutes } from './routes-poc.js';

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
}

/** What the HTTP layer calls: built by the composition root (src/main/runtime.ts), never here. */
export interface AppServices {
  auth: Authenticator;
  tunnels: TunnelService;
  routes: RouteService;
  accounts: AccountService;
  waits: Waits;
}

export interface AppDeps {
  services: AppServices;
  /** The audit trail of refused requests. */
  events: Pick<EventsRepository, 'append'>;
  /** Cheap database liveness query for /readyz. */
  ping: () => Promise<void>;
  logger: Logger;
  metrics: MetricsRegistry;
  config: AppConfig;
  /** Extra readiness checks (Cloudflare reachable…); the store is always checked. */
  readiness?: () => Promise<string | null>;
  https?: { cert: string | Buffer; key: string | Buffer };
}

export function errorBody(
  requestId: string,
  code: ErrorCode,
  message: string,
  details: Record<string, unknown> = {},
) {
  return { error: { code, message, details, requestId } };
}

/** What Node's parser refused before Fastify saw a request: answered on the socket, then closed. */
function clientErrorAnswer(err: { code?: string; bytesParsed?: number; rawPacket?: unknown }) {
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    // The request line did not end before the limit: the URL alone is too long.
    const raw = err.rawPacket;
    const head = Buffer.isBuffer(raw) ? raw.toString('latin1', 0, Math.min(raw.length, 64 * 1024)) : '';
    const eol = head.indexOf('\r\n');
    if (/^[A-Z]+ \//.test(head) && (eol < 0 || eol >= (err.bytesParsed ?? 0)))
      return {
        status: 414,
        code: 'request.uri_too_long',
        message: 'The URL is longer than 16 KiB.',
      } as const;
    return {
      status: 431,
      code: 'request.headers_too_large',
      message: 'The request line and headers are larger than 16 KiB.',
    } as const;
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return { status: 408, code: 'request.timeout', message: 'The request did not arrive in time.' } as const;
  return { status: 400, code: 'request.invalid', message: 'The request is not valid HTTP.' } as const;
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
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: true } },
    // Off unless configured: a client's own X-Forwarded-For must never choose its address.
    ...(trustProxy ? { trustProxy: trustProxy === true ? true : [...trustProxy] } : {}),
    // What the router refuses before any route (a path segment over 100 characters, a URL that
    // does not decode) gets the error body of every other answer.
    frameworkErrors: (err, req, reply) => {
      const [status, code, message]: [number, ErrorCode, string] =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? [414, 'request.uri_too_long', 'A path segment is longer than 100 characters.']
          : err.code === 'FST_ERR_BAD_URL'
            ? [400, 'request.invalid', 'The URL is not valid.']
            : [500, 'internal', 'Internal error; the server log has the details under this requestId.'];
      if (status === 500) req.log.error({ err, reqId: req.id }, 'request failed');
      req.errorCode = code;
      void (reply as FastifyReply).status(status).send(errorBody(req.id, code, message));
    },
    // Requests Node's parser refuses (headers or URL over 16 KiB, not HTTP, too slow) never reach
    // Fastify: answered here on the socket, in the same body, and the connection closed.
    clientErrorHandler: (err, socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const { status, code, message } = clientErrorAnswer(err);
      const body = JSON.stringify(errorBody(newRequestId(), code, message));
      // As Node does: never into the middle of an answer already under way on this connection.
      const answering = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
      if (socket.writable && !answering?.headersSent)
        socket.write(
          `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      socket.destroy();
    },
    ...(deps.https ? { https: deps.https } : {}),
  }) as unknown as FastifyInstance;

  const { auth, tunnels, waits } = deps.services;
  const mutations = createBuckets(deps.config.mutations ?? { perMinute: 0, burst: 1 });
  const refusals = createBuckets({
    perMinute: deps.config.events?.refusedPerMinute ?? 10,
    burst: deps.config.events?.refusedPerMinute ?? 10,
  });
  /** Per user: refused changes not written to the audit trail since the last that was. */
  const unrecorded = new Map<string, { actor: string; count: number }>();
  const httpMetrics = createHttpMetrics(deps.metrics);
  httpMetrics.viewCache(tunnels.views.stats);

  app.decorateRequest('auth', null);
  app.decorateRequest('errorCode', null);
  // JSON only: a text body is refused with 415, not parsed and then refused by the schema.
  app.removeContentTypeParser('text/plain');

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Tunnelplane API',
        version: deps.config.version,
        description:
          'Self-hosted control plane for Cloudflare Tunnels. Authenticate with HTTP Basic or a bearer API token.',
      },
      components: {
        securitySchemes: {
          basic: { type: 'http', scheme: 'basic' },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ basic: [] }, { bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.addHook('onRequest', async (req) => {
    const cfg = req.routeOptions.config;
    const url = req.routeOptions.url ?? '';
    if (cfg?.public || url.startsWith('/docs') || url === '/openapi.json' || !req.routeOptions.url) return;
    req.auth = await auth.authenticate(req.headers.authorization, req.ip);
    if (cfg?.admin && req.auth.user.role !== 'admin') {
      throw new AppError('auth.forbidden', 'This path is for administrators.');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
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
  });

  app.addHook('onResponse', async (req, reply) => {
    httpMetrics.observe(
      req.method,
      req.routeOptions.url ?? 'unknown',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
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
      await deps.events
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
        .catch((err: Error) => req.log.warn({ err: err.message }, 'could not record an audit event'));
    }
  });

  app.setErrorHandler(
    async (err: FastifyError | AppError | Error, req: FastifyRequest, reply: FastifyReply) => {
      req.errorCode =
        err instanceof AppError
          ? err.code
          : (err as FastifyError).validation
            ? 'request.invalid'
            : ((err as FastifyError).code ?? 'internal');
      if (err instanceof AppError) {
        if (err.status === 401)
          reply.header('www-authenticate', 'Basic realm="tunnelplane", charset="UTF-8"');
        if (err.status === 503 || err.status === 429)
          reply.header('retry-after', String(err.details.retryAfterSeconds ?? 1));
        return reply.status(err.status).send(errorBody(req.id, err.code, err.message, err.details));
      }
      const fe = err as FastifyError;
      if (fe.validation) {
        const issues = fe.validation.map((v) => ({
          where: fe.validationContext ?? 'request',
          path: v.instancePath || (v.params as { missingProperty?: string })?.missingProperty || '',
          message: v.message ?? 'invalid',
        }));
        const first = issues[0];
        const what = first
          ? `${first.where}${first.path ? ` ${first.path}` : ''} ${first.message}`
          : 'invalid request';
        return reply
          .status(400)
          .send(errorBody(req.id, 'request.invalid', `Invalid request: ${what}.`, { issues }));
      }
      switch (fe.code) {
        case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
          return reply
            .status(415)
            .send(
              errorBody(
                req.id,
                'request.unsupported_media_type',
                `Send the body as application/json (got ${req.headers['content-type'] ?? 'nothing'}).`,
              ),
            );
        case 'FST_ERR_CTP_BODY_TOO_LARGE':
          return reply
            .status(413)
            .send(errorBody(req.id, 'request.too_large', 'The body is larger than 64 KiB.'));
        case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        case 'FST_ERR_CTP_INVALID_JSON_BODY':
          return reply.status(400).send(errorBody(req.id, 'request.invalid', 'The body is not valid JSON.'));
      }
      if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
        return reply.status(fe.statusCode).send(errorBody(req.id, 'request.invalid', fe.message));
      }
      if (isUnavailable(err)) {
        // The database is away (restarting, unreachable): say so, and when to try again; it is not this request's fault.
        req.errorCode = 'database.unavailable';
        req.log.warn({ err: err.message, reqId: req.id }, 'database unavailable');
        reply.header('retry-after', '2');
        return reply
          .status(503)
          .send(
            errorBody(
              req.id,
              'database.unavailable',
              'The database is not reachable right now; try again in a few seconds.',
            ),
          );
      }
      req.log.error({ err, reqId: req.id, url: req.url, method: req.method }, 'request failed');
      return reply
        .status(500)
        .send(
          errorBody(
            req.id,
            'internal',
            'Internal error; the server log has the details under this requestId.',
          ),
        );
    },
  );

  app.setNotFoundHandler(async (req, reply) =>
    reply
      .status(404)
      .send(
        errorBody(
          req.id,
          'route.unknown_path',
          `No such path: ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}.`,
        ),
      ),
  );

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
  const flushUnrecorded = async () => {
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
  };
  const flushTimer = setInterval(() => void flushUnrecorded(), 60_000);
  flushTimer.unref();
  app.addHook('preClose', async () => {
    closing = true;
    waits.shutdown();
  });
  app.addHook('onClose', async () => {
    clearInterval(flushTimer);
    await flushUnrecorded();
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  const api = {
    tunnels,
    routes: deps.services.routes,
    accounts: deps.services.accounts,
    inCluster: deps.config.inCluster,
  };
  app.register(
    async (v1) => {
      registerAccountRoutes(v1, api);
      registerTunnelRoutes(v1, api);
      registerAdminRoutes(v1, api);
    },
    { prefix: '/api/v1' },
  );
  registerPocRoutes(app, { tunnels, routes: deps.services.routes });

  await app.ready();
  return app;
}
