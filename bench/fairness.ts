/**
 * Fairness: a quiet user adds one route at a time while a noisy user churns tunnels (create, add
 * a route, delete, in a loop, several at once) on the same server, with Cloudflare's real budget
 * and latency. Prints the quiet route's latency until live during the churn beside the same
 * measured with no churn (the baseline, in the same run), as a ratio; and the Cloudflare calls
 * others made meanwhile. The API's pacing of each user's changes is off, so what is measured is
 * the reconciler's and the limiter's fairness alone.
 */
import { note, printTable, round, summarize } from './report.js';
import { LATENCY_MS, PLAN } from './provisioning.js';
import {
  api,
  basicAuth,
  createUsers,
  emulatorView,
  REAL_RATE_LIMIT,
  startBenchStack,
  waitUntil,
  type BenchStack,
} from './stack.js';

export const fairnessSizes = { quick: { samples: 8, churners: 6 }, full: { samples: 30, churners: 10 } };

export interface FairnessResult {
  size: 'quick' | 'full';
  samples: number;
  churners: number;
  baseline: { p50Ms: number; p99Ms: number };
  duringChurn: { p50Ms: number; p99Ms: number; callsBetweenP50: number; callsBetweenMax: number };
  /** During the churn ÷ baseline, at p50 and p99. */
  ratio: { p50: number; p99: number };
  /** The noisy user's tunnel changes the server took during the measurement. */
  noisyChanges: number;
  rateLimited: number;
}

async function measure(
  stack: BenchStack,
  quiet: ReturnType<typeof api>,
  tunnel: { name: string; id: string },
  samples: number,
  tag: string,
) {
  const latencies: number[] = [];
  const calls: number[] = [];
  for (let i = 0; i < samples; i++) {
    const name = `${tag}${i}`;
    const before = stack.cf.control.stats().total;
    const started = performance.now();
    const res = await quiet.request('POST', `/api/v1/tunnels/${tunnel.name}/routes?wait=0`, {
      name,
      service: `http://10.9.0.${i}:80`,
    });
    if (res.status !== 202) throw new Error(`quiet POST: ${res.status} ${JSON.stringify(res.body)}`);
    await waitUntil(
      () => {
        const view = emulatorView(stack.cf);
        const host = [...view.cnames.keys()].find((h) => h.startsWith(`${name}-`));
        return !!host && !!view.ingress.get(tunnel.id)?.has(host);
      },
      600_000,
      10,
      `quiet route ${name} live`,
    );
    latencies.push(performance.now() - started);
    calls.push(stack.cf.control.stats().total - before);
  }
  return { latencies, calls };
}

export async function fairnessBenchmark(opts: { full: boolean }): Promise<FairnessResult> {
  const { samples, churners } = opts.full ? fairnessSizes.full : fairnessSizes.quick;
  note(
    `\nfairness: a quiet user's route, ${samples} times, with and without a noisy user churning ${churners} tunnels at once (real budget, ${LATENCY_MS} ms per call)…`,
  );
  const stack = await startBenchStack({
    configMode: 'remote',
    emulator: { latencyMs: LATENCY_MS, rateLimit: REAL_RATE_LIMIT, plan: PLAN },
  });
  try {
    const [quietUser, noisyUser] = await createUsers(stack.runtime.store, 2);
    const quiet = api(stack.url, basicAuth(quietUser!));
    const noisy = api(stack.url, basicAuth(noisyUser!));
    const created = await quiet.request('POST', '/api/v1/tunnels?wait=30', {});
    if (created.status !== 201) throw new Error(`quiet tunnel: ${created.status}`);
    const tunnel = { name: created.body.name as string, id: created.body.id as string };

    const baseline = await measure(stack, quiet, tunnel, samples, 'base');

    let churning = true;
    let noisyChanges = 0;
    const churn = async (w: number) => {
      for (let i = 0; churning; i++) {
        const t = await noisy.request('POST', '/api/v1/tunnels?wait=0', { name: `churn${w}x${i}` });
        if (t.status !== 202) continue;
        await noisy.request('POST', `/api/v1/tunnels/${t.body.name}/routes?wait=0`, {
          service: 'http://10.8.0.1:80',
        });
        await noisy.request('DELETE', `/api/v1/tunnels/${t.body.name}?wait=5`);
        noisyChanges += 3;
      }
    };
    const workers = Array.from({ length: churners }, (_, w) => churn(w));
    // Let the churn fill the queue first.
    await waitUntil(
      async () => (await stack.runtime.store.work.queueDepth()) >= churners,
      60_000,
      50,
      'the churn under way',
    );
    const during = await measure(stack, quiet, tunnel, samples, 'busy');
    churning = false;
    await Promise.all(workers);

    const b = summarize(baseline.latencies);
    const d = summarize(during.latencies);
    const c = summarize(during.calls);
    const result: FairnessResult = {
      size: opts.full ? 'full' : 'quick',
      samples,
      churners,
      baseline: { p50Ms: round(b.p50), p99Ms: round(b.p99) },
      duringChurn: {
        p50Ms: round(d.p50),
        p99Ms: round(d.p99),
        callsBetweenP50: round(c.p50),
        callsBetweenMax: round(c.max),
      },
      ratio: { p50: round(d.p50 / b.p50, 2), p99: round(d.p99 / b.p99, 2) },
      noisyChanges,
      rateLimited: stack.cf.control.stats().rateLimited,
    };
    printTable(`Fairness: the quiet user's route until live (ms), ${samples} samples`, [
      {
        measure: 'quiet baseline',
        p50: result.baseline.p50Ms,
        p99: result.baseline.p99Ms,
        'Cloudflare calls between': '',
      },
      {
        measure: `during ${churners} churning tunnels`,
        p50: result.duringChurn.p50Ms,
        p99: result.duringChurn.p99Ms,
        'Cloudflare calls between': `p50 ${result.duringChurn.callsBetweenP50}, max ${result.duringChurn.callsBetweenMax}`,
      },
      { measure: 'ratio', p50: result.ratio.p50, p99: result.ratio.p99, 'Cloudflare calls between': '' },
    ]);
    note(`noisy changes taken meanwhile: ${noisyChanges}; 429s from Cloudflare: ${result.rateLimited}`);
    return result;
  } finally {
    await stack.stop();
  }
}
