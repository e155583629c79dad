/**
 * Route latency: one route at a time is created through the API (remote mode, 50 ms per
 * Cloudflare call) and timed until it is live in the emulator: a proxied CNAME to the tunnel
 * and the hostname in the tunnel's remote configuration. Also records when the API call
 * itself answered (`?wait=30`: it returns once the reconciler has converged).
 */
import { note, printTable, round, summarize } from './report.js';
import { LATENCY_MS, PLAN } from './provisioning.js';
import {
  api,
  basicAuth,
  createUsers,
  emulatorView,
  REAL_RATE_LIMIT,
  sleep,
  startBenchStack,
  waitUntil,
} from './stack.js';

export const routeLatencySizes = { quick: 30, full: 200 };

export interface RouteLatencyResult {
  size: 'quick' | 'full';
  samples: number;
  latencyMs: number;
  /** Until live in the emulator. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Until the API answered (201 once converged). */
  api: { p50Ms: number; p99Ms: number; status201: number };
  /** Cloudflare calls per route (a DNS batch and a configuration PUT at best). */
  callsPerRoute: number;
}

export async function routeLatencyBenchmark(opts: { full: boolean }): Promise<RouteLatencyResult> {
  const samples = opts.full ? routeLatencySizes.full : routeLatencySizes.quick;
  note(
    `\nroute latency: ${samples} routes, one at a time, remote mode, ${LATENCY_MS} ms per Cloudflare call…`,
  );
  const stack = await startBenchStack({
    configMode: 'remote',
    emulator: { latencyMs: LATENCY_MS, rateLimit: REAL_RATE_LIMIT, plan: PLAN },
  });
  const { cf, runtime, url } = stack;
  try {
    const [user] = await createUsers(runtime.store, 1);
    const client = api(url, basicAuth(user!));
    const created = await client.request('POST', '/api/v1/tunnels?wait=30', { configMode: 'remote' });
    if (created.status !== 201)
      throw new Error(`POST /api/v1/tunnels: ${created.status} ${JSON.stringify(created.body)}`);
    const tunnel = created.body.name as string;
    const cfTunnelId = created.body.id as string;
    await sleep(300);
    cf.control.resetStats();

    const live: number[] = [];
    const answered: number[] = [];
    let status201 = 0;
    for (let i = 0; i < samples; i++) {
      // A chosen route name makes the hostname known before the answer: `<name>-<tunnel>.<zone>`.
      const name = `lat${i}`;
      const prefix = `${name}-`;
      const started = performance.now();
      const post = client
        .request('POST', `/api/v1/tunnels/${tunnel}/routes?wait=30`, {
          name,
          service: `http://10.0.${i >> 8}.${i & 255}:8080`,
        })
        .then((res) => {
          answered.push(performance.now() - started);
          if (res.status === 201) status201++;
          else if (res.status !== 202)
            throw new Error(`POST routes: ${res.status} ${JSON.stringify(res.body)}`);
          return res;
        });
      await waitUntil(
        () => {
          const view = emulatorView(cf);
          const host = [...view.cnames.keys()].find((h) => h.startsWith(prefix));
          return (
            !!host &&
            view.cnames.get(host) === `${cfTunnelId}.cfargotunnel.com` &&
            !!view.ingress.get(cfTunnelId)?.has(host)
          );
        },
        60_000,
        5,
        `route ${name} live`,
      );
      live.push(performance.now() - started);
      await post;
    }
    const callsPerRoute = round(cf.control.stats().total / samples, 2);
    const l = summarize(live);
    const a = summarize(answered);
    printTable(`Route latency, remote mode, ${samples} routes created one at a time (ms)`, [
      {
        measure: 'until live in the emulator',
        p50: round(l.p50),
        p90: round(l.p90),
        p99: round(l.p99),
        max: round(l.max),
      },
      {
        measure: 'until the API answered (?wait=30)',
        p50: round(a.p50),
        p90: round(a.p90),
        p99: round(a.p99),
        max: round(a.max),
      },
    ]);
    note(
      `Cloudflare calls per route: ${callsPerRoute}; API answers 201 (converged): ${status201}/${samples}`,
    );
    return {
      size: opts.full ? 'full' : 'quick',
      samples,
      latencyMs: LATENCY_MS,
      p50Ms: round(l.p50),
      p90Ms: round(l.p90),
      p99Ms: round(l.p99),
      maxMs: round(l.max),
      api: { p50Ms: round(a.p50), p99Ms: round(a.p99), status201 },
      callsPerRoute,
    };
  } finally {
    await stack.stop();
  }
}
