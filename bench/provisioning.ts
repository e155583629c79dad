/**
 * Provisioning: 20 concurrent clients create N routes over M tunnels through the API, against
 * the emulator with 50 ms latency per call and Cloudflare's real rate limit (1,200 / 300 s).
 * Counts every Cloudflare call after start-up by endpoint, compares it with the theoretical
 * minimum, times how long until every route is live in the emulator, and does the same
 * workload the per-route way (the SDK called directly) for a side-by-side ratio.
 */
import { startCloudflareEmulator, type EmulatorStats } from '../src/emulators/cloudflare/index.js';
import { planLimits } from '../src/emulators/cloudflare/plans.js';
import { runPerRoute, type PerRouteResult } from './per-route.js';
import { note, printFigures, printTable, round } from './report.js';
import {
  api,
  basicAuth,
  byEndpoint,
  countLive,
  createUsers,
  emulatorView,
  pool,
  REAL_RATE_LIMIT,
  resetPostgres,
  settle,
  sleep,
  startBenchStack,
  type BenchStack,
  waitUntil,
  type ExpectedRoute,
} from './stack.js';

export type Mode = 'remote' | 'local';

export interface ProvisioningSize {
  routes: number;
  tunnels: number;
  clients: number;
  /** Cap on the per-route script's run time. */
  perRouteCapMs: number;
}

export const provisioningSizes: Record<'quick' | 'full', ProvisioningSize> = {
  quick: { routes: 200, tunnels: 20, clients: 20, perRouteCapMs: 60_000 },
  full: { routes: 1000, tunnels: 100, clients: 20, perRouteCapMs: 360_000 },
};

/** The scale run (full only): ~2,050 calls against a 1,200-call budget, so it must wait for the window. */
export const scaleSize: ProvisioningSize = { routes: 10_000, tunnels: 1000, clients: 20, perRouteCapMs: 0 };

export const LATENCY_MS = 50;
/**
 * A Free zone holds 200 DNS records (zones created since 2024-09), so 1,000 routes need a paid
 * zone: Pro holds 3,500. Tunnelplane keeps its default batch size of 200 operations.
 */
export const PLAN = 'pro' as const;
/** The DNS batch endpoint's limit on the Free plan (the emulator's default zone). */
export const DNS_BATCH_LIMIT = 200;

export function minimumCalls(routes: number, tunnels: number, mode: Mode): number {
  return tunnels + Math.ceil(routes / DNS_BATCH_LIMIT) + (mode === 'remote' ? tunnels : 0);
}

export interface TunnelplaneRun {
  mode: Mode;
  database: 'sqlite' | 'postgres';
  routes: number;
  tunnels: number;
  clients: number;
  /** Start-up calls (token verify, zone lookup, initial resync): not counted below. */
  startupCalls: number;
  startupByEndpoint: Record<string, number>;
  /** Every call after start-up: tunnel phase + route phase. */
  calls: number;
  byEndpoint: Record<string, number>;
  minimumCalls: number;
  ratio: number;
  tunnelPhase: { seconds: number; calls: number; byEndpoint: Record<string, number> };
  routePhase: {
    postSeconds: number;
    calls: number;
    minimumCalls: number;
    ratio: number;
    byEndpoint: Record<string, number>;
  };
  /** From the first route POST until every route is live in the emulator. */
  seconds: number;
  /** Tunnel phase + route phase, wall time. */
  totalSeconds: number;
  rateLimited: number;
  /** Each 429: seconds after the first call of the run (the start-up token verify, which opened the emulator's window), and the route. */
  rateLimitedCalls: Array<{ secondsAfterFirstCall: number; endpoint: string }>;
  routesLive: number;
  /** A full resync afterwards (drift check), in calls: what the periodic resync costs at this size. */
  resyncCalls: number | null;
  resyncByEndpoint: Record<string, number> | null;
}

function diffStats(
  after: EmulatorStats,
  before: EmulatorStats | null,
): { total: number; byRoute: Record<string, number>; rateLimited: number } {
  const byRoute: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.byRoute)) {
    const d = v - (before?.byRoute[k] ?? 0);
    if (d > 0) byRoute[k] = d;
  }
  return {
    total: after.total - (before?.total ?? 0),
    byRoute,
    rateLimited: after.rateLimited - (before?.rateLimited ?? 0),
  };
}

const sortEndpoints = (m: Record<string, number>) =>
  Object.fromEntries(Object.entries(m).sort((a, b) => b[1] - a[1]));

/** One Tunnelplane run: start the stack, create the tunnels, then the routes, wait until all are live. */
export async function provisionWithTunnelplane(opts: {
  mode: Mode;
  size: ProvisioningSize;
  database?: string;
  measureResync?: boolean;
  timeoutMs?: number;
  /** Servers on the same database and emulator (default 1); client c talks to server c mod N. */
  replicas?: number;
  /** The emulator's and the server's budget; default Cloudflare's real one. */
  rateLimit?: { requests: number; windowSeconds: number };
  /** Route j is posted no sooner than j/N of this after the first (default: as fast as they go). */
  postOverSeconds?: number;
}): Promise<TunnelplaneRun> {
  const { mode, size } = opts;
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  if (opts.database?.startsWith('postgres')) await resetPostgres(opts.database);
  const stack = await startBenchStack({
    configMode: mode,
    ...(opts.database ? { database: opts.database } : {}),
    emulator: { latencyMs: LATENCY_MS, rateLimit: opts.rateLimit ?? REAL_RATE_LIMIT, plan: PLAN },
    ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}),
  });
  const { cf, runtime, url } = stack;
  const others: BenchStack[] = [];
  try {
    for (let i = 1; i < (opts.replicas ?? 1); i++)
      others.push(
        await startBenchStack({
          cf,
          configMode: mode,
          ...(opts.database ? { database: opts.database } : {}),
          // Replicas share the key, as `serve` requires: another one could not open the tunnels' secrets.
          secretKey: stack.secretKey,
        }),
      );
    const urls = [url, ...others.map((o) => o.url)];
    const users = await createUsers(runtime.store, size.clients);
    const clients = users.map((u, c) => api(urls[c % urls.length]!, basicAuth(u)));
    // Warm each user's Basic-auth cache entry (one scrypt each) before the clock starts.
    await pool(clients.length, 4, async (c) => {
      const res = await clients[c]!.request('GET', '/api/v1/me');
      if (res.status !== 200) throw new Error(`GET /api/v1/me: ${res.status}`);
    });

    // Tunnel phase: every client creates its share with ?wait=0, then we wait until all are ready.
    const tunnelStart = performance.now();
    // Long runs (waiting for the rate-limit window) say where they are every 30 s.
    let lastProgress = tunnelStart;
    const progress = (what: string) => {
      if (performance.now() - lastProgress < 30_000) return;
      lastProgress = performance.now();
      const s = cf.control.stats();
      note(
        `  ${round((lastProgress - tunnelStart) / 1000, 0)} s: ${what}; ${s.total} Cloudflare calls, ${s.rateLimited} 429s`,
      );
    };
    const tunnelNames: string[] = new Array<string>(size.tunnels);
    await Promise.all(
      clients.map(async (client, c) => {
        for (let t = c; t < size.tunnels; t += clients.length) {
          const res = await client.request('POST', '/api/v1/tunnels?wait=0', { configMode: mode });
          if (res.status !== 202 && res.status !== 201)
            throw new Error(`POST /api/v1/tunnels: ${res.status} ${JSON.stringify(res.body)}`);
          tunnelNames[t] = res.body.name;
        }
      }),
    );
    await waitUntil(
      async () => {
        const row = await runtime.store.db
          .selectFrom('tunnels')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('phase', '=', 'ready')
          .where('cf_tunnel_id', 'is not', null)
          .where((eb) => eb('observed_generation', '>=', eb.ref('generation')))
          .executeTakeFirstOrThrow();
        progress(`${Number(row.n)}/${size.tunnels} tunnels ready`);
        return Number(row.n) === size.tunnels;
      },
      timeoutMs,
      100,
      'all tunnels ready',
    );
    const tunnelSeconds = (performance.now() - tunnelStart) / 1000;
    await settle(cf, 300);
    const afterTunnels = cf.control.stats();
    const cfIdOf = new Map<string, string>();
    for (const row of await runtime.store.db
      .selectFrom('tunnels')
      .select(['name', 'cf_tunnel_id'])
      .execute()) {
      cfIdOf.set(row.name, row.cf_tunnel_id!);
    }

    // Route phase: route j goes to tunnel j % M, posted by the client that owns that tunnel.
    const expected: ExpectedRoute[] = [];
    const routeStart = performance.now();
    await Promise.all(
      clients.map(async (client, c) => {
        for (let j = 0; j < size.routes; j++) {
          const t = j % size.tunnels;
          if (t % clients.length !== c) continue;
          const tunnel = tunnelNames[t]!;
          if (opts.postOverSeconds) {
            const due = routeStart + (j / size.routes) * opts.postOverSeconds * 1000;
            if (due > performance.now()) await sleep(due - performance.now());
          }
          const service = `http://10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}:8080`;
          const res = await client.request('POST', `/api/v1/tunnels/${tunnel}/routes?wait=0`, { service });
          if (res.status !== 202 && res.status !== 201)
            throw new Error(`POST routes: ${res.status} ${JSON.stringify(res.body)}`);
          expected.push({ hostname: res.body.hostname, cfTunnelId: cfIdOf.get(tunnel)! });
        }
      }),
    );
    const postSeconds = (performance.now() - routeStart) / 1000;
    const pollMs = size.routes > 2000 ? 500 : 50;
    let live = 0;
    await waitUntil(
      () => {
        live = countLive(emulatorView(cf), expected, mode === 'remote');
        progress(`${live}/${expected.length} routes live`);
        return live === expected.length;
      },
      timeoutMs,
      pollMs,
      'all routes live',
    ).catch((err: Error) => {
      throw new Error(`${err.message} (${live}/${expected.length} live)`);
    });
    const seconds = (performance.now() - routeStart) / 1000;
    const totalSeconds = (performance.now() - tunnelStart) / 1000;
    // Count the calls still in flight when the last route turned live (e.g. a trailing PUT).
    await settle(cf, 1000);
    const all = diffStats(cf.control.stats(), null);
    const tunnelPhase = diffStats(afterTunnels, null);
    const routePhase = diffStats(cf.control.stats(), afterTunnels);

    const log = cf.control.requests();
    const first = log[0] ? Date.parse(log[0].time) : 0;
    const rateLimitedCalls = log
      .filter((e) => e.status === 429)
      .map((e) => ({
        secondsAfterFirstCall: round((Date.parse(e.time) - first) / 1000, 3),
        endpoint: `${e.method} ${e.route ?? e.path}`,
      }));

    let resyncCalls: number | null = null;
    let resyncByEndpoint: Record<string, number> | null = null;
    if (opts.measureResync && runtime.reconciler) {
      const before = cf.control.stats();
      await runtime.reconciler.resync();
      const d = diffStats(cf.control.stats(), before);
      resyncCalls = d.total;
      resyncByEndpoint = sortEndpoints(d.byRoute);
    }

    const minimum = minimumCalls(size.routes, size.tunnels, mode);
    const routeMinimum = Math.ceil(size.routes / DNS_BATCH_LIMIT) + (mode === 'remote' ? size.tunnels : 0);
    return {
      mode,
      database: opts.database?.startsWith('postgres') ? 'postgres' : 'sqlite',
      routes: size.routes,
      tunnels: size.tunnels,
      clients: size.clients,
      startupCalls: stack.startup.total,
      startupByEndpoint: byEndpoint(stack.startup),
      calls: all.total,
      byEndpoint: sortEndpoints(all.byRoute),
      minimumCalls: minimum,
      ratio: round(all.total / minimum, 2),
      tunnelPhase: {
        seconds: round(tunnelSeconds, 2),
        calls: tunnelPhase.total,
        byEndpoint: sortEndpoints(tunnelPhase.byRoute),
      },
      routePhase: {
        postSeconds: round(postSeconds, 2),
        calls: routePhase.total,
        minimumCalls: routeMinimum,
        ratio: round(routePhase.total / routeMinimum, 2),
        byEndpoint: sortEndpoints(routePhase.byRoute),
      },
      seconds: round(seconds, 2),
      totalSeconds: round(totalSeconds, 2),
      rateLimited: all.rateLimited,
      rateLimitedCalls,
      routesLive: live,
      resyncCalls,
      resyncByEndpoint,
    };
  } finally {
    for (const o of others) await o.stop();
    await stack.stop();
  }
}

export interface PerRouteRun extends PerRouteResult {
  mode: Mode;
  minimumCalls: number;
  ratio: number;
  capSeconds: number;
}

export async function provisionPerRoute(mode: Mode, size: ProvisioningSize): Promise<PerRouteRun> {
  const cf = await startCloudflareEmulator({
    port: 0,
    zoneName: 'example.com',
    latencyMs: LATENCY_MS,
    rateLimit: REAL_RATE_LIMIT,
    plan: PLAN,
  });
  try {
    const res = await runPerRoute({
      cf,
      tunnels: size.tunnels,
      routes: size.routes,
      concurrency: size.clients,
      remote: mode === 'remote',
      capMs: size.perRouteCapMs,
    });
    const minimum = minimumCalls(size.routes, size.tunnels, mode);
    return {
      ...res,
      mode,
      minimumCalls: minimum,
      ratio: round(res.calls / minimum, 2),
      capSeconds: size.perRouteCapMs / 1000,
      seconds: round(res.seconds, 2),
    };
  } finally {
    await cf.close();
  }
}

export function printRun(title: string, run: TunnelplaneRun, perRoute: PerRouteRun | null) {
  const rows: Array<Record<string, string | number | null>> = [
    {
      way: 'Tunnelplane',
      calls: run.calls,
      minimum: run.minimumCalls,
      ratio: run.ratio,
      '429s': run.rateLimited,
      'live routes': `${run.routesLive}/${run.routes}`,
      'seconds to live': run.seconds,
    },
  ];
  if (perRoute) {
    rows.push({
      way: `per-route SDK${perRoute.completed ? '' : ` (stopped at ${perRoute.capSeconds} s)`}`,
      calls: perRoute.calls,
      minimum: perRoute.minimumCalls,
      ratio: perRoute.ratio,
      '429s': perRoute.rateLimited,
      'live routes': `${perRoute.routesLive}/${run.routes}`,
      'seconds to live': perRoute.completed ? perRoute.seconds : null,
    });
  }
  printTable(title, rows);
  printTable(`${title}: Tunnelplane calls by endpoint (after start-up)`, [
    ...Object.entries(run.byEndpoint).map(([endpoint, calls]) => ({
      endpoint,
      'tunnel phase': run.tunnelPhase.byEndpoint[endpoint] ?? 0,
      'route phase': run.routePhase.byEndpoint[endpoint] ?? 0,
      total: calls,
    })),
    {
      endpoint: 'TOTAL',
      'tunnel phase': run.tunnelPhase.calls,
      'route phase': run.routePhase.calls,
      total: run.calls,
    },
  ]);
  printFigures(`${title}: details`, {
    'start-up calls (not counted)': run.startupCalls,
    'tunnel phase seconds': run.tunnelPhase.seconds,
    'route POSTs returned after (s)': run.routePhase.postSeconds,
    'route phase calls / minimum': `${run.routePhase.calls} / ${run.routePhase.minimumCalls} = ${run.routePhase.ratio}`,
    'resync afterwards (calls)': run.resyncCalls,
    '429s at (s after the first call)':
      run.rateLimitedCalls.map((c) => `${c.secondsAfterFirstCall} ${c.endpoint}`).join('; ') || null,
  });
  note(
    `start-up calls: ${Object.entries(run.startupByEndpoint)
      .map(([k, v]) => `${k} ×${v}`)
      .join(', ')}`,
  );
  if (perRoute) {
    printTable(
      `${title}: per-route SDK calls by endpoint`,
      Object.entries(sortEndpoints(perRoute.byEndpoint)).map(([endpoint, calls]) => ({ endpoint, calls })),
    );
  }
}

export interface ProvisioningResult {
  size: 'quick' | 'full';
  routes: number;
  tunnels: number;
  clients: number;
  latencyMs: number;
  rateLimit: typeof REAL_RATE_LIMIT;
  /** The remote-mode figures (the mode with configuration PUTs); both modes under `modes`. */
  calls: number;
  minimumCalls: number;
  ratio: number;
  seconds: number;
  rateLimited: number;
  perRouteCalls: number | null;
  perRouteRatio: number | null;
  modes: Partial<Record<Mode, { tunnelplane: TunnelplaneRun; perRoute: PerRouteRun | null }>>;
}

export async function provisioningBenchmark(opts: {
  full: boolean;
  baseline: boolean;
  modes?: Mode[];
}): Promise<ProvisioningResult> {
  const size = opts.full ? provisioningSizes.full : provisioningSizes.quick;
  const modes: ProvisioningResult['modes'] = {};
  for (const mode of opts.modes ?? (['remote', 'local'] as Mode[])) {
    note(
      `\nprovisioning (${mode}): ${size.routes} routes over ${size.tunnels} tunnels, ${size.clients} clients, ${LATENCY_MS} ms per Cloudflare call…`,
    );
    const run = await provisionWithTunnelplane({ mode, size, measureResync: true });
    let perRoute: PerRouteRun | null = null;
    if (opts.baseline) {
      note(
        `provisioning (${mode}): the per-route way (SDK directly, capped at ${size.perRouteCapMs / 1000} s)…`,
      );
      perRoute = await provisionPerRoute(mode, size);
    }
    printRun(`Provisioning, ${mode} mode, ${size.routes} routes / ${size.tunnels} tunnels`, run, perRoute);
    modes[mode] = { tunnelplane: run, perRoute };
    await sleep(500);
  }
  const head = modes.remote ?? modes.local!;
  return {
    size: opts.full ? 'full' : 'quick',
    routes: size.routes,
    tunnels: size.tunnels,
    clients: size.clients,
    latencyMs: LATENCY_MS,
    rateLimit: REAL_RATE_LIMIT,
    calls: head.tunnelplane.calls,
    minimumCalls: head.tunnelplane.minimumCalls,
    ratio: head.tunnelplane.ratio,
    seconds: head.tunnelplane.seconds,
    rateLimited: head.tunnelplane.rateLimited,
    perRouteCalls: head.perRoute?.calls ?? null,
    perRouteRatio: head.perRoute?.ratio ?? null,
    modes,
  };
}

/** 10,000 routes over 1,000 remote tunnels: must wait for the rate-limit window, with zero 429s. */
export async function provisioningScaleBenchmark(): Promise<
  TunnelplaneRun & { size: 'full'; latencyMs: number; recordQuota: number }
> {
  // 10,000 records exceed every plan the emulator models (Free 200, Pro 3,500); Enterprise zones
  // get their quota raised on request. Stand for one by raising the in-process emulator's Pro
  // quota for this run only (the emulator reads its plan table at each call).
  const limits = planLimits.pro as { recordQuota: number };
  const quota = limits.recordQuota;
  limits.recordQuota = Math.max(quota, 2 * scaleSize.routes);
  try {
    return { ...(await scaleRun()), recordQuota: limits.recordQuota };
  } finally {
    limits.recordQuota = quota;
  }
}

async function scaleRun(): Promise<TunnelplaneRun & { size: 'full'; latencyMs: number }> {
  note(
    `\nprovisioning at scale (remote): ${scaleSize.routes} routes over ${scaleSize.tunnels} tunnels; minimum ${minimumCalls(scaleSize.routes, scaleSize.tunnels, 'remote')} calls against a budget of ${REAL_RATE_LIMIT.requests} per ${REAL_RATE_LIMIT.windowSeconds} s: this waits for the window…`,
  );
  const run = await provisionWithTunnelplane({ mode: 'remote', size: scaleSize, timeoutMs: 40 * 60_000 });
  printRun(
    `Provisioning at scale, remote mode, ${scaleSize.routes} routes / ${scaleSize.tunnels} tunnels`,
    run,
    null,
  );
  return { ...run, size: 'full', latencyMs: LATENCY_MS };
}

/** The provisioning benchmark on PostgreSQL (both modes, no per-route baseline: it does not touch the database). */
export async function provisioningPostgresBenchmark(opts: { full: boolean; url: string; from: string }) {
  const size = opts.full ? provisioningSizes.full : provisioningSizes.quick;
  const modes: Partial<Record<Mode, TunnelplaneRun>> = {};
  for (const mode of ['remote', 'local'] as Mode[]) {
    note(
      `\nprovisioning on PostgreSQL (${opts.from}, ${mode}): ${size.routes} routes over ${size.tunnels} tunnels…`,
    );
    const run = await provisionWithTunnelplane({ mode, size, database: opts.url });
    printRun(
      `Provisioning on PostgreSQL, ${mode} mode, ${size.routes} routes / ${size.tunnels} tunnels`,
      run,
      null,
    );
    modes[mode] = run;
  }
  const head = modes.remote!;
  return {
    size: opts.full ? 'full' : 'quick',
    routes: size.routes,
    tunnels: size.tunnels,
    calls: head.calls,
    minimumCalls: head.minimumCalls,
    ratio: head.ratio,
    seconds: head.seconds,
    rateLimited: head.rateLimited,
    modes,
  };
}
