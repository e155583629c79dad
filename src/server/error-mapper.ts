/**
 * The one mapper from errors to HTTP: every refusal, whether an AppError, a schema or body
 * problem, the router's, Node's HTTP parser's, an unknown path or the database being away, is
 * answered as `{error:{code,message,details,requestId}}`, and a 500 shows no internals. An
 * error is logged once, here, where it is handled. app.ts installs these on Fastify.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type ErrorCode } from '../domain/errors.js';
import { isUnavailable } from '../store/index.js';

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

/**
 * Fastify's `frameworkErrors`: what the router refuses before any route (a path segment over 100
 * characters, a URL that does not decode) gets the error body of every other answer.
 */
export function answerFrameworkError(
  err: FastifyError,
  req: Pick<FastifyRequest, 'id' | 'log' | 'errorCode'>,
  reply: FastifyReply,
) {
  const [status, code, message]: [number, ErrorCode, string] =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? [414, 'request.uri_too_long', 'A path segment is longer than 100 characters.']
      : err.code === 'FST_ERR_BAD_URL'
        ? [400, 'request.invalid', 'The URL is not valid.']
        : [500, 'internal', 'Internal error; the server log has the details under this requestId.'];
  if (status === 500) req.log.error({ err, reqId: req.id }, 'request failed');
  req.errorCode = code;
  void reply.status(status).send(errorBody(req.id, code, message));
}

/**
 * Fastify's `clientErrorHandler`: requests Node's parser refuses (headers or URL over 16 KiB, not
 * HTTP, too slow) never reach Fastify, so they are answered on the socket, in the same body,
 * under a request id from `newRequestId`, and the connection closed.
 */
export function createClientErrorHandler(newRequestId: () => string) {
  return (err: ConnectionError, socket: Socket) => {
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
  };
}

/** Fastify's error handler: every error a hook or a route throws, mapped to its status and body. */
export async function handleError(
  err: FastifyError | AppError | Error,
  req: FastifyRequest,
  reply: FastifyReply,
) {
  req.errorCode =
    err instanceof AppError
      ? err.code
      : (err as FastifyError).validation
        ? 'request.invalid'
        : ((err as FastifyError).code ?? 'internal');
  if (err instanceof AppError) {
    // A 401's `WWW-Authenticate: Basic` makes a browser hold a script's request behind its own
    // password prompt (headless: forever). The console's requests (fetch: `Sec-Fetch-Dest:
    // empty`) get the same 401 without the challenge; a person opening an API path keeps the prompt.
    if (err.status === 401 && req.headers['sec-fetch-dest'] !== 'empty')
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
      errorBody(req.id, 'internal', 'Internal error; the server log has the details under this requestId.'),
    );
}

/** Fastify's not-found handler: an unknown path, in the same body. */
export async function handleNotFound(req: FastifyRequest, reply: FastifyReply) {
  return reply
    .status(404)
    .send(
      errorBody(
        req.id,
        'route.unknown_path',
        `No such path: ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}.`,
      ),
    );
}
