/**
 * The product as an operator runs it, for tests that kill it: the standalone Cloudflare emulator
 * (`tunnelplane emulate cloudflare --state FILE --json`, driven through its HTTP control API),
 * `tunnelplane serve` replicas configured by TUNNELPLANE_* variables (started, SIGKILLed and
 * restarted on the same database), and a scratch PostgreSQL database per run. Nothing here
 * imports the product's modules: only its entrypoints, its HTTP API and the emulator's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  EmulatorState,
  EmulatorStats,
  FaultRule,
  FaultRuleInput,
  RequestLogEntry,
} from '../../src/emulators/cloudflare/index.js';

/** The project's root: `bin/tunnelplane.js` is run from there. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Reads a child's stream line by line into `onLine`, copying it to `log` when given. */
function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void, log?: WriteStream) {
  let buf = '';
  stream.on('data', (d: Buffer) => {
    log?.write(d);
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

// --- The standalone Cloudflare emulator ---------------------------------------------------

export interface EmulatorControlClient {
  state(): Promise<EmulatorState>;
  stats(): Promise<EmulatorStats>;
  requests(query?: Record<string, string>): Promise<RequestLogEntry[]>;
  faults(): Promise<FaultRule[]>;
  addFault(rule: FaultRuleInput): Promise<string>;
  clearFaults(): Promise<void>;
  setRateLimit(limit: { requests: number; windowSeconds: number }): Promise<void>;
}

export interface StandaloneEmulator {
  url: string;
  origin: string;
  accountId: string;
  zoneId: string;
  zoneName: string;
  token: string;
  statePath: string;
  control: EmulatorControlClient;
  /** SIGTERM (the state file is written on the way out), then waits for the exit. */
  stop(): Promise<void>;
}

function controlClient(origin: string): EmulatorControlClient {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${origin}/__emulator${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`emulator control ${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    state: () => call('GET', '/state'),
    stats: () => call('GET', '/stats'),
    requests: (query = {}) => call('GET', `/requests?${new URLSearchParams(query).toString()}`),
    faults: () => call('GET', '/faults'),
    addFault: async (rule) => (await call<{ id: string }>('POST', '/faults', rule)).id,
    clearFaults: () => call('DELETE', '/faults'),
    setRateLimit: (limit) => call('PUT', '/rate-limit', limit),
  };
}

/** Starts `tunnelplane emulate cloudflare --port 0 --state <dir>/cloudflare-state.json --json`. */
export async function startStandaloneEmulator(dir: string): Promise<StandaloneEmulator> {
  const statePath = join(dir, 'cloudflare-state.json');
  const log = createWriteStream(join(dir, 'emulator.log'), { flags: 'a' });
  const proc = spawn(
    process.execPath,
    ['bin/tunnelplane.js', 'emulate', 'cloudflare', '--port', '0', '--state', statePath, '--json'],
    {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  proc.stderr!.pipe(log);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const info = await new Promise<{
    url: string;
    accountId: string;
    zoneId: string;
    zoneName: string;
    token: string;
  }>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('the emulator did not start within 60 s')), 60_000);
    lines(
      proc.stdout!,
      (line) => {
        if (!line.startsWith('{')) return;
        clearTimeout(timer);
        ok(JSON.parse(line));
      },
      log,
    );
    proc.once('exit', (code) => {
      clearTimeout(timer);
      fail(
        new Error(`the emulator exited with ${code} before it listened (see ${join(dir, 'emulator.log')})`),
      );
    });
  });
  const origin = info.url.replace(/\/client\/v4$/, '');
  return {
    ...info,
    origin,
    statePath,
    control: controlClient(origin),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      log.end();
    },
  };
}

/** Calls the emulator made that changed something (anything but GET), from its counters. */
export function writeCount(stats: EmulatorStats): number {
  let n = 0;
  for (const [key, count] of Object.entries(stats.byRoute)) if (!key.startsWith('GET ')) n += count;
  return n;
}

// --- `tunnelplane serve` replicas -----------------------------------------------------------

export interface ServerCluster {
  readonly size: number;
  /** A live replica's URL, waiting (bounded) while every replica is down. */
  pick(): Promise<string>;
  isUp(i: number): boolean;
  /** Starts replica `i` (retrying a failed start a few times); resolves once it serves. */
  start(i: number): Promise<void>;
  /** SIGKILL, then waits for the exit. */
  kill(i: number): Promise<void>;
  /** Replicas that exited without being killed, as lines (a crash is a finding). */
  readonly crashes: string[];
  /** Starts per replica (the first start included). */
  readonly starts: number[];
  /** SIGKILLs every replica and closes the logs. */
  stop(): Promise<void>;
}

interface Replica {
  proc: ChildProcess | null;
  url: string | null;
  killing: boolean;
  /** The start in progress, so two callers never start the same replica twice. */
  starting: Promise<void> | null;
  exited: Promise<void>;
  log: WriteStream;
}

/**
 * `size` replicas of `node bin/tunnelplane.js serve`, each with `env(i)` (PATH and HOME are
 * added), logging to `<dir>/server-<i>.log` (appended across restarts).
 */
export function serverCluster(opts: {
  size: number;
  dir: string;
  env: (i: number) => Record<string, string>;
}): ServerCluster {
  const replicas: Replica[] = Array.from({ length: opts.size }, (_, i) => ({
    proc: null,
    url: null,
    killing: false,
    starting: null,
    exited: Promise.resolve(),
    log: createWriteStream(join(opts.dir, `server-${i}.log`), { flags: 'a' }),
  }));
  const crashes: string[] = [];
  const starts = replicas.map(() => 0);

  async function startOnce(i: number): Promise<void> {
    const r = replicas[i]!;
    starts[i]! += 1;
    r.log.write(`\n----- start ${starts[i]} of replica ${i} at ${new Date().toISOString()} -----\n`);
    const proc = spawn(process.execPath, ['bin/tunnelplane.js', 'serve'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env(i) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    r.proc = proc;
    r.killing = false;
    r.exited = new Promise<void>((done) => proc.once('exit', () => done()));
    const tail: string[] = [];
    await new Promise<void>((ok, fail) => {
      let ready = false;
      const timer = setTimeout(() => {
        r.killing = true;
        proc.kill('SIGKILL');
        fail(new Error(`replica ${i} did not serve within 60 s: ${tail.join('\n')}`));
      }, 60_000);
      lines(
        proc.stderr!,
        (line) => {
          tail.push(line);
          if (tail.length > 30) tail.shift();
          if (ready || !line.includes('tunnelplane is serving')) return;
          ready = true;
          clearTimeout(timer);
          r.url = (JSON.parse(line) as { url: string }).url;
          ok();
        },
        r.log,
      );
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (r.proc === proc) r.url = null;
        if (!ready)
          fail(new Error(`replica ${i} exited (${signal ?? code}) before serving: ${tail.join('\n')}`));
        else if (!r.killing) {
          crashes.push(
            `replica ${i} exited by itself (${signal ?? code}) at ${new Date().toISOString()}: ${tail.slice(-5).join(' | ')}`,
          );
          // Recorded as a finding; restarted so the run goes on.
          start(i).catch((err: Error) => crashes.push(`replica ${i} could not be restarted: ${err.message}`));
        }
      });
    });
  }

  function start(i: number): Promise<void> {
    const r = replicas[i]!;
    r.starting ??= (async () => {
      try {
        for (let attempt = 1; ; attempt++) {
          try {
            await startOnce(i);
            return;
          } catch (err) {
            if (attempt >= 3) throw err;
            r.log.write(`\n----- start failed: ${(err as Error).message.slice(0, 300)} -----\n`);
            await sleep(500);
          }
        }
      } finally {
        r.starting = null;
      }
    })();
    return r.starting;
  }

  async function kill(i: number): Promise<void> {
    const r = replicas[i]!;
    if (!r.proc || r.proc.exitCode !== null || r.proc.signalCode !== null) return;
    r.killing = true;
    r.url = null;
    r.proc.kill('SIGKILL');
    await r.exited;
  }

  return {
    size: opts.size,
    crashes,
    starts,
    isUp: (i) => replicas[i]!.url !== null,
    async pick() {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const up = replicas.filter((r) => r.url !== null);
        if (up.length > 0) return up[Math.floor(Math.random() * up.length)]!.url!;
        if (Date.now() > deadline) throw new Error('no replica has served for 120 s');
        await sleep(25);
      }
    },
    start,
    kill,
    async stop() {
      for (let i = 0; i < replicas.length; i++) await kill(i);
      await Promise.all(replicas.map((r) => new Promise<void>((done) => r.log.end(() => done()))));
    },
  };
}
