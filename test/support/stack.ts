/**
 * The full stack for end-to-end tests: the Cloudflare emulator on port 0, a temporary database
 * (SQLite, or PostgreSQL when asked), the runtime (server + reconciler) exactly as `serve`
 * builds it, and small helpers to call the API as a given user.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { destination, pino } from 'pino';
import { loadConfig } from '../../src/config/index.js';
import { hashPassword } from '../../src/domain/passwords.js';
import {
  startCloudflareEmulator,
  type StartedCloudflareEmulator,
} from '../../src/emulators/cloudflare/index.js';
import { createRuntime, type Runtime } from '../../src/main/runtime.js';

export interface Stack {
  cf: StartedCloudflareEmulator;
  runtime: Runtime;
  url: string;
  dir: string;
  as(user: string, password?: string): Api;
  stop(): Promise<void>;
  /** Restart the server (not the emulator) on the same database, like a process restart. */
  restart(): Promise<void>;
  /**
   * Records that this installation once had a tunnel (`tunnel`, its name) or a route
   * (`route`, `<tunnel>/<route>`) and deleted its row: what makes objects carrying that name
   * provably ours, so resync may collect them.
   */
  tombstone(kind: 'tunnel' | 'route', name: string): Promise<void>;
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface Api {
  request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse<T>>;
  get<T = any>(path: string): Promise<ApiResponse<T>>;
  post<T = any>(path: string, body?: unknown): Promise<ApiResponse<T>>;
  del<T = any>(path: string): Promise<ApiResponse<T>>;
}

/** One hash per password for the whole test process (a hash costs ~0.3 s on purpose). */
const hashes = new Map<string, Promise<string>>();
export const testHash = (password: string) => {
  let h = hashes.get(password);
  if (!h) hashes.set(password, (h = hashPassword(password)));
  return h;
};

export const PASSWORDS: Record<string, string> = {
  user1: 'user1password',
  user2: 'user2password',
  admin: 'adminpassword',
};

/** The key every stack of this test process seals with unless told otherwise: stacks on one database are its replicas. */
const TEST_SECRET_KEY = randomBytes(32).toString('base64');

export async function startStack(
  opts: {
    database?: string;
    configMode?: 'local' | 'remote';
    resyncSeconds?: number;
    timeoutMs?: number;
    cf?: StartedCloudflareEmulator;
    /** A kubeconfig (text) for TCP routes' access pods, and the namespace they go to. */
    kubernetes?: { kubeconfig: string; namespace: string };
    /** The configured `instance` (default `test`); null: none, as an operator who sets nothing. */
    instance?: string | null;
    /** A data folder of the test's own (kept by stop()); default a fresh temporary one. */
    dir?: string;
    /** More configuration, merged over the defaults. */
    config?: Record<string, unknown>;
    /** The server key (base64 of 32 bytes); default the test process's one (replicas of a database share it). */
    secretKey?: string;
  } = {},
): Promise<Stack> {
  const cf =
    opts.cf ?? (await startCloudflareEmulator({ port: 0, zoneName: 'example.com', retryAfterSeconds: 1 }));
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tunnelplane-test-'));
  const secretKey = opts.secretKey ?? TEST_SECRET_KEY;
  let kubeconfigPath: string | undefined;
  if (opts.kubernetes) {
    kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, opts.kubernetes.kubeconfig, { mode: 0o600 });
  }
  const build = async () => {
    const config = loadConfig({
      env: {},
      flags: opts.config ?? {},
      defaults: {
        ...(opts.instance === null ? {} : { instance: opts.instance ?? 'test' }),
        listen: { host: '127.0.0.1', port: 0 },
        database: { url: opts.database ?? `sqlite:${join(dir, 'db.sqlite')}` },
        secretKey,
        cloudflare: {
          apiToken: cf.token,
          accountId: cf.accountId,
          zoneName: cf.zoneName,
          baseUrl: cf.url,
          timeoutMs: opts.timeoutMs ?? 2000,
        },
        tunnels: { defaultConfigMode: opts.configMode ?? 'local' },
        reconciler: { resyncSeconds: opts.resyncSeconds ?? 0, pollMs: 200, backoffMaxSeconds: 4 },
        // Tests drive many changes quickly; the pacing of users' changes is tested on its own (tenants.e2e).
        api: { mutationsPerMinute: 0 },
        log: { level: 'silent' },
        ...(opts.kubernetes
          ? { kubernetes: { kubeconfig: kubeconfigPath, namespace: opts.kubernetes.namespace } }
          : {}),
      },
    });
    // A real logger (into /dev/null): the warn and error paths run as in production.
    const holder: { runtime?: Runtime } = {};
    const runtime = await createRuntime(config, {
      logger: pino({ level: 'warn' }, destination('/dev/null')),
      // After every pass: no tunnel is recorded converged while a route of it is still pending or deleting.
      hooks: {
        afterPass: async () => {
          if (holder.runtime) violations.push(...(await unfinishedButConverged(holder.runtime)));
        },
      },
    });
    holder.runtime = runtime;
    for (const [name, password] of Object.entries(PASSWORDS)) {
      if (!(await runtime.store.users.byName(name))) {
        await runtime.store.users.ensure({
          name,
          passwordHash: await testHash(password),
          role: name === 'admin' ? 'admin' : 'user',
        });
      }
    }
    const url = await runtime.listen();
    return { runtime, url };
  };
  const violations: string[] = [];
  let { runtime, url } = await build();
  const stack: Stack = {
    cf,
    get runtime() {
      return runtime;
    },
    get url() {
      return url;
    },
    dir,
    as: (user, password) =>
      api(() => url, {
        authorization: `Basic ${Buffer.from(`${user}:${password ?? PASSWORDS[user] ?? ''}`).toString('base64')}`,
      }),
    async stop() {
      await runtime.close();
      if (!opts.cf) await cf.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
      if (violations.length > 0)
        throw new Error(
          `tunnels recorded converged with unfinished routes: ${[...new Set(violations)].join(', ')}`,
        );
    },
    async restart() {
      await runtime.close();
      ({ runtime, url } = await build());
    },
    async tombstone(kind, name) {
      await runtime.store.db
        .insertInto('tombstones')
        .values({ kind, name, deleted_at: new Date().toISOString() })
        .execute();
    },
  } as Stack;
  return stack;
}

/** Tunnels recorded converged (generation observed, not deleting) that still have a pending or deleting route. */
async function unfinishedButConverged(runtime: Runtime): Promise<string[]> {
  const rows = await runtime.store.db
    .selectFrom('routes')
    .innerJoin('tunnels', 'tunnels.id', 'routes.tunnel_id')
    .select(['tunnels.name as tunnel', 'routes.name as route', 'routes.phase', 'routes.deleting'])
    .whereRef('tunnels.observed_generation', '>=', 'tunnels.generation')
    .where('tunnels.deleting', '=', 0)
    .where((eb) => eb.or([eb('routes.deleting', '=', 1), eb('routes.phase', '=', 'pending')]))
    .execute()
    .catch(() => []);
  return rows.map((r) => `${r.tunnel}/${r.route} (${r.deleting ? 'deleting' : r.phase})`);
}

export function api(base: () => string, auth: Record<string, string>): Api {
  const request = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const init: RequestInit = { method, headers: { ...auth, ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      if (!headers['content-type'])
        (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(base() + path, init);
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, headers: res.headers, body: parsed as any, text };
  };
  return {
    request,
    get: (p) => request('GET', p),
    post: (p, b) => request('POST', p, b),
    del: (p) => request('DELETE', p),
  };
}

/** Polls `fn` until it returns a truthy value or the time is up. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 15_000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met in ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
