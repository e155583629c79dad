/**
 * One error hierarchy for the whole control plane. Every error a user can see carries a stable
 * dotted `code`, an HTTP status and safe `details`; the server maps it to the error body once.
 */

import { ERRORS, type ErrorCode } from './error-catalogue.js';

export type ErrorDetails = Record<string, unknown>;
export type { ErrorCode } from './error-catalogue.js';

/** An error a user sees: a catalogued code (error-catalogue.ts gives its status), a message, safe details. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }
}

/**
 * What an outside system (Cloudflare, Kubernetes) answered, translated once by its adapter.
 * `retryable` tells the reconciler whether trying again can help; `retryAfterMs` is the
 * server's own hint (Retry-After) when it gave one.
 */
export class ProviderError extends Error {
  readonly provider: 'cloudflare' | 'kubernetes';
  readonly kind: 'not_found' | 'conflict' | 'rate_limited' | 'transient' | 'permission' | 'invalid';
  readonly status: number | null;
  readonly providerCode: number | string | null;
  readonly retryAfterMs: number | null;

  constructor(init: {
    provider: 'cloudflare' | 'kubernetes';
    kind: ProviderError['kind'];
    message: string;
    status?: number | null;
    providerCode?: number | string | null;
    retryAfterMs?: number | null;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ProviderError';
    this.provider = init.provider;
    this.kind = init.kind;
    this.status = init.status ?? null;
    this.providerCode = init.providerCode ?? null;
    this.retryAfterMs = init.retryAfterMs ?? null;
  }

  get retryable(): boolean {
    return this.kind === 'rate_limited' || this.kind === 'transient';
  }
}
