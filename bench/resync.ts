/**
 * Resync cost: one full resync of the API benchmark's data set (quick 10,000 routes over 1,000
 * tunnels, full 100,000 over 10,000) against an emulator holding the matching Cloudflare state
 * (memory.ts's `prepare`), so it finds nothing to repair and measures the reading alone: the
 * Cloudflare calls it makes, its seconds, and the memory it takes while it runs (RSS and V8 heap
 * sampled every 10 ms, above what the process held just before), each also per 10,000 routes.
 * The server runs in this process (reconciler enabled and idle); the start-up resync is skipped
 * (its lease looks held by another replica) so the measured one is the only one.
 */
import { rmSync } from 'node:fs';
import { startCloudflareEmulator } from '../src/emulators/cloudflare/index.js';
import { datasetSizes } from './dataset.js';
import { prepare, setResyncLease } from './memory.js';
import { mib, note, printTable, round } from './report.js';
import { startBenchStack } from './stack.js';

export interface ResyncBenchResult {
  size: 'quick' | 'full';
  tunnels: number;
  routes: number;
  calls: number;
  byEndpoint: Record<string, number>;
  seconds: number;
  /** Highest RSS and V8 heap used during the resync, above what they were just before (MiB). */
  peakRssMiB: number;
  peakHeapMiB: number;
  /** The same three per 10,000 routes. */
  per10kRoutes: { calls: number; seconds: number; peakRssMiB: number };
  /** What it found (all zero on the converged data set). */
  result: Record<string, unknown>;
}

export async function resyncBenchmark(opts: { full: boolean }): Promise<ResyncBenchResult> {
  const size = opts.full ? datasetSizes.full : datasetSizes.quick;
  note(
    `\nresync: ${size.routes} routes over ${size.tunnels} tunnels in SQLite, the matching state in the emulator…`,
  );
  const p = await prepare(size);
  await setResyncLease(p.database, true);
  const cf = await startCloudflareEmulator({
    port: 0,
    zoneName: 'example.com',
    statePath: p.statePath!,
    token: p.token!,
  });
  const stack = await startBenchStack({ cf, database: p.database, secretKey: p.secretKey });
  try {
    const reconciler = stack.runtime.reconciler;
    if (!reconciler) throw new Error('resync: the runtime has no reconciler');
    await stack.runtime.store.db.deleteFrom('leases').where('name', '=', 'resync').execute();
    globalThis.gc?.();
    const before = process.memoryUsage();
    let peakRss = before.rss;
    let peakHeap = before.heapUsed;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    }, 10);
    cf.control.resetStats();
    const started = performance.now();
    let found: Record<string, unknown>;
    try {
      found = { ...(await reconciler.resync()) };
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - started) / 1000;
    const stats = cf.control.stats();
    const per = 10_000 / size.routes;
    const out: ResyncBenchResult = {
      size: opts.full ? 'full' : 'quick',
      tunnels: size.tunnels,
      routes: size.routes,
      calls: stats.total,
      byEndpoint: stats.byRoute,
      seconds: round(seconds, 2),
      peakRssMiB: round(mib(peakRss - before.rss), 1),
      peakHeapMiB: round(mib(peakHeap - before.heapUsed), 1),
      per10kRoutes: {
        calls: round(stats.total * per, 1),
        seconds: round(seconds * per, 2),
        peakRssMiB: round(mib(peakRss - before.rss) * per, 1),
      },
      result: found,
    };
    printTable(`Resync of ${size.routes} routes / ${size.tunnels} tunnels (converged)`, [
      {
        calls: out.calls,
        seconds: out.seconds,
        'peak RSS above start': `${out.peakRssMiB} MiB`,
        'peak heap above start': `${out.peakHeapMiB} MiB`,
        'per 10,000 routes': `${out.per10kRoutes.calls} calls, ${out.per10kRoutes.seconds} s, ${out.per10kRoutes.peakRssMiB} MiB`,
      },
    ]);
    printTable(
      'Resync calls by endpoint',
      Object.entries(stats.byRoute).map(([endpoint, calls]) => ({ endpoint, calls })),
    );
    const repaired = Object.entries(found).filter(
      ([k, v]) => typeof v === 'number' && v > 0 && k !== 'skipped',
    );
    if (repaired.length)
      note(`warning: the resync found drift on the seeded state: ${JSON.stringify(found)}`);
    return out;
  } finally {
    await stack.stop();
    await cf.close();
    rmSync(p.dir, { recursive: true, force: true });
  }
}
