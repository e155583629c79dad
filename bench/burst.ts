/**
 * A burst longer than `configMaxDelaySeconds`: routes posted over 15 s to remote tunnels made
 * just before, against a budget the minimum needs two windows of. Quick: 1,000 routes over 100
 * tunnels with Cloudflare's budget scaled down tenfold (120 calls per 30 s, emulator and server
 * alike), so it takes about a minute; full: 10,000 routes over 1,000 tunnels at the real budget
 * (1,200 per 300 s; the emulator's Pro record quota raised for the run, as provisioning-scale
 * does). The figures: calls against the minimum, configuration PUTs against the tunnels, 429s,
 * and the seconds from the first call until every route is live, in rate-limit windows (the
 * target: within two).
 */
import { planLimits } from '../src/emulators/cloudflare/plans.js';
import { minimumCalls, printRun, provisionWithTunnelplane } from './provisioning.js';
import { note, round } from './report.js';
import { REAL_RATE_LIMIT } from './stack.js';

const PUT = 'PUT /accounts/:account/cfd_tunnel/:tunnel/configurations';

export async function burstBenchmark(opts: { full: boolean }) {
  const size = opts.full
    ? { routes: 10_000, tunnels: 1000, clients: 20, perRouteCapMs: 0 }
    : { routes: 1000, tunnels: 100, clients: 20, perRouteCapMs: 0 };
  const rateLimit = opts.full ? REAL_RATE_LIMIT : { requests: 120, windowSeconds: 30 };
  const postOverSeconds = 15;
  note(
    `\nburst: ${size.routes} routes over ${size.tunnels} remote tunnels posted over ${postOverSeconds} s, budget ${rateLimit.requests} calls per ${rateLimit.windowSeconds} s (minimum ${minimumCalls(size.routes, size.tunnels, 'remote')} calls: two windows)…`,
  );
  const limits = planLimits.pro as { recordQuota: number };
  const quota = limits.recordQuota;
  limits.recordQuota = Math.max(quota, 2 * size.routes);
  try {
    const run = await provisionWithTunnelplane({
      mode: 'remote',
      size,
      rateLimit,
      postOverSeconds,
      timeoutMs: 40 * 60_000,
    });
    printRun(`Burst, remote mode, ${size.routes} routes / ${size.tunnels} tunnels`, run, null);
    const windows = round(run.totalSeconds / rateLimit.windowSeconds, 2);
    const puts = run.byEndpoint[PUT] ?? 0;
    note(
      `burst: ${run.calls} calls / ${run.minimumCalls} minimum = ${run.ratio}×, ${puts} configuration PUTs for ${size.tunnels} tunnels, ${run.rateLimited} × 429; all live ${run.totalSeconds} s after the first call = ${windows} windows (target ≤ 2)`,
    );
    return {
      size: opts.full ? 'full' : 'quick',
      routes: size.routes,
      tunnels: size.tunnels,
      rateLimit,
      postOverSeconds,
      routePostSeconds: run.routePhase.postSeconds,
      calls: run.calls,
      minimumCalls: run.minimumCalls,
      ratio: run.ratio,
      configurationPuts: puts,
      rateLimited: run.rateLimited,
      secondsFromFirstCall: run.totalSeconds,
      windows,
      withinTwoWindows: windows <= 2,
      byEndpoint: run.byEndpoint,
    };
  } finally {
    limits.recordQuota = quota;
  }
}
