/**
 * Chaos runs ("Nothing lost, nothing leaked"): the standalone Cloudflare emulator with its state
 * kept and seeded faults (500, 429, hangs, answers lost after the write), `tunnelplane serve`
 * replicas SIGKILLed at random points while users create and then delete tunnels and routes
 * through the API, a ledger of what the API acknowledged; then faults off, and the emulator must
 * hold exactly the desired state within a stated bound. One run is `runChaos(options, plan)`;
 * test/chaos.e2e.test.ts runs a short one per database, bench/soak.ts a long one.
 *
 * Everything random is drawn from the seed (printed, and taken from CHAOS_SEED), so a failing
 * run's workload, fault draws and kill points can be replayed (timings still vary).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { EmulatorState, FaultRule, FaultRuleInput } from '../../src/emulators/cloudflare/index.js';
import {
  accessAllowLists,
  apiSettledDifferences,
  desiredOf,
  desiredStateDifferences,
  ledgerDifferences,
  type ApiTunnel,
  type Ledger,
  type LedgerRoute,
  type LedgerTunnel,
  type Markers,
  type Outcome,
  type RouteKind,
} from './desired-state.js';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database.js';
import {
  serverCluster,
  sleep,
  startStandaloneEmulator,
  writeCount,
  type ServerCluster,
  type StandaloneEmulator,
} from './processes.js';

export const ROUTE_KINDS: readonly RouteKind[] = ['http', 'allow', 'access', 'tcp', 'ssh'];

/** A seeded generator (mulberry32) and the draws a run needs. */
export function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    shuffle<T>(items: readonly T[]): T[] {
      const out = [...items];
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    },
    label: (length = 8) =>
      Array.from({ length }, () => String.fromCharCode(97 + Math.floor(next() * 26))).join(''),
  };
}

/** The Cloudflare paths the reconciler reads and writes (not the start-up token and zone checks). */
const RECONCILER_PATHS = '^/(accounts|zones)/[^/]+/';

/**
 * About `rate` of the reconciler's calls fail: 500s, 429s (retry-after 1 s) and hangs on every
 * call; answers lost after the write on writes. Plus one lost answer (drawn, at most once each)
 * on every kind of create and delete, and one of each other fault early on, so each recovery
 * path is exercised in every run.
 */
export function faultPlan(seed: number, rate: number): FaultRuleInput[] {
  const once = (method: string, path: string): FaultRuleInput => ({
    method,
    path,
    probability: 0.25,
    times: 1,
    action: { type: 'drop-after-write' },
  });
  const rules: FaultRuleInput[] = [
    once('POST', '/accounts/*/cfd_tunnel'),
    once('DELETE', '/accounts/*/cfd_tunnel/*'),
    once('PUT', '/accounts/*/cfd_tunnel/*/configurations'),
    once('POST', '/zones/*/dns_records/batch'),
    once('POST', '/accounts/*/access/service_tokens'),
    once('DELETE', '/accounts/*/access/service_tokens/*'),
    once('POST', '/accounts/*/access/apps'),
    once('POST', '/accounts/*/access/apps/*/policies'),
    once('DELETE', '/accounts/*/access/apps/*'),
    once('*', '/zones/*/rulesets/**'),
    // And one of each other kind early on, whatever the draws below give.
    {
      method: '*',
      pathRegex: RECONCILER_PATHS,
      probability: 0.05,
      times: 1,
      action: { type: 'error', status: 500 },
    },
    {
      method: '*',
      pathRegex: RECONCILER_PATHS,
      probability: 0.05,
      times: 1,
      action: { type: 'error', status: 429, retryAfter: 1 },
    },
    { method: '*', pathRegex: RECONCILER_PATHS, probability: 0.05, times: 1, action: { type: 'hang' } },
    {
      method: '*',
      pathRegex: RECONCILER_PATHS,
      probability: 0.4 * rate,
      action: { type: 'error', status: 500 },
    },
    {
      method: '*',
      pathRegex: RECONCILER_PATHS,
      probability: 0.3 * rate,
      action: { type: 'error', status: 429, retryAfter: 1 },
    },
    { method: '*', pathRegex: RECONCILER_PATHS, probability: 0.3 * rate, action: { type: 'hang' } },
    ...['POST', 'PUT', 'PATCH', 'DELETE'].map((method): FaultRuleInput => ({
      method,
      pathRegex: RECONCILER_PATHS,
      probability: 0.3 * rate,
      action: { type: 'drop-after-write' },
    })),
  ];
  return rules.map((r, i) =>
    r.probability === undefined ? r : { ...r, seed: (Math.imul(seed, 31) + i) >>> 0 },
  );
}

export interface ChaosOptions {
  seed: number;
  /** A PostgreSQL URL whose credentials may CREATE DATABASE: the run gets a scratch database. SQLite otherwise. */
  postgres?: string;
  replicas: number;
  users: number;
  defaultConfigMode: 'local' | 'remote';
  /** Fraction of the reconciler's Cloudflare calls that fail (about). */
  faultRate: number;
  /** A kill comes after this many Cloudflare writes (drawn within) … */
  killAfterWrites: [number, number];
  /** … or after this long without them (ms), so the API's own work is hit too. */
  killAfterMs: [number, number];
  /** How long a killed replica stays down before its restart (ms). */
  downMs: [number, number];
  /** Where progress lines go. */
  log(line: string): void;
  /** Keep the run's folder (logs, emulator state) even when all is well. */
  keepDir?: boolean;
}

export interface CreateSizes {
  tunnelsPerUser: number;
  /** Routes per new tunnel: the kinds in turn (http, allow-listed, Access for people, tcp, ssh). */
  routesPerTunnel: number;
}

export interface DeleteSizes {
  /** Of the acknowledged tunnels, this fraction is deleted (at least `minPerMode` of each mode when there are that many). */
  tunnelFraction: number;
  /** Of the acknowledged routes on the other tunnels, this fraction of each kind is deleted (at least `minPerKind` of each). */
  routeFraction: number;
  minPerMode: number;
  minPerKind: number;
  /** New routes added meanwhile, per user. */
  newRoutesPerUser: number;
  /** Routes created and deleted again 0-1.5 s later (mid-creation), per user. */
  churnRoutesPerUser: number;
  /** Tunnels created with two routes and deleted again 0-1.5 s later, per user. */
  churnTunnelsPerUser: number;
}

export interface ChaosPlan {
  /** Rounds of a create phase then a delete phase; the soak repeats until `minRunMs` is spent. */
  rounds: number;
  minRunMs?: number;
  create: CreateSizes;
  delete: DeleteSizes;
  /**
   * Every this many rounds (1: each, 0: never) the create phase waits, faults and all, until the
   * API shows it done, so deletes meet complete objects; otherwise deletes meet half-made ones.
   */
  settleCreatesEvery: number;
  /** Kills in each phase (the killer waits for the next phase once a phase has had them) … */
  killsPerPhase: number;
  /**
   * … and a phase ends once its requests are answered and it has had its kills (and settled,
   * when asked), or this long after it started (ms).
   */
  phaseMaxMs: number;
  /** After faults go off, the emulator must equal the desired state within this (ms) … */
  convergeBoundMs: number;
  /** … and still equal it this long after (ms): a resync period, so resync's repairs are seen too. */
  stableMs: number;
  /**
   * As faults go off, change Cloudflare by hand as a person in the dashboard would
   * (delete a live route's record, edit a remote configuration and our firewall rule, add a
   * record, a tunnel, an Access application and a token carrying our markers): only resync can
   * repair these, so the bound then includes drift repair and orphan collection after the kills.
   */
  handDrift?: boolean;
}

export interface Kill {
  phase: string;
  replica: number;
  atMs: number;
  reason: string;
}

export interface ChaosReport {
  seed: number;
  database: 'sqlite' | 'postgres';
  replicas: number;
  dir: string;
  ms: number;
  /** `settled`: the API showed the phase's work done (everything ready) before the next phase began (asked of some create phases). */
  phases: Array<{ name: string; ms: number; operations: number; kills: number; settled: boolean }>;
  kills: Kill[];
  starts: number[];
  crashes: string[];
  faults: { injected: number; byAction: Record<string, number>; rules: FaultRule[] };
  cloudflare: {
    calls: number;
    writes: number;
    byRoute: Record<string, number>;
    batchesWithDeletes: number;
    batchesWithPosts: number;
  };
  /** Answers per kind of request (for deletes, per try: a cut delete is sent again). */
  requests: Record<'tunnelCreate' | 'routeCreate' | 'tunnelDelete' | 'routeDelete', Record<Outcome, number>>;
  /** Acknowledged creates and deletes, per kind of object (tunnels by mode, routes by kind). */
  acknowledged: { created: Record<string, number>; deleted: Record<string, number> };
  /** Deletes that took effect (acknowledged, or unanswered and gone from the API at the end), per kind. */
  deletedInEffect: Record<string, number>;
  /** Requests left without an answer (or with a 5xx), and what the client saw. */
  unknowns: string[];
  /** The hand edits made as faults went off (with `handDrift`). */
  drift: string[];
  ledger: Ledger;
  /** Milliseconds from faults off to no difference; null when the bound passed first. */
  convergedMs: number | null;
  convergeBoundMs: number;
  /** Cloudflare writes while the converged world was watched for `stableMs`. */
  writesWhileStable: number;
  /** What differs at the end (empty: nothing lost, nothing leaked). */
  differences: string[];
  /** What makes the run say nothing (no fault, no kill, a kind never created or deleted). */
  vacuous: string[];
}

const MARKERS: Markers = { instance: 'chaos' };
const USER_NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];

interface Answer {
  status: number;
  body: any;
  error?: string;
  /** How long an unanswered request was in flight before it was cut. */
  afterMs?: number;
}

/** Runs one chaos scenario from start to teardown; the run's folder is removed unless something differs (or `keepDir`). */
export async function runChaos(options: ChaosOptions, plan: ChaosPlan): Promise<ChaosReport> {
  // Separate streams, so the workload's draws do not depend on when kills and pauses happened.
  const allowLists = accessAllowLists;
  const rnd = random(options.seed);
  const killRnd = random(options.seed ^ 0x5bd1e995);
  const pauseRnd = random(options.seed ^ 0x27d4eb2f);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'tunnelplane-chaos-'));
  const log = (line: string) => options.log(`[chaos ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`);
  log(
    `seed ${options.seed} (replay: CHAOS_SEED=${options.seed}); ${options.postgres ? 'PostgreSQL' : 'SQLite'}, ${options.replicas} replica(s); logs and state in ${dir}`,
  );

  const users = USER_NAMES.slice(0, options.users).map((name) => ({
    name,
    password: `${name}-${randomBytes(6).toString('hex')}`,
  }));
  const admin = { name: 'chaosadmin', password: randomBytes(12).toString('hex') };
  writeFileSync(
    join(dir, 'users.json'),
    JSON.stringify({
      ...Object.fromEntries(users.map((u) => [u.name, u.password])),
      [admin.name]: { password: admin.password, role: 'admin' },
    }),
  );
  const auth = new Map(
    [...users, admin].map((u) => [
      u.name,
      `Basic ${Buffer.from(`${u.name}:${u.password}`).toString('base64')}`,
    ]),
  );

  const ledger: Ledger = { tunnels: [], routes: [], anomalies: [] };
  const requests: ChaosReport['requests'] = {
    tunnelCreate: { acked: 0, refused: 0, unknown: 0 },
    routeCreate: { acked: 0, refused: 0, unknown: 0 },
    tunnelDelete: { acked: 0, refused: 0, unknown: 0 },
    routeDelete: { acked: 0, refused: 0, unknown: 0 },
  };
  const kills: Kill[] = [];
  const phases: ChaosReport['phases'] = [];
  let phaseName = 'setup';
  let emulator: StandaloneEmulator | null = null;
  let database: ScratchDatabase | null = null;
  let cluster: ServerCluster | null = null;
  let stopKills = true;
  let killLoop: Promise<void> = Promise.resolve();
  let keep = false;

  const report: ChaosReport = {
    seed: options.seed,
    database: options.postgres ? 'postgres' : 'sqlite',
    replicas: options.replicas,
    dir,
    ms: 0,
    phases,
    kills,
    starts: [],
    crashes: [],
    faults: { injected: 0, byAction: {}, rules: [] },
    cloudflare: { calls: 0, writes: 0, byRoute: {}, batchesWithDeletes: 0, batchesWithPosts: 0 },
    requests,
    acknowledged: { created: {}, deleted: {} },
    deletedInEffect: {},
    unknowns: [],
    drift: [],
    ledger,
    convergedMs: null,
    convergeBoundMs: plan.convergeBoundMs,
    writesWhileStable: 0,
    differences: [],
    vacuous: [],
  };

  /** One API call on a live replica. Refused connections (nothing was sent) go to another, or wait for a restart. */
  async function call(user: string, method: string, path: string, body?: unknown): Promise<Answer> {
    for (;;) {
      const base = await cluster!.pick();
      const sent = Date.now();
      try {
        const res = await fetch(base + path, {
          method,
          headers: {
            authorization: auth.get(user)!,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(20_000),
        });
        const text = await res.text();
        let parsed: unknown = text;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          // not JSON: kept as text
        }
        return { status: res.status, body: parsed };
      } catch (err) {
        const code = (err as { cause?: { code?: string } }).cause?.code;
        if (code === 'ECONNREFUSED') {
          await sleep(50);
          continue;
        }
        return { status: 0, body: null, error: code ?? (err as Error).message, afterMs: Date.now() - sent };
      }
    }
  }

  const outcomeOf = (a: Answer): Outcome =>
    a.status >= 200 && a.status < 300 ? 'acked' : a.status >= 400 && a.status < 500 ? 'refused' : 'unknown';
  const describe = (a: Answer) =>
    a.status === 0
      ? `no answer (${a.error}, cut after ${a.afterMs} ms)`
      : `${a.status} ${JSON.stringify(a.body?.error?.code ?? a.body).slice(0, 200)}`;
  /** Unanswered requests are noted; a 5xx is one too, and a finding: the API should never answer one. */
  const noteOutcome = (what: string, a: Answer) => {
    if (a.status >= 500) ledger.anomalies.push(`${what} answered ${describe(a)}`);
    if (outcomeOf(a) === 'unknown') report.unknowns.push(`${what} (${phaseName}): ${describe(a)}`);
  };

  // --- The workload ---------------------------------------------------------------------

  type Op = () => Promise<void>;
  const usedNames = new Set<string>();
  const freshName = () => {
    for (;;) {
      const n = rnd.label(8);
      if (!usedNames.has(n)) {
        usedNames.add(n);
        return n;
      }
    }
  };
  let serviceCounter = 0;
  function routeBody(
    kind: RouteKind,
    user: string,
  ): Omit<LedgerRoute, 'owner' | 'tunnel' | 'name' | 'create'> {
    const n = ++serviceCounter;
    const host = `10.${(n >> 8) & 255}.${n & 255}.${1 + (n % 250)}`;
    switch (kind) {
      case 'http':
        return { kind, service: `http://${host}:8080`, allowIps: null, access: null };
      case 'allow':
        return {
          kind,
          service: `http://${host}:8081`,
          allowIps: ['203.0.113.0/24', `198.51.100.${1 + (n % 250)}`].sort(),
          access: null,
        };
      case 'access':
        return {
          kind,
          service: `https://${host}:8443`,
          allowIps: null,
          access: { emails: [`${user}@example.org`], emailDomains: ['corp.example'] },
        };
      case 'tcp':
        return { kind, service: `tcp://${host}:5432`, allowIps: null, access: null };
      case 'ssh':
        return { kind, service: `ssh://${host}:22`, allowIps: null, access: null };
    }
  }

  function createTunnelOp(
    user: string,
    mode: 'local' | 'remote' | undefined,
  ): { op: Op; entry: LedgerTunnel } {
    const entry: LedgerTunnel = {
      owner: user,
      name: freshName(),
      configMode: mode ?? options.defaultConfigMode,
      create: 'unknown',
    };
    ledger.tunnels.push(entry);
    const op = async () => {
      const a = await call(user, 'POST', '/api/v1/tunnels?wait=0', {
        name: entry.name,
        ...(mode ? { configMode: mode } : {}),
      });
      entry.create = outcomeOf(a);
      requests.tunnelCreate[entry.create]++;
      noteOutcome(`POST tunnel ${user}/${entry.name}`, a);
      if (entry.create === 'refused')
        ledger.anomalies.push(`POST tunnel ${user}/${entry.name} was refused: ${describe(a)}`);
    };
    return { op, entry };
  }

  function createRouteOp(user: string, tunnel: LedgerTunnel, kind: RouteKind): Op {
    return createRoute(user, tunnel, kind).op;
  }

  function createRoute(user: string, tunnel: LedgerTunnel, kind: RouteKind): { op: Op; entry: LedgerRoute } {
    const entry: LedgerRoute = {
      owner: user,
      tunnel: tunnel.name,
      name: freshName(),
      ...routeBody(kind, user),
      create: 'unknown',
    };
    ledger.routes.push(entry);
    const op = async () => {
      if (tunnel.create === 'refused') {
        entry.create = 'refused';
        return;
      }
      const body = {
        name: entry.name,
        service: entry.service,
        ...(entry.allowIps ? { allowIps: entry.allowIps } : {}),
        ...(entry.access ? { access: entry.access } : {}),
      };
      const a = await call(user, 'POST', `/api/v1/tunnels/${tunnel.name}/routes?wait=0`, body);
      entry.create = outcomeOf(a);
      requests.routeCreate[entry.create]++;
      noteOutcome(`POST route ${user}/${tunnel.name}/${entry.name}`, a);
      // A 404 is right when the tunnel's own create went unanswered (it may not exist).
      const excused = a.status === 404 && tunnel.create === 'unknown';
      if (entry.create === 'refused' && !excused)
        ledger.anomalies.push(
          `POST ${kind} route ${user}/${tunnel.name}/${entry.name} was refused: ${describe(a)}`,
        );
    };
    return { op, entry };
  }

  /** Creates a route and, once acknowledged, deletes it again soon: its deletion meets it half made. */
  function churnRouteOp(user: string, tunnel: LedgerTunnel, kind: RouteKind): Op {
    const { op, entry } = createRoute(user, tunnel, kind);
    return async () => {
      await op();
      if (entry.create !== 'acked') return;
      await sleep(pauseRnd.int(0, 1500));
      await deleteRouteOp(entry)();
    };
  }

  /** Creates a tunnel with two routes and, once they are acknowledged, deletes the tunnel again soon. */
  function churnTunnelOp(user: string, mode: 'local' | 'remote' | undefined): Op {
    const { op, entry } = createTunnelOp(user, mode);
    const routes = [
      createRoute(user, entry, rnd.pick(ROUTE_KINDS)),
      createRoute(user, entry, rnd.pick(ROUTE_KINDS)),
    ];
    return async () => {
      await op();
      if (entry.create !== 'acked') return;
      for (const r of routes) await r.op();
      await sleep(pauseRnd.int(0, 1500));
      await deleteTunnelOp(entry)();
    };
  }

  /**
   * A delete, sent again (as a client would: a delete is idempotent) while a kill cuts it, up to
   * three times; on a second try a 404 means the cut one went through. Each try is counted; a
   * refusal is an anomaly, named `refused`.
   */
  async function deleteAnswered(
    owner: string,
    path: string,
    what: string,
    refused: string,
    counts: Record<Outcome, number>,
  ): Promise<Outcome> {
    for (let attempt = 1; ; attempt++) {
      const a = await call(owner, 'DELETE', path);
      const outcome = attempt > 1 && a.status === 404 ? 'acked' : outcomeOf(a);
      counts[outcome]++;
      noteOutcome(what, a);
      if (outcome === 'refused')
        ledger.anomalies.push(`${refused} (acknowledged) was refused: ${describe(a)}`);
      if (outcome !== 'unknown' || attempt === 3) return outcome;
      await sleep(100);
    }
  }

  function deleteTunnelOp(t: LedgerTunnel): Op {
    t.delete = 'unknown';
    return async () => {
      const what = `DELETE tunnel ${t.owner}/${t.name}`;
      const path = `/api/v1/tunnels/${t.name}?wait=0`;
      t.delete = await deleteAnswered(t.owner, path, what, what, requests.tunnelDelete);
    };
  }

  function deleteRouteOp(r: LedgerRoute): Op {
    r.delete = 'unknown';
    return async () => {
      const key = `${r.owner}/${r.tunnel}/${r.name}`;
      const path = `/api/v1/tunnels/${r.tunnel}/routes/${r.name}?wait=0`;
      const refused = `DELETE ${r.kind} route ${key}`;
      r.delete = await deleteAnswered(r.owner, path, `DELETE route ${key}`, refused, requests.routeDelete);
    };
  }

  /** Per user, in order: new tunnels (remote, local, the default mode in turn), then their routes shuffled. */
  function planCreates(sizes: CreateSizes): Op[][] {
    const modes: Array<'local' | 'remote' | undefined> = ['remote', 'local', undefined];
    return users.map((u, ui) => {
      const tunnelOps: Op[] = [];
      const routeOps: Op[] = [];
      for (let i = 0; i < sizes.tunnelsPerUser; i++) {
        const { op, entry } = createTunnelOp(u.name, modes[(i + ui) % modes.length]);
        tunnelOps.push(op);
        for (let k = 0; k < sizes.routesPerTunnel; k++)
          routeOps.push(createRouteOp(u.name, entry, ROUTE_KINDS[(k + i) % ROUTE_KINDS.length]!));
      }
      return [...tunnelOps, ...rnd.shuffle(routeOps)];
    });
  }

  const standing = (x: { create: Outcome; delete?: Outcome }) =>
    x.create === 'acked' && x.delete === undefined;

  /**
   * Deletes some acknowledged tunnels (of both modes) and some acknowledged routes (of every kind)
   * of the others; adds a few routes; and creates routes and tunnels that are deleted again while
   * the reconciler is still making them.
   */
  function planDeletes(sizes: DeleteSizes): Op[][] {
    const ops = new Map(users.map((u) => [u.name, [] as Op[]]));
    const tunnels = ledger.tunnels.filter(standing);
    const doomed = new Set<LedgerTunnel>();
    for (const mode of ['local', 'remote'] as const) {
      const ofMode = rnd.shuffle(tunnels.filter((t) => t.configMode === mode));
      const n = Math.min(
        ofMode.length - 1,
        Math.max(sizes.minPerMode, Math.round(ofMode.length * sizes.tunnelFraction)),
      );
      for (const t of ofMode.slice(0, Math.max(0, n))) doomed.add(t);
    }
    for (const t of doomed) ops.get(t.owner)!.push(deleteTunnelOp(t));
    const survivors = tunnels.filter((t) => !doomed.has(t));
    const byKey = new Map(survivors.map((t) => [`${t.owner}/${t.name}`, t]));
    const routes = ledger.routes.filter((r) => standing(r) && byKey.has(`${r.owner}/${r.tunnel}`));
    for (const kind of ROUTE_KINDS) {
      const ofKind = rnd.shuffle(routes.filter((r) => r.kind === kind));
      const n = Math.min(
        ofKind.length,
        Math.max(sizes.minPerKind, Math.round(ofKind.length * sizes.routeFraction)),
      );
      for (const r of ofKind.slice(0, n)) ops.get(r.owner)!.push(deleteRouteOp(r));
    }
    for (const u of users) {
      const own = survivors.filter((t) => t.owner === u.name);
      for (let i = 0; i < sizes.newRoutesPerUser && own.length > 0; i++)
        ops.get(u.name)!.push(createRouteOp(u.name, rnd.pick(own), rnd.pick(ROUTE_KINDS)));
      for (let i = 0; i < sizes.churnRoutesPerUser && own.length > 0; i++)
        ops.get(u.name)!.push(churnRouteOp(u.name, rnd.pick(own), rnd.pick(ROUTE_KINDS)));
      for (let i = 0; i < sizes.churnTunnelsPerUser; i++)
        ops.get(u.name)!.push(churnTunnelOp(u.name, rnd.pick(['local', 'remote', undefined] as const)));
    }
    return users.map((u) => rnd.shuffle(ops.get(u.name)!));
  }

  // --- Kills ----------------------------------------------------------------------------

  const killsIn = (phase: string) => kills.filter((k) => k.phase === phase).length;

  /** Arms a kill (after some writes, or some time), kills a live replica, restarts it; `killsPerPhase` per phase. */
  async function killer(): Promise<void> {
    while (!stopKills) {
      if (killsIn(phaseName) >= plan.killsPerPhase) {
        await sleep(100);
        continue;
      }
      const armedIn = phaseName;
      const writes = killRnd.int(...options.killAfterWrites);
      const ms = killRnd.int(...options.killAfterMs);
      const from = writeCount(await emulator!.control.stats());
      const since = Date.now();
      let reason = '';
      while (!stopKills && !reason) {
        await sleep(25);
        const now = writeCount(await emulator!.control.stats());
        if (now - from >= writes) reason = `after ${now - from} Cloudflare writes`;
        else if (Date.now() - since >= ms) reason = `after ${ms} ms (${now - from} writes)`;
      }
      if (stopKills) return;
      if (phaseName !== armedIn && killsIn(phaseName) >= plan.killsPerPhase) continue;
      const up = Array.from({ length: cluster!.size }, (_, i) => i).filter((i) => cluster!.isUp(i));
      if (up.length === 0) continue;
      const victim = killRnd.pick(up);
      await cluster!.kill(victim);
      kills.push({ phase: phaseName, replica: victim, atMs: Date.now() - started, reason });
      log(`SIGKILL #${kills.length} (${phaseName}): replica ${victim}, ${reason}`);
      await sleep(killRnd.int(...options.downMs));
      await cluster!.start(victim);
    }
  }

  async function runPhase(name: string, streams: Op[][], settle: boolean) {
    phaseName = name;
    const t0 = Date.now();
    const count = streams.reduce((n, s) => n + s.length, 0);
    log(`phase ${name}: ${count} operations`);
    await Promise.all(
      streams.map(async (stream) => {
        for (const op of stream) {
          await sleep(pauseRnd.int(30, 300));
          await op();
        }
      }),
    );
    // The phase goes on (faults still on) until it has had its kills and, when asked, until the
    // API shows its work done (so the next phase's deletes meet objects that exist in Cloudflare).
    let settled = false;
    while (Date.now() - t0 < plan.phaseMaxMs) {
      if (killsIn(name) >= plan.killsPerPhase && (!settle || (settled = await apiSettled()))) break;
      await sleep(500);
    }
    phases.push({ name, ms: Date.now() - t0, operations: count, kills: killsIn(name), settled });
    log(
      `phase ${name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s with ${killsIn(name)} kills${settle ? (settled ? ', settled' : `, NOT settled within ${plan.phaseMaxMs / 1000} s`) : ''}`,
    );
  }

  async function apiSettled(): Promise<boolean> {
    const view = await apiView();
    return view.errors.length === 0 && apiSettledDifferences(view.tunnels).length === 0;
  }

  // --- The comparison -------------------------------------------------------------------

  async function apiView(withCredentials = false): Promise<{ tunnels: ApiTunnel[]; errors: string[] }> {
    const tunnels: ApiTunnel[] = [];
    const errors: string[] = [];
    for (const u of users) {
      let cursor: string | null = null;
      do {
        const a = await call(
          u.name,
          'GET',
          `/api/v1/tunnels?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        if (a.status !== 200) {
          errors.push(`api: GET /api/v1/tunnels as ${u.name} answered ${describe(a)}`);
          break;
        }
        for (const t of a.body.items as ApiTunnel[]) tunnels.push({ ...t, owner: t.owner ?? u.name });
        cursor = a.body.nextCursor ?? null;
      } while (cursor);
    }
    if (withCredentials) {
      for (const t of tunnels) {
        if (!t.id || t.phase === 'deleting') continue;
        const a = await call(t.owner, 'GET', `/api/v1/tunnels/${t.name}/credentials`);
        if (a.status === 200) t.credentials = a.body;
        else errors.push(`api: GET credentials of ${t.owner}/${t.name} answered ${describe(a)}`);
      }
    }
    return { tunnels, errors };
  }

  let lastView: ApiTunnel[] = [];
  async function differences(): Promise<string[]> {
    const view = await apiView(true);
    lastView = view.tunnels;
    const state: EmulatorState = await emulator!.control.state();
    return [
      ...view.errors,
      ...cluster!.crashes,
      ...ledgerDifferences(ledger, view.tunnels),
      ...desiredStateDifferences(view.tunnels, state, MARKERS, allowLists),
    ];
  }

  /** Changes Cloudflare by hand, through the emulator's public API (see ChaosPlan.handDrift). */
  async function injectDrift(): Promise<void> {
    const em = emulator!;
    const hand = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(em.url + path, {
        method,
        headers: { authorization: `Bearer ${em.token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const json = (await res.json()) as { result: any; errors: unknown[] };
      if (!res.ok) throw new Error(`hand ${method} ${path}: ${res.status} ${JSON.stringify(json.errors)}`);
      return json.result;
    };
    const done = (what: string) => {
      report.drift.push(what);
      log(`hand drift: ${what}`);
    };
    const view = desiredOf((await apiView()).tunnels);
    const state = await em.control.state();
    const cfOf = (t: ApiTunnel) =>
      state.tunnels.find((x) => !x.deletedAt && x.name === `tunnelplane-${MARKERS.instance}-${t.name}`);
    const withRoutes = view.filter((t) => t.routes.length > 0 && cfOf(t));
    const victim = withRoutes[0]?.routes[0];
    const record = victim && state.dnsRecords.find((r) => r.name === victim.hostname);
    if (record) {
      await hand('DELETE', `/zones/${em.zoneId}/dns_records/${record.id}`);
      done(`deleted the DNS record of live route ${victim.hostname}`);
    }
    const remote = withRoutes.find((t) => t.configMode === 'remote');
    if (remote) {
      await hand('PUT', `/accounts/${em.accountId}/cfd_tunnel/${cfOf(remote)!.id}/configurations`, {
        config: {
          ingress: [
            { hostname: `drift.${em.zoneName}`, service: 'http://drift:1' },
            { service: 'http_status:404' },
          ],
        },
      });
      done(`replaced the remote configuration of ${remote.owner}/${remote.name}`);
    }
    const anchor = withRoutes[0];
    if (anchor) {
      const name = `zzdrift-${anchor.name}.${em.zoneName}`;
      await hand('POST', `/zones/${em.zoneId}/dns_records`, {
        type: 'CNAME',
        name,
        content: `${cfOf(anchor)!.id}.cfargotunnel.com`,
        proxied: true,
        ttl: 1,
        comment: `managed-by:tunnelplane/${MARKERS.instance} tunnel=${anchor.name} route=zzdrift`,
      });
      done(`added an orphan DNS record ${name} with our marker`);
      const accessName = `tunnelplane-${MARKERS.instance}-${anchor.name}-zzdrift`;
      await hand('POST', `/accounts/${em.accountId}/access/apps`, {
        type: 'self_hosted',
        domain: name,
        name: accessName,
      });
      await hand('POST', `/accounts/${em.accountId}/access/service_tokens`, { name: accessName });
      done(`added an orphan Access application and service token ${accessName}`);
    }
    const orphan = `tunnelplane-${MARKERS.instance}-zzdrift${rnd.label(4)}`;
    await hand('POST', `/accounts/${em.accountId}/cfd_tunnel`, {
      name: orphan,
      config_src: 'local',
      tunnel_secret: randomBytes(32).toString('base64'),
    });
    done(`added an orphan tunnel ${orphan}`);
    const ruleset = state.rulesets.find((r) => r.phase === 'http_request_firewall_custom');
    const rule = ruleset?.rules.find((r) => r.ref.startsWith(`tunnelplane-${MARKERS.instance}-allowlist-`));
    if (ruleset && rule) {
      await hand('PATCH', `/zones/${em.zoneId}/rulesets/${ruleset.id}/rules/${rule.id}`, {
        action: 'block',
        expression: '(ip.src eq 192.0.2.99)',
        ref: rule.ref,
      });
      done(`edited our firewall rule ${rule.ref}`);
    }
  }

  try {
    emulator = await startStandaloneEmulator(dir);
    // The budget is not what is tested here (the run resyncs every 5 s); faults bring their own 429s.
    await emulator.control.setRateLimit({ requests: 1_000_000, windowSeconds: 300 });
    if (options.postgres) database = await createScratchDatabase(options.postgres, 'tunnelplane_chaos');
    const databaseUrl = database ? database.url : `sqlite:${join(dir, 'tunnelplane.sqlite')}`;
    const secretKey = randomBytes(32).toString('base64');
    const em = emulator;
    cluster = serverCluster({
      size: options.replicas,
      dir,
      env: () => ({
        TUNNELPLANE_HOST: '127.0.0.1',
        TUNNELPLANE_PORT: '0',
        TUNNELPLANE_DATABASE_URL: databaseUrl,
        TUNNELPLANE_SECRET_KEY: secretKey,
        TUNNELPLANE_USERS_FILE: join(dir, 'users.json'),
        TUNNELPLANE_CLOUDFLARE_API_TOKEN: em.token,
        TUNNELPLANE_CLOUDFLARE_ACCOUNT_ID: em.accountId,
        TUNNELPLANE_CLOUDFLARE_ZONE: em.zoneName,
        TUNNELPLANE_CLOUDFLARE_BASE_URL: em.url,
        TUNNELPLANE_CLOUDFLARE_TIMEOUT_MS: '1000',
        TUNNELPLANE_CLOUDFLARE_RATE_LIMIT_REQUESTS: '1000000',
        TUNNELPLANE_DEFAULT_CONFIG_MODE: options.defaultConfigMode,
        TUNNELPLANE_LEASE_SECONDS: '2',
        // The workload is a burst by design; pacing users' changes is tested on its own.
        TUNNELPLANE_API_MUTATIONS_PER_MINUTE: '0',
        // Its users make more TCP and protected routes than the default quotas allow.
        TUNNELPLANE_QUOTA_PROTECTED_ROUTES: '1000',
        TUNNELPLANE_QUOTA_TCP_ROUTES: '1000',
        TUNNELPLANE_BACKOFF_MAX_SECONDS: '2',
        TUNNELPLANE_RESYNC_SECONDS: '5',
        TUNNELPLANE_CONFIG_MAX_DELAY_SECONDS: '2',
        TUNNELPLANE_LOG_LEVEL: 'info',
        TUNNELPLANE_INSTANCE: MARKERS.instance,
      }),
    });
    // One at a time: the first one migrates a fresh database.
    for (let i = 0; i < options.replicas; i++) await cluster.start(i);
    for (const u of users) {
      const a = await call(admin.name, 'PUT', `/api/v1/admin/users/${u.name}/quotas`, {
        tunnels: 1000,
        routes: 10000,
      });
      if (a.status !== 200) throw new Error(`setting ${u.name}'s quotas: ${describe(a)}`);
    }
    for (const rule of faultPlan(options.seed, options.faultRate)) await emulator.control.addFault(rule);
    log(
      `faults on (about ${Math.round(options.faultRate * 100)} % of the reconciler's calls); ${options.replicas} replica(s) serving`,
    );

    stopKills = false;
    killLoop = killer();
    killLoop.catch(() => undefined);
    for (
      let round = 1;
      round <= plan.rounds || (plan.minRunMs !== undefined && Date.now() - started < plan.minRunMs);
      round++
    ) {
      const settle = plan.settleCreatesEvery > 0 && round % plan.settleCreatesEvery === 0;
      await runPhase(`create-${round}`, planCreates(plan.create), settle);
      await runPhase(`delete-${round}`, planDeletes(plan.delete), false);
    }
    stopKills = true;
    await killLoop;
    phaseName = 'converge';
    for (let i = 0; i < cluster.size; i++) if (!cluster.isUp(i)) await cluster.start(i);

    report.faults.rules = await emulator.control.faults();
    await emulator.control.clearFaults();
    // The hand edits go in right after the faults come off (they would be faulted otherwise).
    if (plan.handDrift) await injectDrift();
    const off = Date.now();
    log(
      `faults off after ${kills.length} kills; waiting up to ${plan.convergeBoundMs / 1000} s for the emulator to equal the desired state`,
    );
    let diffs = await differences();
    while (diffs.length > 0 && Date.now() - off < plan.convergeBoundMs) {
      await sleep(1000);
      diffs = await differences();
    }
    if (diffs.length === 0) {
      report.convergedMs = Date.now() - off;
      log(
        `converged ${(report.convergedMs / 1000).toFixed(1)} s after faults off; watching it for ${plan.stableMs / 1000} s`,
      );
      const before = writeCount(await emulator.control.stats());
      await sleep(plan.stableMs);
      diffs = await differences();
      report.writesWhileStable = writeCount(await emulator.control.stats()) - before;
    } else {
      log(`not converged ${plan.convergeBoundMs / 1000} s after faults off: ${diffs.length} differences`);
    }
    report.differences = diffs;

    const stats = await emulator.control.stats();
    report.cloudflare = {
      calls: stats.total,
      writes: writeCount(stats),
      byRoute: stats.byRoute,
      batchesWithDeletes: 0,
      batchesWithPosts: 0,
    };
    for (const entry of await emulator.control.requests({ route: '/zones/:zone/dns_records/batch' })) {
      const body = entry.body as { deletes?: unknown[]; posts?: unknown[] } | undefined;
      if (body?.deletes?.length) report.cloudflare.batchesWithDeletes++;
      if (body?.posts?.length) report.cloudflare.batchesWithPosts++;
    }
    report.faults.injected = stats.faultsInjected;
    for (const rule of report.faults.rules) {
      const key = rule.action.type === 'error' ? `error ${rule.action.status}` : rule.action.type;
      report.faults.byAction[key] = (report.faults.byAction[key] ?? 0) + rule.injected;
    }
    report.acknowledged = acknowledged(ledger);
    report.deletedInEffect = deletedInEffect(ledger, lastView);
    report.vacuous = vacuity(report, plan);
    keep = options.keepDir === true || report.differences.length > 0 || report.vacuous.length > 0;
    return report;
  } catch (err) {
    keep = true;
    throw err;
  } finally {
    stopKills = true;
    await killLoop.catch(() => undefined);
    report.ms = Date.now() - started;
    report.starts = cluster ? [...cluster.starts] : [];
    report.crashes = cluster ? [...cluster.crashes] : [];
    await cluster?.stop();
    await emulator?.stop();
    await database?.drop().catch((err: Error) => log(`could not drop ${database!.name}: ${err.message}`));
    if (keep) log(`kept ${dir} (server logs, emulator state and log)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** Acknowledged creates and deletes per kind: tunnels by mode, routes by kind. */
function acknowledged(ledger: Ledger): ChaosReport['acknowledged'] {
  const created: Record<string, number> = {};
  const deleted: Record<string, number> = {};
  const add = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
  for (const t of ledger.tunnels) {
    if (t.create === 'acked') add(created, `tunnel ${t.configMode}`);
    if (t.delete === 'acked') add(deleted, `tunnel ${t.configMode}`);
  }
  for (const r of ledger.routes) {
    if (r.create === 'acked') add(created, `route ${r.kind}`);
    if (r.delete === 'acked') add(deleted, `route ${r.kind}`);
  }
  return { created, deleted };
}

/** Deletes that took effect: acknowledged, or unanswered and no longer in the API's final view. */
function deletedInEffect(ledger: Ledger, view: readonly ApiTunnel[]): Record<string, number> {
  const tunnels = new Set(view.map((t) => `${t.owner}/${t.name}`));
  const routes = new Set(view.flatMap((t) => t.routes.map((r) => `${t.owner}/${t.name}/${r.name}`)));
  const out: Record<string, number> = {};
  const add = (k: string) => (out[k] = (out[k] ?? 0) + 1);
  for (const t of ledger.tunnels) {
    if (t.delete === 'acked' || (t.delete === 'unknown' && !tunnels.has(`${t.owner}/${t.name}`)))
      add(`tunnel ${t.configMode}`);
  }
  for (const r of ledger.routes) {
    if (r.delete === 'acked' || (r.delete === 'unknown' && !routes.has(`${r.owner}/${r.tunnel}/${r.name}`)))
      add(`route ${r.kind}`);
  }
  return out;
}

/** Why a run proves nothing: faults or kills missing, or a kind of object never made and removed. */
function vacuity(r: ChaosReport, plan: ChaosPlan): string[] {
  const out: string[] = [];
  for (const action of ['error 500', 'error 429', 'hang', 'drop-after-write']) {
    if (!r.faults.byAction[action]) out.push(`no ${action} fault was injected`);
  }
  for (const p of r.phases)
    if (p.kills < Math.min(1, plan.killsPerPhase)) out.push(`phase ${p.name} saw no kill`);
  for (const kind of ['tunnel local', 'tunnel remote', ...ROUTE_KINDS.map((k) => `route ${k}`)]) {
    if (!r.acknowledged.created[kind]) out.push(`no ${kind} create was acknowledged`);
    if (!r.deletedInEffect[kind]) out.push(`no ${kind} delete took effect`);
  }
  const calls = (re: RegExp) =>
    Object.entries(r.cloudflare.byRoute).reduce((n, [k, v]) => (re.test(k) ? n + v : n), 0);
  const wanted: Array<[string, RegExp]> = [
    ['tunnel creates', /^POST \/accounts\/:\w+\/cfd_tunnel$/],
    ['tunnel deletes', /^DELETE \/accounts\/:\w+\/cfd_tunnel\/:\w+$/],
    ['configuration PUTs', /^PUT .*\/configurations$/],
    ['Access application creates', /^POST .*\/access\/apps$/],
    ['Access application deletes', /^DELETE .*\/access\/apps\/:\w+$/],
    ['service token creates', /^POST .*\/access\/service_tokens$/],
    ['service token deletes', /^DELETE .*\/access\/service_tokens\/:\w+$/],
  ];
  // Allow-lists are Access applications: among the application creates.
  for (const [what, re] of wanted) if (calls(re) === 0) out.push(`Cloudflare saw no ${what}`);
  if (r.cloudflare.batchesWithPosts === 0) out.push('no DNS batch created a record');
  if (r.cloudflare.batchesWithDeletes === 0) out.push('no DNS batch deleted a record');
  return out;
}

/** The figures of a run as a few readable lines. */
export function summarize(r: ChaosReport): string {
  const fmt = (m: Record<string, number>) =>
    Object.entries(m)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  const req = (k: keyof ChaosReport['requests']) =>
    `${r.requests[k].acked} acked / ${r.requests[k].unknown} unknown / ${r.requests[k].refused} refused`;
  return [
    `chaos run, seed ${r.seed}: ${r.database}, ${r.replicas} replica(s), ${(r.ms / 1000).toFixed(0)} s`,
    `  phases: ${r.phases.map((p) => `${p.name} ${(p.ms / 1000).toFixed(1)} s, ${p.operations} operations, ${p.kills} kills${p.settled ? ', settled' : ''}`).join('; ')}`,
    `  kills: ${r.kills.length} (starts per replica ${r.starts.join(', ')}); crashes: ${r.crashes.length}`,
    `  faults injected: ${r.faults.injected} (${fmt(r.faults.byAction)}) over ${r.cloudflare.calls} Cloudflare calls (${r.cloudflare.writes} writes)`,
    `  tunnel creates ${req('tunnelCreate')}; route creates ${req('routeCreate')}`,
    `  tunnel deletes ${req('tunnelDelete')}; route deletes ${req('routeDelete')} (tries: a cut delete is sent again)`,
    `  acknowledged creates: ${fmt(r.acknowledged.created)}`,
    `  acknowledged deletes: ${fmt(r.acknowledged.deleted)}; deletes in effect (acknowledged or unanswered and gone): ${fmt(r.deletedInEffect)}`,
    ...(r.unknowns.length
      ? [`  unanswered requests: ${r.unknowns.length}${r.unknowns.map((u) => `\n    - ${u}`).join('')}`]
      : []),
    `  converged: ${r.convergedMs === null ? `NO, not within ${r.convergeBoundMs / 1000} s` : `${(r.convergedMs / 1000).toFixed(1)} s after faults off (bound ${r.convergeBoundMs / 1000} s)`}; Cloudflare writes while watched: ${r.writesWhileStable}`,
    ...(r.drift.length ? [`  hand drift as faults went off: ${r.drift.join('; ')}`] : []),
    `  differences: ${r.differences.length}${r.differences.map((d) => `\n    - ${d}`).join('')}`,
    ...(r.vacuous.length ? [`  proves nothing because: ${r.vacuous.join('; ')}`] : []),
  ].join('\n');
}
