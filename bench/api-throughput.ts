/**
 * API throughput: the server (in this process, reconciler disabled) over a large data set in
 * SQLite, loaded by autocannon running in a child process (bench/load-worker.ts) so that the
 * server has a core of its own. Two read paths — `GET /api/v1/tunnels` (first page) and the
 * proof of concept's `GET /tunnels/{name}/config` — each with HTTP Basic and with bearer
 * tokens, every request for a random user (and, for the config, a random tunnel of theirs).
 * With a profile folder, each of Tunnelplane's slices is CPU-profiled (the server's process,
 * through the inspector) into its own .cpuprofile.
 *
 * The floor: a bare Fastify server in this same process answers the same requests with the very
 * bytes Tunnelplane answered them with (read once per target after Tunnelplane's first slice,
 * held in a Map keyed by path and Authorization), under the same load. Each combination
 * alternates the two `apiLoad.rounds` times; the median of the rounds' ratios of requests/s is
 * `floorRatio`: what the server costs beyond the framework and the socket, in the same minute on
 * the same machine, whatever else the machine is doing.
 */
import { spawn } from 'node:child_process';
import Fastify from 'fastify';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { datasetSizes, seedDataset, type Dataset } from './dataset.js';
import type { LoadInput, LoadResult, LoadTarget } from './load-worker.js';
import { note, printTable, round } from './report.js';
import { api, basicAuth, pool, REPO_DIR, startBenchStack, type BenchStack } from './stack.js';

export const apiLoad = {
  connections: 10,
  /**
   * Each combination alternates Tunnelplane and the floor this many times, each slice a
   * `rounds`-th of the duration: the machine's drift over a minute (the floor alone moved by
   * ±40 % between runs) falls on both sides of each ratio, and the median of the rounds' ratios is
   * the figure.
   */
  rounds: 3,
  /** The warm-up of every slice after a server's first: long enough to open the connections. */
  reconnectSeconds: 0.5,
  quick: { durationSeconds: 6, warmupSeconds: 2 },
  full: { durationSeconds: 15, warmupSeconds: 3 },
};

export type Combination = 'list-basic' | 'list-bearer' | 'config-basic' | 'config-bearer';

export interface ApiThroughputResult {
  size: 'quick' | 'full';
  users: number;
  tunnels: number;
  routes: number;
  connections: number;
  durationSeconds: number;
  /** Worst of the four combinations (the figure the target applies to). */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  combinations: Record<
    Combination,
    LoadResult & {
      paths: string;
      serverCpuUsPerRequest: number;
      viewCacheHitRatio: number;
      /** The bare Fastify server answering the same bytes, under the same load, right after. */
      floor: LoadResult & { serverCpuUsPerRequest: number };
      /** The median of `floorRatios`. */
      floorRatio: number;
      /** Per round: the slice's requests/s over the floor's slice right after it. */
      floorRatios: number[];
    }
  >;
  /** Per combination, and the minimum (the figure the target applies to). */
  floorRatio: Record<Combination, number> & { min: number };
  seedSeconds: number;
  /** Creating one API token per user through the API, which also signs each user in once (one scrypt each). */
  tokensSeconds: number;
  loadGenerator: string;
}

/** Runs bench/load-worker.ts in a child process and returns its result. */
export async function runLoad(input: LoadInput, dir: string, name: string): Promise<LoadResult> {
  const file = join(dir, `load-${name}.json`);
  writeFileSync(file, JSON.stringify(input));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_DIR, 'bench', 'load-worker.ts'), file],
    {
      cwd: REPO_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{'))
    throw new Error(`load worker failed (${code}): ${err.slice(-2000)}`);
  return JSON.parse(line) as LoadResult;
}

/** One API token per user, created through `POST /api/v1/tokens` with the user's Basic credentials. */
export async function createTokens(url: string, dataset: Dataset): Promise<Map<string, string>> {
  const tokens = new Map<string, string>();
  // The server runs at most two scrypt checks at once; more would only queue.
  await pool(dataset.users.length, 2, async (i) => {
    const user = dataset.users[i]!;
    const res = await api(url, basicAuth(user.name)).request('POST', '/api/v1/tokens', { name: 'bench' });
    if (res.status !== 201)
      throw new Error(`POST /api/v1/tokens for ${user.name}: ${res.status} ${JSON.stringify(res.body)}`);
    tokens.set(user.name, res.body.secret as string);
  });
  return tokens;
}

export function loadTargets(
  dataset: Dataset,
  tokens: Map<string, string>,
): Record<Combination, LoadTarget[]> {
  const list = (auth: (u: string) => string) =>
    dataset.users.map((u) => ({ path: '/api/v1/tunnels', authorization: auth(u.name) }));
  const config = (auth: (u: string) => string) =>
    dataset.users.flatMap((u) =>
      u.tunnels.map((t) => ({ path: `/tunnels/${t.name}/config`, authorization: auth(u.name) })),
    );
  const bearer = (u: string) => `Bearer ${tokens.get(u)!}`;
  return {
    'list-basic': list(basicAuth),
    'list-bearer': list(bearer),
    'config-basic': config(basicAuth),
    'config-bearer': config(bearer),
  };
}

/** Tunnelplane's answer to each target, as bytes with its content type (read once, 10 at a time). */
async function answersOf(url: string, targets: LoadTarget[]): Promise<Map<string, FloorAnswer>> {
  const answers = new Map<string, FloorAnswer>();
  await pool(targets.length, 10, async (i) => {
    const t = targets[i]!;
    const res = await fetch(url + t.path, { headers: { authorization: t.authorization } });
    const bytes = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`floor: ${t.path} answered ${res.status}`);
    answers.set(floorKey(t.path, t.authorization), {
      type: res.headers.get('content-type') ?? 'application/octet-stream',
      bytes,
    });
  });
  return answers;
}

interface FloorAnswer {
  type: string;
  bytes: Buffer;
}

const floorKey = (path: string, authorization: string | undefined) => `${path}\n${authorization ?? ''}`;

/** A bare Fastify server on port 0 that answers each known request with its bytes. */
async function startFloor(answers: Map<string, FloorAnswer>) {
  const app = Fastify({ logger: false });
  app.get('*', (req, reply) => {
    const a = answers.get(floorKey(req.url, req.headers.authorization));
    if (!a) return reply.status(404).send();
    return reply.type(a.type).send(a.bytes);
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => app.close() };
}

/** The view cache's lookups so far, from the server's /metrics. */
async function viewCacheLookups(url: string): Promise<{ hit: number; miss: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (result: string) => {
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`tunnelplane_view_cache_lookups_total{result="${result}"}`));
    return line ? Number(line.split(' ')[1]) : 0;
  };
  return { hit: value('hit'), miss: value('miss') };
}

/** Runs `fn`, adding this process's CPU time meanwhile (where the servers run) to `total`. */
async function measured<T>(total: { user: number; system: number }, fn: () => Promise<T>): Promise<T> {
  const before = process.cpuUsage();
  try {
    return await fn();
  } finally {
    const used = process.cpuUsage(before);
    total.user += used.user;
    total.system += used.system;
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : round((sorted[mid - 1]! + sorted[mid]!) / 2, 3);
};

/** Slices of one server as one result: counts summed, rates averaged, latencies the worst slice's. */
function merged(slices: LoadResult[]): LoadResult {
  const sum = (f: (r: LoadResult) => number) => slices.reduce((a, r) => a + f(r), 0);
  const worst = (f: (r: LoadResult) => number) => Math.max(...slices.map(f));
  return {
    requests: sum((r) => r.requests),
    requestsPerSecond: round(sum((r) => r.requestsPerSecond) / slices.length, 0),
    p50Ms: worst((r) => r.p50Ms),
    p90Ms: worst((r) => r.p90Ms),
    p99Ms: worst((r) => r.p99Ms),
    maxMs: worst((r) => r.maxMs),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    bytesPerSecond: round(sum((r) => r.bytesPerSecond) / slices.length, 0),
    warmupRequests: sum((r) => r.warmupRequests),
  };
}

/** Profiles this process (where the server runs) while `fn` runs; writes DIR/api-NAME-ROUND.cpuprofile. */
async function profiled<T>(
  dir: string | undefined,
  name: string,
  round: number,
  fn: () => Promise<T>,
): Promise<T> {
  if (!dir) return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `api-${name}-${round}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

export async function apiThroughputBenchmark(opts: {
  full: boolean;
  cpuProfileDir?: string;
}): Promise<ApiThroughputResult> {
  const size = opts.full ? datasetSizes.full : datasetSizes.quick;
  const load = opts.full ? apiLoad.full : apiLoad.quick;
  note(
    `\nAPI throughput: ${size.users} users, ${size.tunnels} tunnels, ${size.routes} routes in SQLite; autocannon in a child process, ${apiLoad.connections} connections, ${load.durationSeconds} s per path…`,
  );
  const stack: BenchStack = await startBenchStack({ reconciler: false });
  try {
    const dataset = await seedDataset(stack.runtime.store, {
      size,
      secretKey: stack.secretKey,
      zoneName: stack.runtime.zoneName,
    });
    note(
      `seeded in ${round(dataset.seconds, 1)} s; creating ${size.users} API tokens through the API (signs each user in once)…`,
    );
    const tokensStarted = performance.now();
    const tokens = await createTokens(stack.url, dataset);
    const tokensSeconds = (performance.now() - tokensStarted) / 1000;
    const targets = loadTargets(dataset, tokens);

    const combinations = {} as ApiThroughputResult['combinations'];
    for (const name of Object.keys(targets) as Combination[]) {
      const slice = (url: string, round: number, floor: boolean) =>
        runLoad(
          {
            url,
            connections: apiLoad.connections,
            durationSeconds: load.durationSeconds / apiLoad.rounds,
            // Each server's first slice warms it up; later ones only open their connections.
            warmupSeconds: round === 0 ? load.warmupSeconds : apiLoad.reconnectSeconds,
            targets: targets[name],
          },
          stack.dir,
          `${name}${floor ? '-floor' : ''}-${round}`,
        );
      // The server's CPU time per request: unlike requests/s, it does not depend on what else
      // the machine is doing, so runs on a busy machine stay comparable.
      const cacheBefore = await viewCacheLookups(stack.url);
      const slices: LoadResult[] = [];
      const floorSlices: LoadResult[] = [];
      const cpu = { user: 0, system: 0 };
      const floorCpu = { user: 0, system: 0 };
      let floorServer: Awaited<ReturnType<typeof startFloor>> | undefined;
      try {
        for (let round = 0; round < apiLoad.rounds; round++) {
          slices.push(
            await measured(cpu, () =>
              profiled(opts.cpuProfileDir, name, round, () => slice(stack.url, round, false)),
            ),
          );
          // The floor answers with the bytes Tunnelplane answered, read after its first slice.
          floorServer ??= await startFloor(await answersOf(stack.url, targets[name]));
          const server = floorServer;
          floorSlices.push(await measured(floorCpu, () => slice(server.url, round, true)));
        }
      } finally {
        await floorServer?.close();
      }
      const cacheAfter = await viewCacheLookups(stack.url);
      const hits = cacheAfter.hit - cacheBefore.hit;
      const viewCacheHitRatio = round(hits / Math.max(1, hits + cacheAfter.miss - cacheBefore.miss), 3);
      const res = merged(slices);
      const floor = merged(floorSlices);
      if (res.non2xx > 0 || res.errors > 0)
        note(`warning: ${name}: ${res.non2xx} non-2xx answers, ${res.errors} errors`);
      if (floor.non2xx > 0 || floor.errors > 0)
        note(`warning: ${name} floor: ${floor.non2xx} non-2xx answers, ${floor.errors} errors`);
      const perRequest = (c: typeof cpu, r: LoadResult) =>
        round((c.user + c.system) / Math.max(1, r.requests + r.warmupRequests), 0);
      const roundRatios = slices.map((r, i) =>
        round(r.requestsPerSecond / Math.max(1, floorSlices[i]!.requestsPerSecond), 3),
      );
      combinations[name] = {
        ...res,
        paths: `${targets[name].length} distinct`,
        serverCpuUsPerRequest: perRequest(cpu, res),
        viewCacheHitRatio,
        floor: { ...floor, serverCpuUsPerRequest: perRequest(floorCpu, floor) },
        floorRatio: median(roundRatios),
        floorRatios: roundRatios,
      };
    }
    const rows = Object.entries(combinations).map(([name, r]) => ({
      combination: name,
      'req/s': round(r.requestsPerSecond, 0),
      'p50 ms': r.p50Ms,
      'p90 ms': r.p90Ms,
      'p99 ms': r.p99Ms,
      'max ms': r.maxMs,
      requests: r.requests,
      'non-2xx': r.non2xx,
      errors: r.errors,
      'server CPU µs/req': r.serverCpuUsPerRequest,
      'floor req/s': round(r.floor.requestsPerSecond, 0),
      'floor p99 ms': r.floor.p99Ms,
      'floor CPU µs/req': r.floor.serverCpuUsPerRequest,
      'of floor': r.floorRatio,
      rounds: r.floorRatios.join(' '),
      'cache hits': `${round(r.viewCacheHitRatio * 100, 1)} %`,
      targets: r.paths,
    }));
    printTable(
      `API throughput (${size.users} users / ${size.tunnels} tunnels / ${size.routes} routes, ${apiLoad.connections} connections)`,
      rows,
    );
    note(`tokens created (and each user's password checked once) in ${round(tokensSeconds, 1)} s`);
    const all = Object.values(combinations);
    const worst = all.reduce((a, b) => (b.requestsPerSecond < a.requestsPerSecond ? b : a));
    const ratios = Object.fromEntries(
      Object.entries(combinations).map(([name, r]) => [name, r.floorRatio]),
    ) as Record<Combination, number>;
    const floorRatio = { ...ratios, min: Math.min(...Object.values(ratios)) };
    note(`throughput as a ratio of the bare Fastify floor: min ${floorRatio.min} (target ≥ 0.6)`);
    return {
      size: opts.full ? 'full' : 'quick',
      ...size,
      connections: apiLoad.connections,
      durationSeconds: load.durationSeconds,
      requestsPerSecond: round(worst.requestsPerSecond, 0),
      p50Ms: Math.max(...all.map((r) => r.p50Ms)),
      p99Ms: Math.max(...all.map((r) => r.p99Ms)),
      combinations,
      floorRatio,
      seedSeconds: round(dataset.seconds, 1),
      tokensSeconds: round(tokensSeconds, 1),
      loadGenerator: 'autocannon in a child process (bench/load-worker.ts); server in the benchmark process',
    };
  } finally {
    await stack.stop();
  }
}
