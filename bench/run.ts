/**
 * `npm run bench [-- [--full] [NAME…]]`: runs the selected benchmarks one after another (never
 * two at once: the machine has two cores), prints their tables, and merges their figures into
 * bench/results/latest.json. Quick sizes by default (a few minutes in all); `--full` runs the
 * sizes of issue #6 and adds the 10,000-route scale run, last.
 */
import { parseArgs } from 'node:util';
import { apiThroughputBenchmark } from './api-throughput.js';
import { memoryBenchmark } from './memory.js';
import {
  provisioningBenchmark,
  provisioningPostgresBenchmark,
  provisioningScaleBenchmark,
  type Mode,
} from './provisioning.js';
import { LATEST, machine, mergeResults, note } from './report.js';
import { routeLatencyBenchmark } from './route-latency.js';
import { fairnessBenchmark } from './fairness.js';
import { healthBenchmark } from './health.js';
import { consoleBenchmark } from './console.js';
import { soakBenchmark } from './soak.js';
import { resyncBenchmark } from './resync.js';
import { replicasBenchmark } from './replicas.js';
import { burstBenchmark } from './burst.js';
import { postgresUrl } from './stack.js';

interface Options {
  full: boolean;
  baseline: boolean;
  modes?: Mode[];
  cpuProfileDir?: string;
}

interface Benchmark {
  name: string;
  /** Key in latest.json. */
  key: string;
  describe: string;
  /** Runs only with --full (or when named). */
  fullOnly?: boolean;
  run(o: Options): Promise<unknown>;
}

const benchmarks: Benchmark[] = [
  {
    name: 'provisioning',
    key: 'provisioning',
    describe:
      'N routes over M tunnels by 20 clients: Cloudflare calls vs the minimum, seconds until live, 429s; and the per-route way',
    run: (o) =>
      provisioningBenchmark({ full: o.full, baseline: o.baseline, ...(o.modes ? { modes: o.modes } : {}) }),
  },
  {
    name: 'route-latency',
    key: 'routeLatency',
    describe: 'one route at a time until live in Cloudflare: p50, p99',
    run: (o) => routeLatencyBenchmark({ full: o.full }),
  },
  {
    name: 'fairness',
    key: 'fairness',
    describe:
      "a quiet user's route until live while a noisy user churns tunnels, beside a quiet baseline (ratio)",
    run: (o) => fairnessBenchmark({ full: o.full }),
  },
  {
    name: 'api-throughput',
    key: 'api',
    describe: 'requests/s and latency of two read paths, Basic and bearer, over a large data set',
    run: (o) =>
      apiThroughputBenchmark({
        full: o.full,
        ...(o.cpuProfileDir ? { cpuProfileDir: o.cpuProfileDir } : {}),
      }),
  },
  {
    name: 'memory',
    key: 'memory',
    describe: 'RSS of the server process holding the large data set, reconciler idle',
    run: (o) =>
      memoryBenchmark({ full: o.full, ...(o.cpuProfileDir ? { cpuProfileDir: o.cpuProfileDir } : {}) }),
  },
  {
    name: 'health',
    key: 'health',
    describe:
      'connector health: Cloudflare calls per refresh for N tunnels, its time, and the freshness the call budget allows',
    run: (o) => healthBenchmark({ full: o.full }),
  },
  {
    name: 'console',
    key: 'console',
    describe: "the web console's first page: bytes, load time, beside /healthz",
    run: (o) => consoleBenchmark(o),
  },
  {
    name: 'burst',
    key: 'burst',
    describe:
      'routes posted over 15 s to remote tunnels against a budget of two windows: calls, PUTs per tunnel, windows until live',
    run: (o) => burstBenchmark({ full: o.full }),
  },
  {
    name: 'resync',
    key: 'resync',
    describe:
      'one full resync of the large data set, converged: calls, seconds, peak memory, per 10,000 routes',
    run: (o) => resyncBenchmark({ full: o.full }),
  },
  {
    name: 'postgres',
    key: 'provisioningPostgres',
    describe:
      'the provisioning benchmark on PostgreSQL (TUNNELPLANE_BENCH_POSTGRES_URL or TUNNELPLANE_TEST_POSTGRES_URL)',
    async run(o) {
      const pg = postgresUrl();
      if (!pg) {
        note(
          '\npostgres: skipped: set TUNNELPLANE_BENCH_POSTGRES_URL (or TUNNELPLANE_TEST_POSTGRES_URL) to a PostgreSQL database it may empty',
        );
        return { skipped: 'neither TUNNELPLANE_BENCH_POSTGRES_URL nor TUNNELPLANE_TEST_POSTGRES_URL is set' };
      }
      return provisioningPostgresBenchmark({ full: o.full, ...pg });
    },
  },
  {
    name: 'replicas',
    key: 'replicas',
    describe:
      'two replicas on PostgreSQL sharing one budget: 1,000 routes over 100 remote tunnels, calls vs the minimum, 429s',
    async run() {
      const pg = postgresUrl();
      if (!pg) {
        note('\nreplicas: skipped: set TUNNELPLANE_BENCH_POSTGRES_URL to a PostgreSQL database it may empty');
        return { skipped: 'neither TUNNELPLANE_BENCH_POSTGRES_URL nor TUNNELPLANE_TEST_POSTGRES_URL is set' };
      }
      return replicasBenchmark(pg);
    },
  },
  {
    name: 'soak',
    key: 'soak',
    describe: 'faults and SIGKILLs for minutes, then the emulator must equal the desired state (full only)',
    fullOnly: true,
    run: () => soakBenchmark({ minutes: 5 }),
  },
  {
    name: 'provisioning-scale',
    key: 'provisioningScale',
    describe:
      '10,000 routes over 1,000 remote tunnels: waits for the rate-limit window, zero 429s (full only, > 5 min)',
    fullOnly: true,
    run: () => provisioningScaleBenchmark(),
  },
];

const USAGE = `Usage: npm run bench -- [--full] [--no-baseline] [--modes remote,local] [--cpu-prof-dir DIR] [NAME…]

Benchmarks (all by default, in this order; quick sizes unless --full):
${benchmarks.map((b) => `  ${b.name.padEnd(20)}${b.describe}`).join('\n')}

  --full            the sizes of issue #6 (and the scale run)
  --no-baseline     skip the per-route SDK comparison of provisioning
  --modes           provisioning modes to run (default remote,local)
  --cpu-prof-dir    CPU profiles of the servers there: one per API throughput run, and the memory benchmark's
                    (profiling slows the servers: use --results to keep such figures out of latest.json)
  --results FILE    merge the figures into FILE instead of ${LATEST}`;

async function main() {
  const { values, positionals } = parseArgs({
    options: {
      full: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      'no-baseline': { type: 'boolean', default: false },
      modes: { type: 'string' },
      'cpu-prof-dir': { type: 'string' },
      results: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const unknown = positionals.filter((p) => !benchmarks.some((b) => b.name === p));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}\n\n${USAGE}`);
  const modes = values.modes?.split(',').map((m) => m.trim());
  if (modes?.some((m) => m !== 'remote' && m !== 'local'))
    throw new Error('--modes takes remote, local or both');
  const full = values.full && !values.quick;
  const selected =
    positionals.length > 0
      ? benchmarks.filter((b) => positionals.includes(b.name))
      : benchmarks.filter((b) => full || !b.fullOnly);
  const options: Options = {
    full,
    baseline: !values['no-baseline'],
    ...(modes ? { modes: modes as Mode[] } : {}),
    ...(values['cpu-prof-dir'] ? { cpuProfileDir: values['cpu-prof-dir'] } : {}),
  };

  const resultsFile = values.results ?? LATEST;
  const m = machine();
  note(
    `Tunnelplane benchmarks (${full ? 'full' : 'quick'} sizes): ${selected.map((b) => b.name).join(', ')}`,
  );
  note(
    `machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node}, ${m.platform}; commit ${m.commit}${m.srcDirty ? ' (src/ modified)' : ''}`,
  );
  if (!full && positionals.length === 0) note('(the provisioning-scale run is --full only)');
  const started = performance.now();
  for (const b of selected) {
    const t = performance.now();
    const result = await b.run(options);
    mergeResults(
      {
        [b.key]: {
          ...(result as object),
          ranAt: new Date().toISOString(),
          commit: m.commit,
          srcDirty: m.srcDirty,
          ...(options.cpuProfileDir ? { profiled: true } : {}),
          wallSeconds: Math.round((performance.now() - t) / 100) / 10,
        },
      },
      resultsFile,
    );
  }
  note(`\ndone in ${Math.round((performance.now() - started) / 1000)} s; figures merged into ${resultsFile}`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
