/**
 * Memory: the resident set of a `tunnelplane serve` child process (so the figure is the
 * server's alone) holding the API benchmark's data set in SQLite, with the reconciler enabled
 * and idle. The emulator is loaded with the matching Cloudflare state (every tunnel and DNS
 * record the rows name), so the start-up resync — which reads every tunnel, route and record —
 * finds nothing to repair and the reconciler goes idle. RSS is read from /proc after start-up
 * and the resync, and again after a short read load through API tokens; the peak (VmHWM) too.
 * The same data set is measured again with the start-up resync skipped (its lease held by
 * "another replica"), which separates what the resync costs from what holding the data costs.
 * The headline runs the server as `npm run build` makes it (what a deployment runs; built into a
 * temporary folder, never into dist/); the same data set through `bin/tunnelplane.js` on the sources (tsx)
 * and the compiled server on an empty database are measured beside it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashApiToken, newApiToken } from '../src/domain/passwords.js';
import { ownership } from '../src/domain/ownership.js';
import { startCloudflareEmulator, type EmulatorState } from '../src/emulators/cloudflare/index.js';
import { connectStore } from '../src/store/index.js';
import { apiLoad, runLoad } from './api-throughput.js';
import { datasetSizes, seedDataset, type Dataset, type DatasetSize } from './dataset.js';
import type { LoadResult } from './load-worker.js';
import { machine, mib, note, printTable, round } from './report.js';
import {
  processCpuSeconds,
  processMemory,
  REPO_DIR,
  settle,
  sleep,
  startServerProcess,
  tempDir,
  type ServerProcess,
} from './stack.js';

const INSTANCE = 'bench';
const ZONE = 'example.com';

export interface ServerMemory {
  /** How the server ran. */
  server: string;
  /** Whether the start-up resync ran (else another replica held its lease). */
  resync: boolean;
  /**
   * Idle after start-up, the initial resync and a read load, once the server has released the
   * heap memory the load left unused (`memory.idleReleaseSeconds`, 10 s by default): the
   * headline figure, what an idle server holds.
   */
  rssMiB: number;
  /** 3 s after the read load, before the idle release. */
  rssRightAfterLoadMiB: number;
  /** How long after the load the server released memory (null: it did not within 60 s, or there was no load). */
  releasedAfterSeconds: number | null;
  /**
   * The highest RSS sampled (every 2 s) over the `watchSeconds` after that figure: an idle server
   * with this data set still works now and then (the connector health refresh, every 60 s,
   * reads every tunnel and grows the young generation until the next release). Null: not watched.
   */
  rssIdleMaxMiB: number | null;
  /** The mean of those samples. */
  rssIdleMeanMiB: number | null;
  /**
   * The server's CPU time over those seconds, as a share of one core: what an idle server with
   * this data set spends on its own (the reconciler's poll, health refreshes, releases).
   */
  idleCpuPercent: number | null;
  /** Idle after start-up and the initial resync, before any request. */
  rssAfterStartMiB: number;
  /** VmHWM: the highest RSS the process reached (start-up resync included). */
  peakRssMiB: number;
  /** V8 heap in use after the load, from the server's /metrics. */
  heapUsedMiB: number | null;
  /** Rendered responses held by the view cache after the load (bounded by api.responseCacheMiB, 32 by default). */
  responseCacheMiB: number | null;
  startSeconds: number;
  /** Cloudflare calls of the start-up (verify, zone, resync listings); writes would mean drift. */
  startupCalls: number;
  startupWrites: number;
  load: LoadResult[];
}

export interface MemoryResult extends ServerMemory {
  size: 'quick' | 'full';
  users: number;
  tunnels: number;
  routes: number;
  /** The same build with an empty database and no load: what the process costs before any data. */
  emptyRssMiB: number | null;
  emptyHeapUsedMiB: number | null;
  /** The same data set when the start-up resync is skipped (its lease held by another replica). */
  withoutResync: ServerMemory;
  /** `node bin/tunnelplane.js` on the sources (tsx, as in a checkout without dist/), resync skipped. */
  sourcesThroughTsx: ServerMemory | null;
  /** The commit the server was compiled from (the child processes read src/ when this benchmark starts). */
  builtFrom: { commit: string; srcDirty: boolean };
}

/** The Cloudflare side of the data set: our tunnels (local config) and one proxied CNAME per route. */
function cloudflareState(
  dataset: Dataset,
  ids: { accountId: string; zoneId: string; token: string },
): EmulatorState {
  const owner = ownership(INSTANCE);
  const now = new Date().toISOString();
  return {
    version: 1,
    accounts: [{ id: ids.accountId, name: 'Emulated account' }],
    zones: [{ id: ids.zoneId, name: ZONE, accountId: ids.accountId, plan: 'pro', createdOn: now }],
    apiTokens: [
      {
        id: randomBytes(16).toString('hex'),
        value: ids.token,
        accountId: ids.accountId,
        zoneIds: [ids.zoneId],
        permissions: { tunnels: 'edit', dns: 'edit', zones: 'edit', rulesets: 'edit', access: 'edit' },
      },
    ],
    tunnels: dataset.users.flatMap((u) =>
      u.tunnels.map((t) => ({
        id: t.cfTunnelId,
        accountId: ids.accountId,
        name: owner.tunnelName(t.name),
        createdAt: now,
        deletedAt: null,
        configSrc: 'local' as const,
        secret: t.secret.toString('base64'),
        configuration: { version: 0, config: null, createdAt: null },
        connectors: [],
        activity: [],
      })),
    ),
    dnsRecords: dataset.users.flatMap((u) =>
      u.tunnels.flatMap((t) =>
        t.routes.map((r) => ({
          id: r.dnsRecordId,
          zoneId: ids.zoneId,
          type: 'CNAME',
          name: r.hostname,
          content: `${t.cfTunnelId}.cfargotunnel.com`,
          proxied: true,
          ttl: 1,
          comment: owner.dnsComment(t.name, r.name),
          tags: [],
          settings: {},
          createdOn: now,
          modifiedOn: now,
          commentModifiedOn: now,
        })),
      ),
    ),
    rulesets: [],
    accessApps: [],
    accessPolicies: [],
    serviceTokens: [],
  };
}

/** The V8 heap in use, the response cache's bytes and the idle releases so far, from the server's /metrics. */
async function serverGauges(
  url: string,
): Promise<{ heap: number | null; cache: number | null; releases: number | null }> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const gauge = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : null;
    };
    return {
      heap: gauge('tunnelplane_nodejs_heap_size_used_bytes'),
      cache: gauge('tunnelplane_view_cache_bytes'),
      releases: gauge('tunnelplane_memory_idle_releases_total{result="released"}') ?? 0,
    };
  } catch {
    return { heap: null, cache: null, releases: null };
  }
}

/** Waits (at most `ms`) for the server's next idle memory release after `before`; the seconds waited, or null. */
async function idleRelease(url: string, before: number | null, ms: number): Promise<number | null> {
  if (before === null) return null;
  const started = performance.now();
  while (performance.now() - started < ms) {
    await sleep(2000);
    const { releases } = await serverGauges(url);
    if (releases !== null && releases > before) return round((performance.now() - started) / 1000, 1);
  }
  return null;
}

/**
 * Builds the server as `npm run build` does (scripts/build.mjs) into a temporary folder (never
 * into the repo's dist/), with node_modules linked beside it, and returns the entrypoint; null
 * when the build failed.
 */
export function buildServer(): { entry: string; dir: string } | null {
  const dir = tempDir('tunnelplane-bench-build-');
  symlinkSync(join(REPO_DIR, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  spawnSync(
    process.execPath,
    [join(REPO_DIR, 'scripts', 'build.mjs'), '--outdir', join(dir, 'dist'), '--no-sourcemap'],
    {
      cwd: REPO_DIR,
      stdio: 'ignore',
    },
  );
  const entry = join(dir, 'dist', 'main', 'tunnelplane.js');
  if (!existsSync(entry)) {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return { entry, dir };
}

export interface Prepared {
  dir: string;
  database: string;
  secretKey: string;
  statePath: string | null;
  token: string | null;
  dataset: Dataset | null;
  tokens: Map<string, string>;
}

/** Seeds the database (and one API token per user, written directly) and the matching Cloudflare state. */
export async function prepare(size: DatasetSize | null): Promise<Prepared> {
  const dir = tempDir();
  const secretKey = randomBytes(32).toString('base64');
  const database = `sqlite:${join(dir, 'db.sqlite')}`;
  const tokens = new Map<string, string>();
  if (!size) return { dir, database, secretKey, statePath: null, token: null, dataset: null, tokens };
  const { store, close } = await connectStore(database);
  const dataset = await seedDataset(store, { size, secretKey, zoneName: ZONE });
  const at = new Date().toISOString();
  const tokenRows = dataset.users.map((u) => {
    const secret = newApiToken();
    tokens.set(u.name, secret);
    return {
      id: randomUUID(),
      user_id: u.id,
      name: 'bench',
      token_hash: hashApiToken(secret),
      created_at: at,
      last_used_at: null,
      expires_at: null,
    };
  });
  for (let i = 0; i < tokenRows.length; i += 1000)
    await store.db
      .insertInto('api_tokens')
      .values(tokenRows.slice(i, i + 1000))
      .execute();
  await close();
  const ids = {
    accountId: randomBytes(16).toString('hex'),
    zoneId: randomBytes(16).toString('hex'),
    token: randomBytes(20).toString('hex'),
  };
  const statePath = join(dir, 'cloudflare-state.json');
  writeFileSync(statePath, JSON.stringify(cloudflareState(dataset, ids)));
  return { dir, database, secretKey, statePath, token: ids.token, dataset, tokens };
}

/**
 * The start-up resync runs under a named lease. `heldElsewhere` makes it look held by another
 * replica (so this server skips it, as a second replica would); otherwise any lease left by a
 * previous run is removed, so the server resyncs as on a first start.
 */
export async function setResyncLease(database: string, heldElsewhere: boolean): Promise<void> {
  const { store, close } = await connectStore(database);
  try {
    await store.db.deleteFrom('leases').execute();
    if (heldElsewhere) {
      await store.db
        .insertInto('leases')
        .values({
          name: 'resync',
          owner: 'another-replica',
          until: new Date(Date.now() + 3_600_000).toISOString(),
        })
        .execute();
    }
  } finally {
    await close();
  }
}

/** Starts the server as a child process over a prepared data set, measures its memory, stops it. */
async function measureServer(
  p: Prepared,
  opts: {
    entry?: string;
    label: string;
    loadSeconds: number;
    resync: boolean;
    cpuProfileDir?: string;
    /** How long to sample RSS after the idle figure (0: not). */
    watchSeconds?: number;
  },
): Promise<ServerMemory> {
  await setResyncLease(p.database, !opts.resync);
  const cf = await startCloudflareEmulator({
    port: 0,
    zoneName: ZONE,
    ...(p.statePath ? { statePath: p.statePath, token: p.token! } : {}),
  });
  let server: ServerProcess | null = null;
  try {
    const started = performance.now();
    server = await startServerProcess({
      dir: p.dir,
      ...(opts.entry ? { entry: opts.entry } : {}),
      ...(opts.cpuProfileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`] } : {}),
      config: {
        instance: INSTANCE,
        listen: { host: '127.0.0.1', port: 0 },
        database: { url: p.database },
        secretKey: p.secretKey,
        cloudflare: { apiToken: cf.token, accountId: cf.accountId, zoneName: cf.zoneName, baseUrl: cf.url },
        log: { level: 'info' },
      },
    });
    // The initial resync runs in the background after 'serving': wait until Cloudflare is quiet.
    await settle(cf, 2000, 5 * 60_000);
    const startSeconds = (performance.now() - started) / 1000;
    const startup = cf.control.stats();
    const startupWrites = Object.entries(startup.byRoute)
      .filter(([k]) => !k.startsWith('GET '))
      .reduce((a, [, v]) => a + v, 0);
    await sleep(2000);
    const afterStart = processMemory(server.pid);

    const results: LoadResult[] = [];
    if (p.dataset && opts.loadSeconds > 0) {
      const bearer = (u: string) => `Bearer ${p.tokens.get(u)!}`;
      const list = p.dataset.users.map((u) => ({ path: '/api/v1/tunnels', authorization: bearer(u.name) }));
      const config = p.dataset.users.flatMap((u) =>
        u.tunnels.map((t) => ({ path: `/tunnels/${t.name}/config`, authorization: bearer(u.name) })),
      );
      for (const [name, targets] of [
        ['list', list],
        ['config', config],
      ] as const) {
        results.push(
          await runLoad(
            {
              url: server.url,
              connections: apiLoad.connections,
              durationSeconds: opts.loadSeconds,
              warmupSeconds: 0,
              targets,
            },
            p.dir,
            `memory-${name}`,
          ),
        );
      }
      await sleep(3000);
    }
    const rightAfterLoad = processMemory(server.pid);
    const releasedAfterSeconds = results.length
      ? await idleRelease(server.url, (await serverGauges(server.url)).releases, 60_000)
      : null;
    if (results.length && releasedAfterSeconds === null)
      note(`warning: ${opts.label}: no idle memory release within 60 s of the load`);
    const after = processMemory(server.pid);
    const { heap, cache } = await serverGauges(server.url);
    const watched: number[] = [];
    const cpuBefore = processCpuSeconds(server.pid);
    const watchStarted = performance.now();
    for (let t = 0; t < (opts.watchSeconds ?? 0); t += 2) {
      await sleep(2000);
      watched.push(processMemory(server.pid).rssBytes);
    }
    const idleCpuPercent = watched.length
      ? round(
          (100 * (processCpuSeconds(server.pid) - cpuBefore)) / ((performance.now() - watchStarted) / 1000),
          2,
        )
      : null;
    if (startupWrites > 0)
      note(
        `warning: the start-up resync wrote to Cloudflare ${startupWrites} times: the seeded state is not converged`,
      );
    return {
      server: opts.label,
      resync: opts.resync,
      rssMiB: mib(after.rssBytes),
      rssRightAfterLoadMiB: mib(rightAfterLoad.rssBytes),
      releasedAfterSeconds,
      rssIdleMaxMiB: watched.length ? mib(Math.max(...watched)) : null,
      rssIdleMeanMiB: watched.length ? mib(watched.reduce((a, b) => a + b, 0) / watched.length) : null,
      idleCpuPercent,
      rssAfterStartMiB: mib(afterStart.rssBytes),
      peakRssMiB: mib(after.peakRssBytes),
      heapUsedMiB: heap === null ? null : mib(heap),
      responseCacheMiB: cache === null ? null : mib(cache),
      startSeconds: round(startSeconds, 1),
      startupCalls: startup.total,
      startupWrites,
      load: results,
    };
  } finally {
    await server?.stop();
    await cf.close();
  }
}

export async function memoryBenchmark(opts: {
  full: boolean;
  cpuProfileDir?: string;
}): Promise<MemoryResult> {
  const size = opts.full ? datasetSizes.full : datasetSizes.quick;
  const loadSeconds = opts.full ? apiLoad.full.durationSeconds : apiLoad.quick.durationSeconds;
  note(
    `\nmemory: tunnelplane serve (child process) over ${size.users} users, ${size.tunnels} tunnels, ${size.routes} routes, reconciler enabled and idle…`,
  );
  const { commit, srcDirty } = machine();
  const build = buildServer();
  if (!build) note('the build failed: measuring the sources through tsx only');
  const built = build
    ? 'node dist/main/tunnelplane.js serve (npm run build, into a temporary folder), SQLite'
    : null;
  const tsx = 'node bin/tunnelplane.js serve (no dist/: the sources through tsx), SQLite';
  const empty = await prepare(null);
  const loaded = await prepare(size);
  try {
    const entry = build ? { entry: build.entry } : {};
    const baseline = build
      ? await measureServer(empty, {
          ...entry,
          label: `${built!}, empty database`,
          loadSeconds: 0,
          resync: true,
        })
      : null;
    const main = await measureServer(loaded, {
      ...entry,
      label: built ?? tsx,
      loadSeconds,
      resync: true,
      watchSeconds: 66,
      ...(opts.cpuProfileDir ? { cpuProfileDir: opts.cpuProfileDir } : {}),
    });
    const noResync = await measureServer(loaded, {
      ...entry,
      label: `${built ?? tsx}, start-up resync skipped`,
      loadSeconds,
      resync: false,
    });
    const viaTsx = build
      ? await measureServer(loaded, { label: `${tsx}, start-up resync skipped`, loadSeconds, resync: false })
      : null;

    const row = (m: ServerMemory) => ({
      'after start': m.rssAfterStartMiB,
      'after load': m.rssRightAfterLoadMiB,
      'after load, idle': m.rssMiB,
      'idle 66 s, max / mean': m.rssIdleMaxMiB === null ? '' : `${m.rssIdleMaxMiB} / ${m.rssIdleMeanMiB}`,
      'idle CPU %': m.idleCpuPercent ?? '',
      peak: m.peakRssMiB,
      'V8 heap used': m.heapUsedMiB,
      'response cache': m.responseCacheMiB,
      'start (s)': m.startSeconds,
    });
    const kind = build ? 'compiled' : 'tsx';
    printTable(
      `Memory of the server process, MiB (${size.users} users / ${size.tunnels} tunnels / ${size.routes} routes)`,
      [
        ...(baseline ? [{ server: `${kind}, empty database`, ...row(baseline) }] : []),
        { server: `${kind}, data set, start-up resync`, ...row(main) },
        { server: `${kind}, data set, resync skipped`, ...row(noResync) },
        ...(viaTsx ? [{ server: 'tsx (bin/ without dist/), data set, resync skipped', ...row(viaTsx) }] : []),
      ],
    );
    note(
      `start-up Cloudflare calls: ${main.startupCalls} (${main.startupWrites} writes); load req/s (list, config): ${main.load.map((r) => round(r.requestsPerSecond, 0)).join(', ')}`,
    );
    return {
      size: opts.full ? 'full' : 'quick',
      ...size,
      ...main,
      emptyRssMiB: baseline?.rssMiB ?? null,
      emptyHeapUsedMiB: baseline?.heapUsedMiB ?? null,
      withoutResync: noResync,
      sourcesThroughTsx: viaTsx,
      builtFrom: { commit, srcDirty },
    };
  } finally {
    for (const dir of [empty.dir, loaded.dir, build?.dir])
      if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
