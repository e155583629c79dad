/**
 * Replicas: two servers on one PostgreSQL database sharing one Cloudflare budget (the rate
 * limiter reserves its slots in the database), 1,000 routes over 100 remote tunnels (the full
 * provisioning size, at every size: it takes seconds), 20 clients, client c talking to replica
 * c mod 2 (as a load balancer keeping each client's connection on one replica). The same flow,
 * emulator latency and real rate limit as `provisioning` (provisioning.ts); the figures are the
 * calls against the minimum and the 429s.
 */
import { sql } from 'kysely';
import { connectStore } from '../src/store/index.js';
import { printRun, provisioningSizes, provisionWithTunnelplane } from './provisioning.js';
import { note } from './report.js';

/** The shared budget's grants and the auth versions are not in resetPostgres's list: a previous run's must not count. */
async function clearBudget(url: string) {
  const { store, close } = await connectStore(url);
  try {
    await sql`truncate rate_grants, auth_versions`.execute(store.db);
  } finally {
    await close();
  }
}

export async function replicasBenchmark(opts: { url: string; from: string }) {
  const size = provisioningSizes.full;
  note(
    `\nreplicas: 2 servers on PostgreSQL (${opts.from}) sharing one budget, ${size.routes} routes over ${size.tunnels} remote tunnels…`,
  );
  await clearBudget(opts.url);
  const run = await provisionWithTunnelplane({ mode: 'remote', size, database: opts.url, replicas: 2 });
  printRun(
    `Two replicas on PostgreSQL, remote mode, ${size.routes} routes / ${size.tunnels} tunnels`,
    run,
    null,
  );
  note(
    `replicas: ${run.calls} calls / ${run.minimumCalls} minimum = ${run.ratio}× (target ≤ 1.02×), ${run.rateLimited} × 429`,
  );
  return {
    replicas: 2,
    routes: size.routes,
    tunnels: size.tunnels,
    calls: run.calls,
    minimumCalls: run.minimumCalls,
    ratio: run.ratio,
    rateLimited: run.rateLimited,
    seconds: run.seconds,
    byEndpoint: run.byEndpoint,
    routePhase: run.routePhase,
    tunnelPhase: run.tunnelPhase,
  };
}
