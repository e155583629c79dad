import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createHttpMetrics, createMetrics } from './metrics.js';

/** The same observations through prom-client's own counter and histogram, as the metrics were made before. */
function promClientOf(observations: Array<[string, string, number, number]>) {
  const registry = new Registry();
  const requests = new Counter({
    name: 'tunnelplane_http_requests_total',
    help: 'HTTP requests by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tunnelplane_http_request_seconds',
    help: 'HTTP request latency by route.',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [registry],
  });
  for (const [method, route, status, seconds] of observations) {
    requests.inc({ method, route, status: String(status) });
    duration.observe({ method, route }, seconds);
  }
  return registry;
}

const sortedLines = (text: string) => text.split('\n').filter(Boolean).sort();

describe('HTTP metrics', () => {
  const observations: Array<[string, string, number, number]> = [
    ['GET', '/api/v1/tunnels', 200, 0.0004],
    ['GET', '/api/v1/tunnels', 200, 0.001],
    ['GET', '/api/v1/tunnels', 401, 0.003],
    ['POST', '/api/v1/tunnels', 201, 0.2],
    ['GET', '/tunnels/:name/config', 200, 0.0007],
    ['GET', '/tunnels/:name/config', 404, 42],
    ['GET', 'unknown', 404, 0.00001],
  ];

  it('expose what prom-client would for the same requests, line for line', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const http = createHttpMetrics(metrics);
    for (const o of observations) http.observe(...o);
    const ours = (await metrics.registry.metrics())
      .split('\n\n')
      .filter((block) => block.includes('tunnelplane_http_'))
      .join('\n');
    expect(sortedLines(ours)).toEqual(sortedLines(await promClientOf(observations).metrics()));
    expect(ours).toContain(
      'tunnelplane_http_request_seconds_bucket{le="0.001",method="GET",route="/api/v1/tunnels"} 2',
    );
    expect(ours).toContain(
      'tunnelplane_http_requests_total{method="GET",route="/api/v1/tunnels",status="401"} 1',
    );
  });

  it('count on from zero after a reset, and read as JSON as prom-client reads its own', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const http = createHttpMetrics(metrics);
    for (const o of observations) http.observe(...o);
    metrics.registry.resetMetrics();
    http.observe('GET', '/healthz', 200, 0.0002);
    const json = await metrics.registry.getMetricsAsJSON();
    const requests = json.find((m) => m.name === 'tunnelplane_http_requests_total')!;
    expect(requests.type).toBe('counter');
    expect(requests.values).toEqual([
      { labels: { method: 'GET', route: '/healthz', status: '200' }, value: 1 },
    ]);
    const seconds = json.find((m) => m.name === 'tunnelplane_http_request_seconds')!;
    expect(
      (seconds.values as Array<{ metricName?: string }>).find(
        (v) => v.metricName === 'tunnelplane_http_request_seconds_count',
      ),
    ).toEqual({
      labels: { method: 'GET', route: '/healthz' },
      value: 1,
      metricName: 'tunnelplane_http_request_seconds_count',
    });
  });

  it('are named as prom-client names its own in an OpenMetrics registry', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    createHttpMetrics(metrics).observe('GET', '/healthz', 200, 0.0002);
    const reference = promClientOf([['GET', '/healthz', 200, 0.0002]]);
    reference.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    const requestLines = async (registry: Registry) =>
      (await registry.metrics()).split('\n').filter((l) => l.includes('tunnelplane_http_requests'));
    const ours = await requestLines(metrics.registry);
    expect(ours).toContain('# TYPE tunnelplane_http_requests counter');
    expect(ours).toEqual(await requestLines(reference));
  });
});
