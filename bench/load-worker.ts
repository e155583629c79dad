/**
 * The load generator of the API benchmark, run as its own process (so the server under test
 * keeps a core to itself): autocannon against one URL, each request picking a random target
 * (path + Authorization) from the list in the input file, so the load spreads over many
 * users and tunnels. A warm-up run first, then the measured run; the result goes to stdout
 * as one JSON line.
 *
 *   node --import tsx bench/load-worker.ts INPUT.json
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadTarget {
  path: string;
  authorization: string;
}

export interface LoadInput {
  url: string;
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  targets: LoadTarget[];
}

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  bytesPerSecond: number;
  /** Requests of the warm-up run (not in the figures above; they count in the server's CPU time). */
  warmupRequests: number;
}

async function run(input: LoadInput, durationSeconds: number): Promise<autocannon.Result> {
  const { targets } = input;
  return autocannon({
    url: input.url,
    connections: input.connections,
    duration: durationSeconds,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          const t = targets[Math.floor(Math.random() * targets.length)]!;
          return { ...req, path: t.path, headers: { ...req.headers, authorization: t.authorization } };
        },
      },
    ],
  });
}

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: load-worker.ts INPUT.json\n');
  process.exit(2);
}
const input = JSON.parse(readFileSync(file, 'utf8')) as LoadInput;
const warmup = input.warmupSeconds > 0 ? await run(input, input.warmupSeconds) : null;
const r = await run(input, input.durationSeconds);
const result: LoadResult = {
  requests: r.requests.total,
  // Over the run's measured duration: autocannon's per-second average counts a last partial second as a whole one.
  requestsPerSecond: r.requests.total / Math.max(0.001, r.duration),
  p50Ms: r.latency.p50,
  p90Ms: r.latency.p90,
  p99Ms: r.latency.p99,
  maxMs: r.latency.max,
  non2xx: r.non2xx,
  errors: r.errors,
  timeouts: r.timeouts,
  bytesPerSecond: r.throughput.average,
  warmupRequests: warmup?.requests.total ?? 0,
};
process.stdout.write(JSON.stringify(result) + '\n');
