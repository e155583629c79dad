/**
 * The stack benchmarks run: the Cloudflare emulator on port 0 (with latency and the real rate
 * limit), a temporary database, and the runtime exactly as `serve` builds it, in process (as
 * test/support/stack.ts does) or as a child `tunnelplane serve` process. Plus the small things
 * every benchmark needs: an HTTP client per user, polling, and a view of what the emulator holds.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { loadConfig } from '../src/config/index.js';
import { hashPassword } from '../src/domain/passwords.js';
import { connectStore, type Store } from '../src/store/index.js';
import {
  startCloudflareEmulator,
  type CloudflareEmulatorOptions,
  type EmulatorStats,
  type StartedCloudflareEmulator,
} from '../src/emulators/cloudflare/index.js';
import { createRuntime, type Runtime } from '../src/main/runtime.js';
import { runtimeEnvironment } from '../test/deploy/dockerfile.js';
import { BENCH_DIR } from './report.js';

export const REPO_DIR = resolve(BENCH_DIR, '..');

/** Quotas high enough that no benchmark hits them (the defaults are 10 tunnels / 50 routes). */
export const BENCH_QUOTAS = {
  tunnels: 1_000_000,
  routes: 10_000_000,
  protectedRoutes: 10_000_000,
  tcpRoutes: 10_000_000,
};

/** Cloudflare's global API budget per token: 1,200 calls per 300 s. */
export const REAL_RATE_LIMIT = { requests: 1200, windowSeconds: 300 };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; throws after `timeoutMs`. */
export async function waitUntil<T>(
  fn: () => Promise<T> | T,
  timeoutMs: number,
  stepMs = 50,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(stepMs);
  }
}

/** `sqlite:` in a fresh temporary folder. */
export function tempDir(prefix = 'tunnelplane-bench-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** PostgreSQL URL for benchmarks, if one is configured. */
export function postgresUrl(): { url: string; from: string } | null {
  for (const name of ['TUNNELPLANE_BENCH_POSTGRES_URL', 'TUNNELPLANE_TEST_POSTGRES_URL']) {
    const url = process.env[name];
    if (url) return { url, from: name };
  }
  return null;
}

/**
 * Migrates and empties a PostgreSQL database, as src/store/store.test.ts does; its settings too
 * (the key check a previous run sealed with its own key would refuse this run's).
 */
export async function resetPostgres(url: string): Promise<void> {
  const { store, close } = await connectStore(url);
  try {
    await sql`truncate events, routes, tunnels, api_tokens, users, leases, settings restart identity cascade`.execute(
      store.db,
    );
  } finally {
    await close();
  }
}

export interface BenchStackOptions {
  /** Database URL; default a temporary SQLite file. */
  database?: string;
  configMode?: 'local' | 'remote';
  /** Emulator options when the stack starts its own emulator. */
  emulator?: CloudflareEmulatorOptions;
  /** An emulator to use instead (left running by `stop`). */
  cf?: StartedCloudflareEmulator;
  /** Default true. */
  reconciler?: boolean;
  /** Periodic resync; default 0 (off) so a resync never lands in the middle of a measurement. */
  resyncSeconds?: number;
  /** The server key sealing tunnel secrets (base64 of 32 bytes); default random. */
  secretKey?: string;
  /** The server's Cloudflare budget (`cloudflare.rateLimit`); default Cloudflare's real one. */
  rateLimit?: { requests: number; windowSeconds: number };
}

export interface BenchStack {
  cf: StartedCloudflareEmulator;
  runtime: Runtime;
  url: string;
  dir: string;
  secretKey: string;
  /** Cloudflare calls made while starting (token verify, zone lookup, the initial resync). */
  startup: EmulatorStats;
  stop(): Promise<void>;
}

/**
 * Starts the emulator (unless given) and the runtime; waits for the start-up calls (token
 * verify, zone lookup, initial resync) to finish, records them, and zeroes the emulator's
 * counters so a benchmark counts only its own calls.
 */
export async function startBenchStack(opts: BenchStackOptions = {}): Promise<BenchStack> {
  const cf =
    opts.cf ?? (await startCloudflareEmulator({ port: 0, zoneName: 'example.com', ...opts.emulator }));
  const dir = tempDir();
  const secretKey = opts.secretKey ?? randomBytes(32).toString('base64');
  const config = loadConfig({
    env: {},
    defaults: {
      instance: 'bench',
      listen: { host: '127.0.0.1', port: 0 },
      database: { url: opts.database ?? `sqlite:${join(dir, 'db.sqlite')}` },
      secretKey,
      cloudflare: {
        apiToken: cf.token,
        accountId: cf.accountId,
        zoneName: cf.zoneName,
        baseUrl: cf.url,
        ...(opts.rateLimit ? { rateLimit: opts.rateLimit } : {}),
      },
      quotas: BENCH_QUOTAS,
      tunnels: { defaultConfigMode: opts.configMode ?? 'local' },
      reconciler: { enabled: opts.reconciler ?? true, resyncSeconds: opts.resyncSeconds ?? 0 },
      // Benchmarks post thousands of changes as one user: its pacing would be what they measure.
      api: { mutationsPerMinute: 0 },
      log: { level: 'silent' },
    },
  });
  cf.control.resetStats();
  const runtime = await createRuntime(config, { logger: pino({ level: 'silent' }) });
  const url = await runtime.listen();
  await settle(cf);
  const startup = cf.control.stats();
  cf.control.resetStats();
  return {
    cf,
    runtime,
    url,
    dir,
    secretKey,
    startup,
    async stop() {
      await runtime.close();
      if (!opts.cf) await cf.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the emulator has received no call for `quietMs` (the initial resync runs in the background). */
export async function settle(
  cf: StartedCloudflareEmulator,
  quietMs = 500,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let since = Date.now();
  while (Date.now() < deadline) {
    const total = cf.control.stats().total;
    if (total !== last) {
      last = total;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await sleep(50);
  }
}

/** One password for every benchmark user, hashed once (scrypt is slow on purpose). */
export const BENCH_PASSWORD = 'bench-password-not-secret';
let benchHash: Promise<string> | null = null;
export const benchPasswordHash = () => (benchHash ??= hashPassword(BENCH_PASSWORD));

/** Creates users `prefix0…` sharing BENCH_PASSWORD; returns their names. */
export async function createUsers(store: Store, count: number, prefix = 'bench-user-'): Promise<string[]> {
  const hash = await benchPasswordHash();
  const names = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);
  const at = new Date().toISOString();
  for (let i = 0; i < names.length; i += 500) {
    await store.db
      .insertInto('users')
      .values(
        names.slice(i, i + 500).map((name) => ({
          id: randomUUID(),
          name,
          password_hash: hash,
          role: 'user' as const,
          quota_tunnels: null,
          quota_routes: null,
          created_at: at,
          updated_at: at,
        })),
      )
      .execute();
  }
  return names;
}

export const basicAuth = (user: string, password = BENCH_PASSWORD) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

export interface Api {
  request<T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>>;
}

/** A client of the API as one user (fetch keeps connections alive). */
export function api(url: string, authorization: string): Api {
  return {
    async request(method, path, body) {
      const init: RequestInit = { method, headers: { authorization } };
      if (body !== undefined) {
        init.body = JSON.stringify(body);
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
      }
      const res = await fetch(url + path, init);
      const text = await res.text();
      const parsed: unknown =
        (res.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text;
      return { status: res.status, body: parsed as any };
    },
  };
}

/** Runs `worker(i)` for i in [0, count) with at most `concurrency` at a time. */
export async function pool(
  count: number,
  concurrency: number,
  worker: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await worker(next++);
    }),
  );
}

/** What the emulator holds, indexed for "is this route live?". */
export interface EmulatorView {
  /** hostname → the record's content when it is a proxied CNAME. */
  cnames: Map<string, string>;
  /** Cloudflare tunnel id → hostnames in its remote configuration's ingress. */
  ingress: Map<string, Set<string>>;
}

export function emulatorView(cf: StartedCloudflareEmulator): EmulatorView {
  const state = cf.control.state();
  const cnames = new Map<string, string>();
  for (const r of state.dnsRecords) if (r.type === 'CNAME' && r.proxied) cnames.set(r.name, r.content);
  const ingress = new Map<string, Set<string>>();
  for (const t of state.tunnels) {
    if (t.deletedAt) continue;
    const rules = (t.configuration.config?.ingress ?? []) as Array<{ hostname?: string }>;
    ingress.set(t.id, new Set(rules.map((r) => r.hostname).filter((h): h is string => !!h)));
  }
  return { cnames, ingress };
}

export interface ExpectedRoute {
  hostname: string;
  /** The Cloudflare tunnel id the CNAME must point to. */
  cfTunnelId: string;
}

/** Live = a proxied CNAME to `<tunnel id>.cfargotunnel.com` and, for remote tunnels, in the ingress. */
export function countLive(view: EmulatorView, routes: readonly ExpectedRoute[], remote: boolean): number {
  let n = 0;
  for (const r of routes) {
    if (view.cnames.get(r.hostname) !== `${r.cfTunnelId}.cfargotunnel.com`) continue;
    if (remote && !view.ingress.get(r.cfTunnelId)?.has(r.hostname)) continue;
    n++;
  }
  return n;
}

/** Calls per endpoint, sorted, for tables. */
export function byEndpoint(stats: EmulatorStats): Record<string, number> {
  return Object.fromEntries(Object.entries(stats.byRoute).sort((a, b) => b[1] - a[1]));
}

/**
 * The environment the image gives the server: the ENV lines of deploy/Dockerfile's runtime stage,
 * read from the file (the parser test/deploy/image-build.test.ts builds the image with) so the
 * benchmark never drifts from it. `TUNNELPLANE_*` settings are left out: the benchmark passes
 * its own configuration.
 */
export function imageEnvironment(): Record<string, string> {
  const env = runtimeEnvironment(readFileSync(join(REPO_DIR, 'deploy', 'Dockerfile'), 'utf8'));
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('TUNNELPLANE_')));
}

export interface ServerProcess {
  url: string;
  pid: number;
  proc: ChildProcess;
  /** stderr so far (the server logs there). */
  log(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs `tunnelplane serve --config FILE` as a child process (its RSS is the server's alone) and
 * resolves with its URL once it logs 'tunnelplane is serving'.
 */
export async function startServerProcess(opts: {
  config: Record<string, unknown>;
  dir: string;
  nodeArgs?: string[];
  /** The entrypoint script; default bin/tunnelplane.js (the compiled dist/ if built, else the sources through tsx). */
  entry?: string;
  timeoutMs?: number;
}): Promise<ServerProcess> {
  const configFile = join(opts.dir, 'tunnelplane.yaml');
  writeFileSync(configFile, stringify(opts.config));
  const proc = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), opts.entry ?? 'bin/tunnelplane.js', 'serve', '--config', configFile],
    {
      cwd: REPO_DIR,
      // The image's environment (deploy/Dockerfile), nothing of the benchmark's own.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...imageEnvironment() },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let buf = '';
  proc.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    if (buf.length > 1_000_000) buf = buf.slice(-500_000);
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`server did not start: ${buf.slice(-2000)}`)),
      opts.timeoutMs ?? 60_000,
    );
    const onData = () => {
      for (const line of buf.split('\n')) {
        if (!line.includes('tunnelplane is serving')) continue;
        clearTimeout(timer);
        proc.stderr!.off('data', onData);
        resolveUrl((JSON.parse(line) as { url: string }).url);
        return;
      }
    };
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${buf.slice(-2000)}`));
    });
  });
  return {
    url,
    pid: proc.pid!,
    proc,
    log: () => buf,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await Promise.race([exited, sleep(15_000)]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc/PID/stat (Linux, 100 ticks a second). */
export function processCpuSeconds(pid: number): number {
  // The command name (field 2) may hold spaces: the fields after it start past its ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident set size and its peak of a process, from /proc (Linux). */
export function processMemory(pid: number): { rssBytes: number; peakRssBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}
