/**
 * Prometheus metrics: one registry per process, created by the entrypoint and shared by the
 * HTTP server, the reconciler and the Cloudflare adapter (through hooks), served at /metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsRegistry {
  registry: Registry;
  cloudflareCalls: Counter<'endpoint' | 'status'>;
  cloudflareCallSeconds: Histogram<'endpoint'>;
  rateLimitWaitSeconds: Counter;
  rateLimited: Counter;
  reconcilerQueue: Gauge;
  reconcilerPasses: Counter<'result'>;
  reconcilerPassSeconds: Histogram;
  /** Memory-reducing collections of an idle server (src/main/idle-memory.ts), by result. */
  idleMemoryReleases: Counter<'result'>;
  idleMemoryReleaseSeconds: Histogram;
  /** Records what a resync found (gauges of its last run, counters of what it deleted). */
  resynced(result: {
    unvouched: number;
    held: number;
    expiringTokens: number;
    orphanRecords: number;
    orphanTunnels: number;
    orphanAccess: number;
    orphanKubernetes: number;
    failed: number;
  }): void;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): MetricsRegistry {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'tunnelplane_' });
  const unvouched = new Gauge({
    name: 'tunnelplane_resync_unvouched_objects',
    help: "Objects carrying this installation's marker that nothing in its database vouches for (left alone; see the operator guide), at the last resync.",
    registers: [registry],
  });
  const held = new Gauge({
    name: 'tunnelplane_resync_held_orphans',
    help: 'Provable orphans the last resync held back because there were too many to delete without `tunnelplane gc --confirm`.',
    registers: [registry],
  });
  const expiring = new Gauge({
    name: 'tunnelplane_service_tokens_expiring',
    help: 'Service tokens of TCP routes within their renewal window at the last resync (renewed by the next pass).',
    registers: [registry],
  });
  const orphansDeleted = new Counter({
    name: 'tunnelplane_resync_orphans_deleted_total',
    help: 'Orphans (provably ours) deleted by resyncs, by kind.',
    labelNames: ['kind'],
    registers: [registry],
  });
  const lastResync = new Gauge({
    name: 'tunnelplane_resync_last_completed_timestamp_seconds',
    help: 'When the last resync of this replica completed (Unix time).',
    registers: [registry],
  });
  const resyncFailures = new Counter({
    name: 'tunnelplane_resync_failures_total',
    help: 'Resync steps that failed (retried at the next resync).',
    registers: [registry],
  });
  return {
    resynced(r) {
      unvouched.set(r.unvouched);
      held.set(r.held);
      expiring.set(r.expiringTokens);
      orphansDeleted.inc({ kind: 'dns' }, r.orphanRecords);
      orphansDeleted.inc({ kind: 'tunnel' }, r.orphanTunnels);
      orphansDeleted.inc({ kind: 'access' }, r.orphanAccess);
      orphansDeleted.inc({ kind: 'kubernetes' }, r.orphanKubernetes);
      resyncFailures.inc(r.failed);
      lastResync.set(Date.now() / 1000);
    },
    registry,
    cloudflareCalls: new Counter({
      name: 'tunnelplane_cloudflare_calls_total',
      help: 'Cloudflare API calls by endpoint and HTTP status ("error" when no answer came).',
      labelNames: ['endpoint', 'status'],
      registers: [registry],
    }),
    cloudflareCallSeconds: new Histogram({
      name: 'tunnelplane_cloudflare_call_seconds',
      help: 'Cloudflare API call latency.',
      labelNames: ['endpoint'],
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
      registers: [registry],
    }),
    rateLimitWaitSeconds: new Counter({
      name: 'tunnelplane_cloudflare_rate_limit_wait_seconds_total',
      help: 'Time calls spent waiting for the Cloudflare rate limiter.',
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'tunnelplane_cloudflare_rate_limited_total',
      help: '429 answers received from Cloudflare.',
      registers: [registry],
    }),
    reconcilerQueue: new Gauge({
      name: 'tunnelplane_reconciler_queue_depth',
      help: 'Tunnels whose desired state is not yet observed.',
      registers: [registry],
    }),
    reconcilerPasses: new Counter({
      name: 'tunnelplane_reconciler_passes_total',
      help: 'Reconciler passes, by whether any tunnel failed.',
      labelNames: ['result'],
      registers: [registry],
    }),
    reconcilerPassSeconds: new Histogram({
      name: 'tunnelplane_reconciler_pass_seconds',
      help: 'Duration of reconciler passes.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    idleMemoryReleases: new Counter({
      name: 'tunnelplane_memory_idle_releases_total',
      help: 'Memory-reducing garbage collections run because the server was idle with unused heap memory (memory.idleReleaseSeconds), by result (released, failed).',
      labelNames: ['result'],
      registers: [registry],
    }),
    idleMemoryReleaseSeconds: new Histogram({
      name: 'tunnelplane_memory_idle_release_seconds',
      help: 'How long each idle memory release held the event loop.',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
  };
}

/** The HTTP latency histogram's upper bounds, in seconds. */
const HTTP_SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30];

/** One method and route's figures since start: what a request adds to, with no label lookup. */
interface RouteFigures {
  labels: { method: string; route: string };
  statuses: Map<number, number>;
  /** Per bound of HTTP_SECONDS_BUCKETS (not cumulative); slower answers only count in `count`. */
  buckets: number[];
  sum: number;
  count: number;
}

type MetricValue = { labels: Record<string, string | number>; value: number; metricName?: string };

/**
 * A metric whose values are read from figures this module keeps, at each scrape: the registry
 * formats what `get()` returns, as it does its own metrics' (prom-client's shape).
 */
function registerFigures(
  registry: Registry,
  metric: {
    name: string;
    help: string;
    type: 'counter' | 'histogram';
    values(): MetricValue[];
    reset(): void;
  },
) {
  const { help, type } = metric;
  const registered = {
    name: metric.name,
    help,
    type,
    aggregator: 'sum',
    // The name as the registry left it (an OpenMetrics registry drops a counter's `_total`).
    get: async () => ({ name: registered.name, help, type, aggregator: 'sum', values: metric.values() }),
    reset: metric.reset,
  };
  registry.registerMetric(registered as never);
}

/**
 * Requests by method, route and status, and their latency by method and route. Every answer
 * adds to its route's figures, found by route and method (two Map lookups); the labelled
 * series are made at each scrape. prom-client's own counter and histogram hash their labels at
 * every observation, which cost more than the rest of the metrics of a cached answer (issue 19);
 * the exposition is the same (src/server/metrics.test.ts compares the two).
 */
export function createHttpMetrics(m: MetricsRegistry) {
  const routes = new Map<string, Map<string, RouteFigures>>();
  const figures = () => [...routes.values()].flatMap((byMethod) => [...byMethod.values()]);
  const figuresOf = (method: string, route: string): RouteFigures => {
    let byMethod = routes.get(route);
    if (!byMethod) routes.set(route, (byMethod = new Map()));
    let f = byMethod.get(method);
    if (!f) {
      f = {
        labels: { method, route },
        statuses: new Map(),
        buckets: HTTP_SECONDS_BUCKETS.map(() => 0),
        sum: 0,
        count: 0,
      };
      byMethod.set(method, f);
    }
    return f;
  };
  const reset = () => routes.clear();
  registerFigures(m.registry, {
    name: 'tunnelplane_http_requests_total',
    help: 'HTTP requests by method, route and status.',
    type: 'counter',
    values: () =>
      figures().flatMap((f) =>
        [...f.statuses].map(([status, value]) => ({
          labels: { ...f.labels, status: String(status) },
          value,
        })),
      ),
    reset,
  });
  const seconds = 'tunnelplane_http_request_seconds';
  registerFigures(m.registry, {
    name: seconds,
    help: 'HTTP request latency by route.',
    type: 'histogram',
    values: () =>
      figures().flatMap((f) => {
        let below = 0;
        const buckets = HTTP_SECONDS_BUCKETS.map((le, i) => ({
          labels: { le, ...f.labels },
          value: (below += f.buckets[i]!),
          metricName: `${seconds}_bucket`,
        }));
        return [
          ...buckets,
          { labels: { le: '+Inf', ...f.labels }, value: f.count, metricName: `${seconds}_bucket` },
          { labels: f.labels, value: f.sum, metricName: `${seconds}_sum` },
          { labels: f.labels, value: f.count, metricName: `${seconds}_count` },
        ];
      }),
    reset,
  });
  return {
    observe(method: string, route: string, status: number, seconds: number) {
      const f = figuresOf(method, route);
      f.statuses.set(status, (f.statuses.get(status) ?? 0) + 1);
      for (let i = 0; i < HTTP_SECONDS_BUCKETS.length; i++)
        if (seconds <= HTTP_SECONDS_BUCKETS[i]!) {
          f.buckets[i]!++;
          break;
        }
      f.sum += seconds;
      f.count++;
    },
    /** Exposes the rendered-view cache's figures, read at each scrape. */
    viewCache(stats: () => { hits: number; misses: number; bytes: number }) {
      const reported = { hit: 0, miss: 0 };
      new Counter({
        name: 'tunnelplane_view_cache_lookups_total',
        help: 'Lookups in the cache of rendered tunnel views (API JSON, config.yaml), by result.',
        labelNames: ['result'],
        registers: [m.registry],
        collect() {
          const s = stats();
          this.inc({ result: 'hit' }, s.hits - reported.hit);
          this.inc({ result: 'miss' }, s.misses - reported.miss);
          reported.hit = s.hits;
          reported.miss = s.misses;
        },
      });
      new Gauge({
        name: 'tunnelplane_view_cache_bytes',
        help: 'Approximate size of the cache of rendered tunnel views.',
        registers: [m.registry],
        collect() {
          this.set(stats().bytes);
        },
      });
    },
  };
}

/**
 * Tunnels by phase and by connector status (`unknown`: not read yet), read from the database at
 * each scrape (one grouped query), and the health refresh's last run.
 */
export function tunnelGauges(
  m: MetricsRegistry,
  counts: () => Promise<{ phase: Record<string, number>; connectors: Record<string, number> }>,
) {
  let last: Promise<{ phase: Record<string, number>; connectors: Record<string, number> }> | null = null;
  // Both gauges of one scrape share one query.
  const read = () => (last ??= counts().finally(() => setTimeout(() => (last = null), 0)));
  new Gauge({
    name: 'tunnelplane_tunnels',
    help: 'Tunnels by phase (pending, ready, error, deleting).',
    labelNames: ['phase'],
    registers: [m.registry],
    async collect() {
      this.reset();
      for (const [phase, n] of Object.entries((await read()).phase)) this.set({ phase }, n);
    },
  });
  new Gauge({
    name: 'tunnelplane_tunnel_connectors',
    help: "Tunnels by their connectors' status as Cloudflare last said it (inactive, healthy, degraded, down; unknown: not read yet).",
    labelNames: ['status'],
    registers: [m.registry],
    async collect() {
      this.reset();
      for (const [status, n] of Object.entries((await read()).connectors)) this.set({ status }, n);
    },
  });
  const refreshed = new Gauge({
    name: 'tunnelplane_health_refresh_timestamp_seconds',
    help: 'When the last health refresh ran (its tunnels, calls and duration are in the log).',
    registers: [m.registry],
  });
  const calls = new Counter({
    name: 'tunnelplane_health_refresh_calls_total',
    help: 'Cloudflare calls spent on health refreshes.',
    registers: [m.registry],
  });
  return {
    refreshed(r: { calls: number }) {
      refreshed.set(Date.now() / 1000);
      calls.inc(r.calls);
    },
  };
}
