/**
 * How an answer, or the lack of one, becomes a value or an error: an API error body keeps its
 * stable code; anything else that is not a success (a proxy's page, the proof of concept's
 * `{message}`) gets `http.<status>`; a success that is not JSON `client.unexpected_response`; no
 * answer at all a `TunnelplaneConnectionError` with a short reason.
 */
import { TunnelplaneApiError, TunnelplaneConnectionError } from './errors.js';

/** An answer as read off the wire, before it is judged. */
export interface RawResponse {
  status: number;
  text: string;
  url: string;
  method: string;
  headers: Headers;
}

export function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function parseJson<T>(raw: RawResponse): T {
  try {
    return JSON.parse(raw.text) as T;
  } catch {
    throw new TunnelplaneApiError({
      status: raw.status,
      code: 'client.unexpected_response',
      message: `${raw.method} ${raw.url} answered ${raw.status} with a body that is not JSON; is this a Tunnelplane server?`,
      method: raw.method,
      url: raw.url,
    });
  }
}

export function apiError(raw: RawResponse): TunnelplaneApiError {
  const body = tryParse(raw.text);
  const headerId = raw.headers.get('x-request-id');
  const base = { status: raw.status, method: raw.method, url: raw.url };
  if (isObject(body) && isObject(body.error) && typeof body.error.code === 'string') {
    const e = body.error;
    return new TunnelplaneApiError({
      ...base,
      code: e.code as string,
      message: typeof e.message === 'string' ? e.message : `HTTP ${raw.status}`,
      details: isObject(e.details) ? e.details : {},
      requestId: typeof e.requestId === 'string' ? e.requestId : headerId,
    });
  }
  // The proof of concept's own shape: {"message": "Missing parameter: 'service'"}.
  if (isObject(body) && typeof body.message === 'string') {
    return new TunnelplaneApiError({
      ...base,
      code: `http.${raw.status}`,
      message: body.message,
      requestId: headerId,
    });
  }
  const snippet = raw.text.replace(/\s+/g, ' ').trim().slice(0, 120);
  return new TunnelplaneApiError({
    ...base,
    code: `http.${raw.status}`,
    message: `${raw.method} ${raw.url} answered HTTP ${raw.status}${snippet ? `: ${snippet}` : ''}`,
    requestId: headerId,
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'the host name could not be resolved',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'the server closed the connection',
  EPROTO: 'TLS handshake failed (does the server speak http rather than https?)',
};

export function connectionError(method: string, url: string, err: unknown, timedOutAfterMs: number | null) {
  if (timedOutAfterMs !== null) {
    return new TunnelplaneConnectionError({
      method,
      url,
      reason: `no answer within ${Math.round(timedOutAfterMs / 1000)} s`,
      errno: 'TIMEOUT',
      cause: err,
    });
  }
  const cause = (err as { cause?: unknown })?.cause ?? err;
  const first = (cause as { errors?: unknown[] })?.errors?.[0];
  const errno = (cause as { code?: string })?.code ?? (first as { code?: string } | undefined)?.code ?? null;
  const message = (cause as Error)?.message || (err as Error)?.message || String(err);
  let reason = errno ? REASONS[errno] : undefined;
  if (!reason && errno && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS/.test(errno))
    reason = `TLS error: ${message}`;
  return new TunnelplaneConnectionError({ method, url, reason: reason ?? message, errno, cause: err });
}
