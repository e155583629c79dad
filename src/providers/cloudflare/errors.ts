/**
 * What the SDK throws becomes a `ProviderError` here and nowhere else: its kind (retryable or
 * not), Cloudflare's status and error code, and the Retry-After to respect. Also the two answers
 * that are not failures to us: a GET of a missing object (null) and a delete of one (done).
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'cloudflare/error';
import { ProviderError } from '../../domain/errors.js';

/** Retry-After (or Cloudflare's `retry-after-ms`) in ms, at most `cap`; null when absent or unreadable. */
export function parseRetryAfter(headers: Headers | undefined, cap: number): number | null {
  if (!headers) return null;
  const ms = headers.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.min(cap, Number(ms));
  const s = headers.get('retry-after');
  if (!s) return null;
  if (Number.isFinite(Number(s))) return Math.min(cap, Number(s) * 1000);
  const date = Date.parse(s);
  return Number.isFinite(date) ? Math.min(cap, Math.max(0, date - Date.now())) : null;
}

/** Turns whatever the SDK threw into a ProviderError, once. */
export function translateError(err: unknown, what: string, maxRetryAfterMs = 60_000): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof APIConnectionTimeoutError || err instanceof APIConnectionError) {
    // Our own fetch refused the call (the rate limiter while stopping): its words, not the SDK's.
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof ProviderError)
      return new ProviderError({ ...cause, message: `${what}: ${cause.message}`, cause });
    return new ProviderError({
      provider: 'cloudflare',
      kind: 'transient',
      message: `${what}: ${err.message}`,
      cause: err,
    });
  }
  if (err instanceof APIError) {
    const status = err.status ?? null;
    const first = (err.errors as Array<{ code?: number; message?: string }> | undefined)?.[0];
    const code = first?.code ?? null;
    const text = first?.message ?? err.message;
    const message = `${what}: Cloudflare answered ${status ?? 'no status'}${code !== null ? ` (${code})` : ''}: ${text}`;
    let kind: ProviderError['kind'];
    if (status === 429) kind = 'rate_limited';
    else if (status === 404 || code === 81044) kind = 'not_found';
    else if (status === 409 || code === 81053 || code === 81054 || code === 81057 || code === 1013)
      kind = 'conflict';
    else if (status === 401 || status === 403) kind = 'permission';
    else if (status === null || status === 408 || status >= 500) kind = 'transient';
    else kind = 'invalid';
    return new ProviderError({
      provider: 'cloudflare',
      kind,
      message,
      status,
      providerCode: code,
      retryAfterMs: parseRetryAfter(err.headers as Headers | undefined, maxRetryAfterMs),
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError({
    provider: 'cloudflare',
    kind: 'transient',
    message: `${what}: ${message}`,
    cause: err,
  });
}

/** What a GET of a missing object answers: null. */
export async function orNull<T>(fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof APIError && err.status === 404) return null;
    throw err;
  }
}

/** Deleting what is already gone is done. */
export async function ignoreNotFound(fn: () => Promise<unknown>): Promise<void> {
  await orNull(fn);
}
