// Composition root of the Cloudflare API emulator: validates the options, builds the state
// (fresh, or loaded from `statePath`), wires routes, rate limiter, faults and request log
// into one node:http server, and returns the URLs, identity and control handle.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultAccessLimits, mergeAccessLimits, type AccessLimits } from './access-limits.js';
import { accessRoutes } from './access.js';
import {
  createControl,
  createControlHttpHandler,
  type CloudflareEmulatorControl,
  type EmulatorInfo,
} from './control.js';
import { dnsRoutes } from './dns.js';
import { createFaultInjector } from './faults.js';
import { apiTokenValue, hexId, HEX32, timestamp } from './ids.js';
import { isPlan, type Plan } from './plans.js';
import { checkRateLimit, createRateLimiter, type RateLimit } from './rate-limit.js';
import { createRequestLog } from './request-log.js';
import { createRouter } from './router.js';
import { rulesetRoutes } from './rulesets.js';
import { API_PREFIX, createRequestHandler, type ServerSettings } from './server.js';
import { createStateFile } from './state-file.js';
import {
  cloneState,
  fullAccess,
  initialState,
  type EmulatorState,
  type PrimaryIdentity,
  type Store,
} from './state.js';
import { tunnelRoutes } from './tunnels.js';
import { zoneRoutes } from './zones.js';

export type {
  CloudflareEmulatorControl,
  AddTokenInput,
  AddZoneOptions,
  ZoneInfo,
  EmulatorInfo,
} from './control.js';
export type { AccessLimits } from './access-limits.js';
export type { AccessRequest, AccessVerdict, AccessOutcome, AppPolicyView } from './access-evaluation.js';
export { ControlError } from './errors.js';
export type { FaultAction, FaultRule, FaultRuleInput } from './faults.js';
export type { RequestFilter, RequestLogEntry, EmulatorStats, RequestOutcome } from './request-log.js';
export type { AttachConnectorOptions, TunnelStatus } from './tunnels.js';
export type { EmulatorState, Area, AreaAccess } from './state.js';
export type { Plan } from './plans.js';
export type { RateLimit } from './rate-limit.js';

export interface CloudflareEmulatorOptions {
  /** 0 = random. Default 0. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default: a random 40-character token, scoped to the account and zone. */
  token?: string;
  /** Default: random 32-hex. */
  accountId?: string;
  /** Default `example.com`. */
  zoneName?: string;
  /** Default: random 32-hex. */
  zoneId?: string;
  /** Default `free`. */
  plan?: Plan;
  /** Load state from this file at start and write it back after changes and on close. */
  statePath?: string;
  /** Default 1200 requests / 300 s per token. */
  rateLimit?: RateLimit;
  /** Latency added to every Cloudflare call. Default 0. */
  latencyMs?: number;
  /** Cap on the `retry-after` seconds sent with 429s (tests use small values). */
  retryAfterSeconds?: number;
  /** Send `x-should-retry: false` with 409s so SDK clients fail fast (real Cloudflare does not). */
  noRetryOn409?: boolean;
  /** Entries kept in the request log. Default 10,000. */
  requestLogLimit?: number;
  /** Access account limits to enforce instead of the documented ones (tests use small numbers). */
  accessLimits?: Partial<AccessLimits>;
}

export interface StartedCloudflareEmulator {
  /** e.g. http://127.0.0.1:PORT/client/v4 — pass as the SDK's `baseURL`. */
  url: string;
  /** e.g. http://127.0.0.1:PORT — control paths live under `${origin}/__emulator`. */
  origin: string;
  accountId: string;
  zoneId: string;
  zoneName: string;
  token: string;
  control: CloudflareEmulatorControl;
  close(): Promise<void>;
}

function checkOptions(opts: CloudflareEmulatorOptions): void {
  const problems: string[] = [];
  if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port >= 0 && opts.port <= 65535)) {
    problems.push('port must be an integer from 0 to 65535');
  }
  if (opts.accountId !== undefined && !HEX32.test(opts.accountId))
    problems.push('accountId must be 32 lowercase hex characters');
  if (opts.zoneId !== undefined && !HEX32.test(opts.zoneId))
    problems.push('zoneId must be 32 lowercase hex characters');
  if (opts.zoneName !== undefined && !/^([a-z0-9][-a-z0-9]*\.)+[-a-z0-9]{2,20}$/.test(opts.zoneName)) {
    problems.push('zoneName must be a lower-case domain name such as example.com');
  }
  if (opts.plan !== undefined && !isPlan(opts.plan)) problems.push('plan must be free or pro');
  if (opts.token !== undefined && (opts.token === '' || /\s/.test(opts.token)))
    problems.push('token must be non-empty and without spaces');
  if (opts.latencyMs !== undefined && !(opts.latencyMs >= 0)) problems.push('latencyMs must be >= 0');
  if (opts.retryAfterSeconds !== undefined && !(opts.retryAfterSeconds >= 0))
    problems.push('retryAfterSeconds must be >= 0');
  if (opts.rateLimit !== undefined) {
    try {
      checkRateLimit(opts.rateLimit);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (opts.accessLimits !== undefined) {
    try {
      mergeAccessLimits(defaultAccessLimits, opts.accessLimits);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new Error(`invalid Cloudflare emulator options: ${problems.join('; ')}`);
}

/** The identity recorded in a loaded state: its first account, a zone of it, and a token of it. */
function identityOf(state: EmulatorState, token: string | undefined): PrimaryIdentity {
  const account = state.accounts[0];
  const zone = state.zones.find((z) => z.accountId === account?.id) ?? state.zones[0];
  let apiToken = state.apiTokens.find((t) => (token ? t.value === token : t.accountId === account?.id));
  if (!account || !zone) throw new Error('state file has no account or zone');
  if (!apiToken && token) {
    apiToken = {
      id: hexId(),
      value: token,
      accountId: account.id,
      zoneIds: [zone.id],
      permissions: { ...fullAccess },
    };
    state.apiTokens.push(apiToken);
  }
  if (!apiToken) throw new Error('state file has no API token for its account');
  return {
    accountId: account.id,
    zoneId: zone.id,
    zoneName: zone.name,
    plan: zone.plan,
    token: apiToken.value,
    tokenId: apiToken.id,
  };
}

/** Starts an emulator on `host:port`; resolves once it is listening. */
export async function startCloudflareEmulator(
  opts: CloudflareEmulatorOptions = {},
): Promise<StartedCloudflareEmulator> {
  checkOptions(opts);
  let state: EmulatorState;
  let primary: PrimaryIdentity;
  const stateFile = opts.statePath ? createStateFile(opts.statePath, () => store.state) : undefined;
  const loaded = stateFile?.load();
  if (loaded) {
    state = loaded;
    primary = identityOf(state, opts.token);
  } else {
    primary = {
      accountId: opts.accountId ?? hexId(),
      zoneId: opts.zoneId ?? hexId(),
      zoneName: opts.zoneName ?? 'example.com',
      plan: opts.plan ?? 'free',
      token: opts.token ?? apiTokenValue(),
      tokenId: hexId(),
    };
    state = initialState(primary, timestamp());
  }
  const store: Store = { state, primary, changed: () => stateFile?.schedule() };
  const initial: EmulatorState = {
    ...cloneState(state),
    tunnels: [],
    dnsRecords: [],
    rulesets: [],
    accessApps: [],
    accessPolicies: [],
    serviceTokens: [],
  };

  const startRateLimit = opts.rateLimit ?? { requests: 1200, windowSeconds: 300 };
  const settings: ServerSettings = {
    latencyMs: opts.latencyMs ?? 0,
    noRetryOn409: opts.noRetryOn409 ?? false,
  };
  const startAccessLimits = mergeAccessLimits(defaultAccessLimits, opts.accessLimits ?? {});
  const access = { limits: { ...startAccessLimits } };
  const rateLimiter = createRateLimiter(startRateLimit, opts.retryAfterSeconds);
  const faults = createFaultInjector();
  const log = createRequestLog(opts.requestLogLimit);
  const router = createRouter([
    ...zoneRoutes(store),
    ...tunnelRoutes(store),
    ...dnsRoutes(store),
    ...rulesetRoutes(store),
    ...accessRoutes(store, access),
  ]);

  const identity: { info?: EmulatorInfo } = {};
  const control = createControl({
    store,
    rateLimiter,
    faults,
    log,
    settings,
    initial,
    startRateLimit,
    startLatencyMs: settings.latencyMs,
    access,
    startAccessLimits,
    info: () => {
      if (!identity.info) throw new Error('emulator is not listening yet');
      return { ...identity.info };
    },
  });
  const server = createServer(
    createRequestHandler({
      store,
      router,
      rateLimiter,
      faults,
      log,
      settings,
      control: createControlHttpHandler(control),
    }),
  );
  server.keepAliveTimeout = 5_000;

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const info: EmulatorInfo = {
    url: `${origin}${API_PREFIX}`,
    origin,
    accountId: primary.accountId,
    zoneId: primary.zoneId,
    zoneName: primary.zoneName,
    token: primary.token,
  };
  identity.info = info;
  stateFile?.flush(true);

  let closing: Promise<void> | undefined;
  return {
    ...info,
    control,
    close() {
      closing ??= new Promise<void>((resolve) => {
        stateFile?.flush();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
