/**
 * Start-up against things that may not be up yet: the database and Cloudflare. A transient
 * fault (unreachable, 429, 5xx, a database restarting) is retried with backoff and reported as
 * what it is; only a definite refusal (a rejected token, a missing zone) stops the start.
 */
import { ProviderError } from '../domain/errors.js';
import { isUnavailable } from '../store/index.js';

export interface StartupLogger {
  warn(obj: object, msg: string): void;
}

export class StartupError extends Error {}

/**
 * Runs `fn` until it succeeds, retrying while `transient(err)` holds, at most `maxMs` in all
 * (backoff 0.5 s doubling to 15 s, never sooner than a Retry-After).
 */
export async function retryTransient<T>(
  what: string,
  fn: () => Promise<T>,
  opts: {
    transient: (err: unknown) => boolean;
    maxMs: number;
    logger: StartupLogger;
    sleep?: (ms: number) => Promise<void>;
  },
): Promise<T> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!opts.transient(err)) throw err;
      const elapsed = Date.now() - started;
      if (elapsed >= opts.maxMs) {
        throw new StartupError(
          `${what}: still failing after ${Math.round(elapsed / 1000)} s: ${(err as Error).message}`,
        );
      }
      const hinted = err instanceof ProviderError ? (err.retryAfterMs ?? 0) : 0;
      const wait = Math.min(opts.maxMs - elapsed, Math.max(hinted, Math.min(15_000, 500 * 2 ** attempt)));
      opts.logger.warn(
        { err: (err as Error).message, attempt: attempt + 1, retryInMs: wait },
        `${what}: not reachable yet; retrying`,
      );
      await sleep(wait);
    }
  }
}

/** Cloudflare did not refuse anything: it was unreachable, rate limited, or failing. */
export const cloudflareTransient = (err: unknown) => err instanceof ProviderError && err.retryable;

export const databaseTransient = (err: unknown) => isUnavailable(err);
