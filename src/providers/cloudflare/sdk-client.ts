/**
 * The one SDK client every Cloudflare call goes through: each request waits for the rate
 * limiter, then gets its own timeout, is reported to the observer, and a 429 pauses every call
 * for its Retry-After. The SDK's own retries are off: the reconciler retries with backoff, so a
 * retry never hides a "maybe applied" outcome. `guard` translates a call's failure, once.
 */
import { createClient } from 'cloudflare/tree-shakable';
// Only the resources we call: the bundled server (scripts/build.mjs) leaves the SDK's other ~1,100 out.
import { BaseTokens as AccountTokens } from 'cloudflare/resources/accounts/tokens/tokens';
import { BaseRecords } from 'cloudflare/resources/dns/records';
import { BasePhases } from 'cloudflare/resources/rulesets/phases/phases';
import { BaseRules } from 'cloudflare/resources/rulesets/rules';
import { BaseTokens as UserTokens } from 'cloudflare/resources/user/tokens/tokens';
import { BaseApplications } from 'cloudflare/resources/zero-trust/access/applications/applications';
import { BasePolicies } from 'cloudflare/resources/zero-trust/access/applications/policies';
import { BaseServiceTokens } from 'cloudflare/resources/zero-trust/access/service-tokens';
import { BaseCloudflared } from 'cloudflare/resources/zero-trust/tunnels/cloudflared/cloudflared';
import { BaseConfigurations } from 'cloudflare/resources/zero-trust/tunnels/cloudflared/configurations';
import { BaseConnections } from 'cloudflare/resources/zero-trust/tunnels/cloudflared/connections';
import { BaseZones } from 'cloudflare/resources/zones/zones';
import { parseRetryAfter, translateError } from './errors.js';
import type { RateLimiter } from './rate-limiter.js';

export interface CloudflareCallObserver {
  call?(endpoint: string, status: number | 'error', ms: number): void;
  rateLimitWait?(ms: number): void;
  rateLimited?(retryAfterMs: number): void;
}

export interface CloudflareApiOptions {
  apiToken: string;
  baseUrl?: string;
  accountId: string;
  limiter: RateLimiter;
  /** Per-call timeout; a hung call counts as a transient failure. */
  timeoutMs?: number;
  observer?: CloudflareCallObserver;
  /** Retry-After beyond this is capped (a real 429 may ask for 300 s). */
  maxRetryAfterMs?: number;
}

const ID_SEGMENT = /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

/** `POST /accounts/:id/cfd_tunnel` style names for metrics: ids folded so the label set stays small. */
export function endpointLabel(method: string, url: string): string {
  const path = new URL(url).pathname.replace(/^.*\/client\/v4/, '');
  const segments = path.split('/').map((s) => (ID_SEGMENT.test(s) ? ':id' : s));
  return `${method.toUpperCase()} ${segments.join('/')}`;
}

function createSdk(apiToken: string, baseUrl: string | undefined, pacedFetch: typeof fetch) {
  return createClient({
    resources: [
      AccountTokens,
      BaseRecords,
      BasePhases,
      BaseRules,
      UserTokens,
      BaseApplications,
      BasePolicies,
      BaseServiceTokens,
      BaseCloudflared,
      BaseConfigurations,
      BaseConnections,
      BaseZones,
    ],
    apiToken,
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    baseURL: baseUrl,
    maxRetries: 0,
    // Our fetch enforces the per-call timeout after the rate-limit wait; this one only backs it up.
    timeout: 3_600_000,
    fetch: pacedFetch,
  });
}

/** What each resource's calls are made with. */
export interface CloudflareClient {
  sdk: ReturnType<typeof createSdk>;
  accountId: string;
  /** Runs one call; whatever it throws comes out a `ProviderError` saying `what` failed. */
  guard<T>(what: string, fn: () => Promise<T>): Promise<T>;
}

export function createCloudflareClient(opts: CloudflareApiOptions): CloudflareClient {
  const { accountId, limiter, observer } = opts;
  // A real 429 blocks the token for the rest of Cloudflare's 5-minute window.
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? 300_000;

  // Every SDK request passes here: paced, timed, counted.
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const pacedFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const waited = await limiter.acquire(init?.signal ?? undefined);
    if (waited > 0) observer?.rateLimitWait?.(waited);
    // The call's own timeout starts now, after any wait for the limiter (the SDK's started before).
    const timeout = AbortSignal.timeout(timeoutMs);
    init = { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout };
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const endpoint = endpointLabel(init?.method ?? 'GET', url);
    const started = performance.now();
    try {
      const res = await fetch(input, init);
      observer?.call?.(endpoint, res.status, performance.now() - started);
      if (res.status === 429) {
        const wait = parseRetryAfter(res.headers, maxRetryAfterMs) ?? 1000;
        limiter.pause(wait);
        observer?.rateLimited?.(wait);
      }
      return res;
    } catch (err) {
      observer?.call?.(endpoint, 'error', performance.now() - started);
      throw err;
    }
  };

  return {
    sdk: createSdk(opts.apiToken, opts.baseUrl, pacedFetch as typeof fetch),
    accountId,
    async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
      try {
        return await fn();
      } catch (err) {
        throw translateError(err, what, maxRetryAfterMs);
      }
    },
  };
}
