// HTTP plumbing for the Cloudflare paths under /client/v4. Each call goes through, in order:
// global latency → rate limit (429) → fault rules → route (7003) → authentication and
// scope (9106/6003/10000) → body size (413 over 1 MiB) and JSON (6007) → handler →
// envelope. Every call is logged and counted; an oversized body is never kept. Responses are
// always `application/json`, and errors are never 2xx. Paths under /__emulator/ go to the
// control handler instead, unauthenticated and unlogged (bodies capped at 1 MiB too).
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { authenticate, authorize, bearerToken } from './auth.js';
import { CloudflareApiError, apiErrors } from './errors.js';
import type { FaultInjector } from './faults.js';
import type { RateLimiter } from './rate-limit.js';
import type { RequestLog, RequestOutcome } from './request-log.js';
import type { HandlerResult, Router, RouteMatch } from './router.js';
import type { Store } from './state.js';

export const API_PREFIX = '/client/v4';
export const CONTROL_PREFIX = '/__emulator';
/** Request bodies above this many bytes are refused with 413 and never kept. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Knobs the control API changes at run time. */
export interface ServerSettings {
  latencyMs: number;
  /** Send `x-should-retry: false` with 409s so SDK clients do not retry them. */
  noRetryOn409: boolean;
}

export type ControlHttpHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  rawBody: string,
) => void;

export interface ServerDeps {
  store: Store;
  router: Router;
  rateLimiter: RateLimiter;
  faults: FaultInjector;
  log: RequestLog;
  settings: ServerSettings;
  control: ControlHttpHandler;
}

interface Reply {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
  });
  res.end(text);
}

export function errorBody(error: CloudflareApiError): Record<string, unknown> {
  return error.fullEnvelope
    ? { success: false, errors: error.errors, messages: [], result: null }
    : { success: false, errors: error.errors };
}

function successBody(result: HandlerResult): Record<string, unknown> {
  return {
    result: result.result,
    success: true,
    errors: [],
    messages: result.messages ?? [],
    ...(result.resultInfo ? { result_info: result.resultInfo } : {}),
  };
}

/** What an injected error says when the rule gives no code or message. */
function defaultFaultCode(status: number): number {
  if (status === 429) return 971;
  return status >= 500 ? 10001 : 10000;
}

function defaultFaultMessage(status: number): string {
  if (status === 429) return 'Please wait and consider throttling your request speed';
  return status >= 500 ? 'Internal server error' : 'Injected fault';
}

function queryObject(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    out[key] = values.length === 1 ? (values[0] ?? '') : values;
  }
  return out;
}

function maskedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    out[key] = key === 'authorization' || key === 'x-auth-key' ? `…${text.slice(-4)}` : text;
  }
  return out;
}

function bodyForLog(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

export function createRequestHandler(deps: ServerDeps): RequestListener {
  const { store, router, rateLimiter, faults, log, settings } = deps;

  function dispatch(
    req: IncomingMessage,
    method: string,
    path: string,
    url: URL,
    match: RouteMatch | undefined,
    raw: string,
    bytes: number,
  ): Reply {
    try {
      if (!match) throw apiErrors.noRoute(path);
      const token = authenticate(store, req.headers, match.route.template.endsWith('/tokens/verify'));
      authorize(store, token, match.route, match.params, path);
      if (bytes > MAX_BODY_BYTES) throw apiErrors.bodyTooLarge(MAX_BODY_BYTES);
      let body: unknown;
      if (raw.trim() !== '') {
        try {
          body = JSON.parse(raw) as unknown;
        } catch {
          throw apiErrors.malformedJson();
        }
      }
      const result = match.route.handle({ params: match.params, query: url.searchParams, body, token, path });
      if (method !== 'GET') store.changed();
      return { status: result.status ?? 200, body: successBody(result), headers: {} };
    } catch (error) {
      if (error instanceof CloudflareApiError) {
        const headers: Record<string, string> =
          error.status === 409 && settings.noRetryOn409 ? { 'x-should-retry': 'false' } : {};
        return { status: error.status, body: errorBody(error), headers };
      }
      console.error('cloudflare emulator: handler failed', error);
      return {
        status: 500,
        body: {
          success: false,
          errors: [{ code: 10001, message: 'Internal server error' }],
          messages: [],
          result: null,
        },
        headers: {},
      };
    }
  }

  /** `raw` is the body text, or '' when its `bytes` exceed MAX_BODY_BYTES (then it was not kept). */
  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    raw: string,
    bytes: number,
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    if (url.pathname === CONTROL_PREFIX || url.pathname.startsWith(`${CONTROL_PREFIX}/`)) {
      if (bytes > MAX_BODY_BYTES) {
        sendJson(res, 413, {
          error: { message: `request body too large: the limit is ${MAX_BODY_BYTES} bytes` },
        });
        return;
      }
      deps.control(req, res, url, raw);
      return;
    }
    const arrived = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    const isApi = url.pathname === API_PREFIX || url.pathname.startsWith(`${API_PREFIX}/`);
    const path = isApi ? url.pathname.slice(API_PREFIX.length) || '/' : url.pathname;
    const match = isApi ? router.match(method, path) : undefined;
    const retryHeader = Number(req.headers['x-stainless-retry-count'] ?? '0');
    const finish = (status: number, outcome: RequestOutcome, faultId?: string) =>
      log.record({
        time: new Date(arrived).toISOString(),
        method,
        path,
        route: match?.route.template ?? null,
        query: queryObject(url.searchParams),
        body: bytes > MAX_BODY_BYTES ? `[request body of ${bytes} bytes not kept]` : bodyForLog(raw),
        status,
        durationMs: Date.now() - arrived,
        retryCount: Number.isFinite(retryHeader) ? retryHeader : 0,
        headers: maskedHeaders(req),
        outcome,
        ...(faultId ? { faultId } : {}),
      });

    if (settings.latencyMs > 0) await sleep(settings.latencyMs);
    const limit = rateLimiter.check(bearerToken(req.headers) ?? 'anonymous');
    if (!limit.allowed) {
      sendJson(res, 429, errorBody(apiErrors.rateLimited()), limit.headers);
      finish(429, 'response');
      return;
    }

    const fault = faults.decide(method, path);
    if (fault.latencyMs > 0) await sleep(fault.latencyMs);
    const terminal = fault.terminal;
    switch (terminal?.action.type) {
      case 'error': {
        const { status, code, message, body, retryAfter, headers } = terminal.action;
        const payload = body ?? {
          success: false,
          errors: [
            { code: code ?? defaultFaultCode(status), message: message ?? defaultFaultMessage(status) },
          ],
          messages: [],
          result: null,
        };
        sendJson(res, status, payload, {
          ...limit.headers,
          ...(retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {}),
          ...headers,
        });
        finish(status, 'response', terminal.ruleId);
        return;
      }
      case 'hang':
        finish(0, 'hang', terminal.ruleId);
        return; // the socket stays open until the client gives up or the server closes
      case 'reset':
        req.socket.destroy();
        finish(0, 'reset', terminal.ruleId);
        return;
      default:
        break;
    }

    const reply = dispatch(req, method, path, url, match, raw, bytes);
    if (terminal?.action.type === 'drop-after-write') {
      req.socket.destroy();
      finish(reply.status, 'dropped-after-write', terminal.ruleId);
      return;
    }
    sendJson(res, reply.status, reply.body, { ...limit.headers, ...reply.headers });
    finish(reply.status, 'response');
  }

  return (req, res) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes <= MAX_BODY_BYTES) chunks.push(chunk);
      else chunks.length = 0; // read to the end, keep nothing
    });
    req.on('error', () => req.socket.destroy());
    req.on('end', () => {
      const raw = bytes > MAX_BODY_BYTES ? '' : Buffer.concat(chunks).toString('utf8');
      handle(req, res, raw, bytes).catch((error: unknown) => {
        console.error('cloudflare emulator: request failed', error);
        if (!res.headersSent)
          sendJson(res, 500, {
            success: false,
            errors: [{ code: 10001, message: 'Internal server error' }],
            messages: [],
            result: null,
          });
      });
    });
  };
}
