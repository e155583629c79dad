/**
 * What connector health costs: for N tunnels in the Cloudflare emulator (each with connectors),
 * the Cloudflare calls one refresh makes (the listing, 1,000 tunnels a page), its time (listing
 * and planning), and — beside the default budget (1,200 calls per 300 s) and share (5 %) — how
 * fresh health stays (the refresh interval healthIntervalMs allows) and the share of the budget
 * that freshness spends. The figures come from the real adapter and planner, not arithmetic alone.
 */
import { performance } from 'node:perf_hooks';
import { startCloudflareEmulator } from '../src/emulators/cloudflare/index.js';
import { createCloudflareApi } from '../src/providers/cloudflare/index.js';
import { createRateLimiter } from '../src/providers/cloudflare/rate-limiter.js';
import { ownership } from '../src/domain/ownership.js';
import { healthIntervalMs, planHealth, type RecordedHealth } from '../src/reconciler/health-plan.js';
import { note, round } from './report.js';

const BUDGET = { requests: 1200, windowMs: 300_000 };
const SHARE = 0.05;
const INTERVAL_MS = 60_000;

export async function healthBenchmark(o: { full: boolean }) {
  const sizes = o.full ? [1_000, 10_000] : [1_000, 3_000];
  const rows: Array<Record<string, number>> = [];
  for (const n of sizes) {
    const cf = await startCloudflareEmulator({ port: 0, zoneName: 'example.com' });
    try {
      cf.control.setRateLimit({ requests: 1_000_000, windowSeconds: 1 });
      const own = ownership('bench');
      const limiter = createRateLimiter({ requests: 1_000_000, windowSeconds: 1 });
      const api = createCloudflareApi({
        apiToken: cf.token,
        baseUrl: cf.url,
        accountId: cf.accountId,
        limiter,
      });
      // N tunnels under our prefix, each with a connector of 4 connections.
      const made: Array<{ id: string; name: string }> = [];
      for (let i = 0; i < n; i += 50) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(50, n - i) }, (_, j) =>
            api.createTunnel(own.tunnelName(`t${i + j}`), Buffer.alloc(32, 7), 'cloudflare'),
          ),
        );
        for (const t of batch) {
          cf.control.attachConnector(t.id, { connections: 4 });
          made.push({ id: t.id, name: t.name });
        }
      }
      const recorded: RecordedHealth[] = made.map((t, i) => ({
        id: `row-${i}`,
        name: t.name,
        ownerId: 'u',
        cfTunnelId: t.id,
        createdAt: new Date(Date.now() - 3_600_000).toISOString(),
        status: null,
        connections: null,
        checkedAt: null,
        since: null,
        neverConnectedReported: false,
      }));
      cf.control.resetStats();
      const t0 = performance.now();
      const listed = await api.listTunnels(own.tunnelPrefix);
      const t1 = performance.now();
      const plan = planHealth(recorded, listed, Date.now(), {
        confirmMs: 300_000,
        neverConnectedMs: 600_000,
      });
      const t2 = performance.now();
      const calls = cf.control.stats().total;
      const interval = healthIntervalMs(n, { intervalMs: INTERVAL_MS, share: SHARE, budget: BUDGET });
      const perWindow = (BUDGET.windowMs / interval) * calls;
      rows.push({
        tunnels: n,
        callsPerRefresh: calls,
        listMs: round(t1 - t0, 0),
        planMs: round(t2 - t1, 1),
        updates: plan.updates.length,
        freshnessSeconds: interval / 1000,
        budgetShare: round((perWindow / BUDGET.requests) * 100, 2),
      });
      limiter.close();
    } finally {
      await cf.close();
    }
  }
  note('\nhealth: one refresh (the listing) per N tunnels, freshness within 5 % of 1,200 calls / 300 s');
  note('  tunnels  calls/refresh  list ms  plan ms  updates  fresh (s)  budget %');
  for (const r of rows)
    note(
      `  ${String(r.tunnels).padStart(7)}  ${String(r.callsPerRefresh).padStart(13)}  ${String(r.listMs).padStart(7)}  ${String(r.planMs).padStart(7)}  ${String(r.updates).padStart(7)}  ${String(r.freshnessSeconds).padStart(9)}  ${String(r.budgetShare).padStart(8)}`,
    );
  const result = { budget: BUDGET, share: SHARE, intervalSeconds: INTERVAL_MS / 1000, runs: rows };
  return result;
}
