/**
 * The per-route way, for comparison: a script calling the official `cloudflare` SDK directly,
 * with no batching and no shared pacing — one tunnel create per tunnel, then per route one
 * CNAME create and (remote tunnels) one configuration PUT carrying the tunnel's routes so far.
 * `concurrency` workers share the work. The SDK's own retries are off (maxRetries 0) so every
 * 429 is seen and counted; the script then retries the way the SDK would by default (honour
 * Retry-After up to 60 s, else exponential backoff 0.5 s → 8 s with jitter), forever, until
 * the time cap, when it stops and reports how far it got.
 */
import Cloudflare, { APIError } from 'cloudflare';
import { randomBytes } from 'node:crypto';
import type { StartedCloudflareEmulator } from '../src/emulators/cloudflare/index.js';
import { countLive, emulatorView, pool, sleep, type ExpectedRoute } from './stack.js';

export interface PerRouteInput {
  cf: StartedCloudflareEmulator;
  tunnels: number;
  routes: number;
  concurrency: number;
  remote: boolean;
  capMs: number;
}

export interface PerRouteResult {
  calls: number;
  byEndpoint: Record<string, number>;
  rateLimited: number;
  tunnelsCreated: number;
  routesLive: number;
  completed: boolean;
  seconds: number;
}

class Deadline extends Error {}

/** SDK-default backoff for retry number `n` (0-based), honouring Retry-After ≤ 60 s. */
function backoffMs(err: APIError, n: number): number {
  const header = (err.headers as Headers | undefined)?.get?.('retry-after');
  const seconds = header !== null && header !== undefined ? Number(header) : Number.NaN;
  if (Number.isFinite(seconds) && seconds >= 0 && seconds <= 60) return seconds * 1000;
  const base = Math.min(0.5 * 2 ** n, 8);
  return base * (1 - Math.random() * 0.25) * 1000;
}

export async function runPerRoute(input: PerRouteInput): Promise<PerRouteResult> {
  const { cf } = input;
  const sdk = new Cloudflare({ apiToken: cf.token, baseURL: cf.url, maxRetries: 0, timeout: 60_000 });
  const tunnelsApi = sdk.zeroTrust.tunnels.cloudflared;
  const started = Date.now();
  const deadline = started + input.capMs;
  let rateLimited = 0;

  /** One call, retried on 429 like the SDK would, until the deadline. */
  async function call<T>(fn: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      if (Date.now() >= deadline) throw new Deadline();
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof APIError && err.status === 429)) throw err;
        rateLimited++;
        const wait = Math.min(backoffMs(err, n), deadline - Date.now());
        if (wait > 0) await sleep(wait);
      }
    }
  }

  const cfIds: string[] = [];
  const ingress: Array<Array<{ hostname: string; service: string }>> = Array.from(
    { length: input.tunnels },
    () => [],
  );
  const expected: ExpectedRoute[] = [];
  let stopped = false;
  /** Each worker stops at the deadline on its own, so none is still calling when we count. */
  const untilDeadline = (fn: (i: number) => Promise<void>) => async (i: number) => {
    if (stopped) return;
    try {
      await fn(i);
    } catch (err) {
      if (!(err instanceof Deadline)) throw err;
      stopped = true;
    }
  };
  await pool(
    input.tunnels,
    input.concurrency,
    untilDeadline(async (i) => {
      const t = (await call(() =>
        tunnelsApi.create({
          account_id: cf.accountId,
          name: `per-route-${i}`,
          config_src: input.remote ? 'cloudflare' : 'local',
          tunnel_secret: randomBytes(32).toString('base64'),
        }),
      )) as { id?: string };
      cfIds[i] = t.id!;
    }),
  );
  await pool(
    input.routes,
    input.concurrency,
    untilDeadline(async (j) => {
      const tunnel = j % input.tunnels;
      const cfTunnelId = cfIds[tunnel]!;
      const hostname = `r${j}-per-route-${tunnel}.${cf.zoneName}`;
      const service = `http://10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}:8080`;
      await call(() =>
        sdk.dns.records.create({
          zone_id: cf.zoneId,
          type: 'CNAME',
          name: hostname,
          content: `${cfTunnelId}.cfargotunnel.com`,
          proxied: true,
          ttl: 1,
        }),
      );
      if (input.remote) {
        ingress[tunnel]!.unshift({ hostname, service });
        const rules = [...ingress[tunnel]!, { service: 'http_status:404' }];
        await call(() =>
          tunnelsApi.configurations.update(cfTunnelId, {
            account_id: cf.accountId,
            config: { ingress: rules as Array<{ hostname: string; service: string }> },
          }),
        );
      }
      expected.push({ hostname, cfTunnelId });
    }),
  );
  const seconds = (Date.now() - started) / 1000;
  const stats = cf.control.stats();
  const view = emulatorView(cf);
  // Expected routes are only those whose calls all returned; a PUT racing another PUT of the
  // same tunnel may have dropped one, which the live count shows.
  return {
    calls: stats.total,
    byEndpoint: stats.byRoute,
    rateLimited,
    tunnelsCreated: cfIds.filter(Boolean).length,
    routesLive: countLive(view, expected, input.remote),
    completed: !stopped,
    seconds,
  };
}
