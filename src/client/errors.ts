/**
 * What can go wrong talking to the API: the server answered with an error (`TunnelplaneApiError`,
 * carrying the API's stable `code`), or it could not be reached at all
 * (`TunnelplaneConnectionError`, carrying the URL tried). Both extend `TunnelplaneError`.
 */

export class TunnelplaneError extends Error {
  /** Method and full URL of the request that failed. */
  readonly method: string;
  readonly url: string;

  constructor(message: string, method: string, url: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TunnelplaneError';
    this.method = method;
    this.url = url;
  }
}

/**
 * The server answered with a non-success status. `code` is the API's stable dotted code
 * (`tunnel.not_found`…); when the body was not an API error body (a proxy's HTML page, the proof
 * of concept's `{message}`), `code` is `http.<status>`. A success answer the client could not
 * read has the code `client.unexpected_response`.
 */
export class TunnelplaneApiError extends TunnelplaneError {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  readonly requestId: string | null;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    details?: Record<string, unknown>;
    requestId?: string | null;
    method: string;
    url: string;
  }) {
    super(init.message, init.method, init.url);
    this.name = 'TunnelplaneApiError';
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? {};
    this.requestId = init.requestId ?? null;
  }
}

/** No HTTP answer: refused, unknown host, TLS failure, timeout. `reason` is short and human. */
export class TunnelplaneConnectionError extends TunnelplaneError {
  readonly reason: string;
  /** The system error code when there is one (`ECONNREFUSED`, `ENOTFOUND`, `TIMEOUT`…). */
  readonly errno: string | null;

  constructor(init: { method: string; url: string; reason: string; errno?: string | null; cause?: unknown }) {
    super(`Cannot reach ${init.url}: ${init.reason}`, init.method, init.url, init.cause);
    this.name = 'TunnelplaneConnectionError';
    this.reason = init.reason;
    this.errno = init.errno ?? null;
  }
}

export function isApiError(err: unknown, code?: string): err is TunnelplaneApiError {
  return err instanceof TunnelplaneApiError && (code === undefined || err.code === code);
}

export function isConnectionError(err: unknown): err is TunnelplaneConnectionError {
  return err instanceof TunnelplaneConnectionError;
}
