// The test-control surface: one typed, synchronous handle for in-process use, and the same
// operations as JSON over HTTP under /__emulator/ (no authentication, never logged, never
// rate limited). `reset()` returns to the identity the emulator started with (its accounts,
// zones and API tokens) with no resources, faults, log entries or counters, and the
// rate limit, latency and Access limits given at start.
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  appPolicies,
  evaluateAccess,
  type AccessRequest,
  type AccessVerdict,
  type AppPolicyView,
} from './access-evaluation.js';
import { mergeAccessLimits, type AccessLimits, type AccessLimitSettings } from './access-limits.js';
import { ControlError } from './errors.js';
import type { FaultInjector, FaultRule, FaultRuleInput } from './faults.js';
import { apiTokenValue, hexId, HEX32, timestamp } from './ids.js';
import { isObject } from './input.js';
import { isPlan, type Plan } from './plans.js';
import { checkRateLimit, type RateLimit, type RateLimiter } from './rate-limit.js';
import type { EmulatorStats, RequestFilter, RequestLog, RequestLogEntry } from './request-log.js';
import { sendJson, type ControlHttpHandler, type ServerSettings } from './server.js';
import {
  areas,
  cloneState,
  fullAccess,
  type Area,
  type AreaAccess,
  type EmulatorState,
  type Store,
} from './state.js';
import { attachConnector, detachConnector, type AttachConnectorOptions } from './tunnels.js';

export interface AddTokenInput {
  /** The token value; default a random 40-character token. */
  token?: string;
  /** Account the token belongs to; default the emulator's account. A new id creates that account. */
  accountId?: string;
  /** Zones the token may use; default the emulator's zone when in its account, else none. */
  zoneIds?: string[];
  /** Per-area access; default `edit` on every area (or `read` with `readOnly`). */
  permissions?: Partial<Record<Area, AreaAccess>>;
  /** Shorthand for `read` on every area. */
  readOnly?: boolean;
}

export interface AddZoneOptions {
  /** Default the emulator's account. */
  accountId?: string;
  /** Default a random 32-hex id. */
  zoneId?: string;
  /** DNS records the zone may hold, when not its plan's (an older Free zone: 1,000). */
  recordQuota?: number;
}

export interface ZoneInfo {
  id: string;
  name: string;
  plan: Plan;
  accountId: string;
}

export interface EmulatorInfo {
  url: string;
  origin: string;
  accountId: string;
  zoneId: string;
  zoneName: string;
  token: string;
}

/** Typed in-process control of a running emulator. All methods are synchronous. */
export interface CloudflareEmulatorControl {
  /** Back to the start identity: no resources, faults, requests or counters; start-time rate limit and latency. */
  reset(): void;
  /** A deep copy of the whole state (accounts, zones, tokens, tunnels with configurations, DNS, rulesets, Access). */
  state(): EmulatorState;
  requests(filter?: RequestFilter): RequestLogEntry[];
  clearRequests(): void;
  /** Adds a fault rule; returns its id. */
  addFault(rule: FaultRuleInput): string;
  removeFault(id: string): boolean;
  clearFaults(): void;
  faults(): FaultRule[];
  setRateLimit(limit: RateLimit): void;
  /** Latency added to every Cloudflare call (not to control calls). */
  setLatency(ms: number): void;
  /** Connects a simulated cloudflared to a tunnel; returns the connector id. */
  attachConnector(tunnelId: string, opts?: AttachConnectorOptions): string;
  /** Disconnects one connector, or all when `connectorId` is omitted. */
  detachConnector(tunnelId: string, connectorId?: string): void;
  /** Adds another API token; returns its value. */
  addToken(input?: AddTokenInput): string;
  /** Adds a zone (to the emulator's account and its start token, by default). */
  addZone(name: string, plan?: Plan, opts?: AddZoneOptions): ZoneInfo;
  stats(): EmulatorStats;
  resetStats(): void;
  info(): EmulatorInfo;
  /** The Access account limits in force (documented values unless changed). */
  accessLimits(): AccessLimits;
  /** Changes some Access account limits (integers >= 0); the others keep their value. */
  setAccessLimits(limits: Partial<AccessLimits>): void;
  /** Sets a service token's `expires_at` (null: never expires), e.g. to put it near expiry. */
  setServiceTokenExpiry(tokenId: string, expiresAt: string | number | Date | null): void;
  /** The policies linked to an Access application (its id or domain), in precedence order. */
  accessPolicies(app: string): AppPolicyView[];
  /** Would Access admit this request to the application (its id or domain)? See access-evaluation.ts. */
  evaluateAccess(app: string, request: AccessRequest): AccessVerdict;
}

export interface ControlDeps {
  store: Store;
  rateLimiter: RateLimiter;
  faults: FaultInjector;
  log: RequestLog;
  settings: ServerSettings;
  /** State `reset()` returns to. */
  initial: EmulatorState;
  startRateLimit: RateLimit;
  startLatencyMs: number;
  access: AccessLimitSettings;
  startAccessLimits: AccessLimits;
  info(): EmulatorInfo;
}

function checkLatency(ms: number): number {
  if (!(Number.isFinite(ms) && ms >= 0))
    throw new ControlError('latency must be a number of milliseconds >= 0');
  return ms;
}

export function createControl(deps: ControlDeps): CloudflareEmulatorControl {
  const { store, rateLimiter, faults, log, settings } = deps;

  return {
    reset() {
      store.state = cloneState(deps.initial);
      faults.clear();
      log.clear();
      log.resetStats();
      rateLimiter.set(deps.startRateLimit);
      settings.latencyMs = deps.startLatencyMs;
      deps.access.limits = { ...deps.startAccessLimits };
      store.changed();
    },
    state: () => cloneState(store.state),
    requests: (filter) => log.list(filter),
    clearRequests: () => log.clear(),
    addFault: (rule) => faults.add(rule),
    removeFault: (id) => faults.remove(id),
    clearFaults: () => faults.clear(),
    faults: () => faults.list(),
    setRateLimit: (limit) => rateLimiter.set(checkRateLimit(limit)),
    setLatency(ms) {
      settings.latencyMs = checkLatency(ms);
    },
    attachConnector: (tunnelId, opts) => attachConnector(store, tunnelId, opts),
    detachConnector: (tunnelId, connectorId) => detachConnector(store, tunnelId, connectorId),
    addToken(input = {}) {
      const accountId = input.accountId ?? store.primary.accountId;
      if (!HEX32.test(accountId)) throw new ControlError('accountId must be 32 lowercase hex characters');
      const value = input.token ?? apiTokenValue();
      if (value === '' || /\s/.test(value))
        throw new ControlError('token must be non-empty and without spaces');
      if (store.state.apiTokens.some((t) => t.value === value))
        throw new ControlError('token already exists', 409);
      const zoneIds = input.zoneIds ?? (accountId === store.primary.accountId ? [store.primary.zoneId] : []);
      const permissions =
        input.permissions ??
        (input.readOnly ? Object.fromEntries(areas.map((a) => [a, 'read' as const])) : { ...fullAccess });
      if (!store.state.accounts.some((a) => a.id === accountId)) {
        store.state.accounts.push({ id: accountId, name: `Account ${accountId.slice(0, 6)}` });
      }
      store.state.apiTokens.push({ id: hexId(), value, accountId, zoneIds: [...zoneIds], permissions });
      store.changed();
      return value;
    },
    addZone(name, plan = 'free', opts = {}) {
      const zoneName = name.trim().toLowerCase().replace(/\.$/, '');
      if (!/^([a-z0-9][-a-z0-9]*\.)+[-a-z0-9]{2,20}$/.test(zoneName))
        throw new ControlError(`invalid zone name ${name}`);
      if (!isPlan(plan)) throw new ControlError('plan must be free or pro');
      const accountId = opts.accountId ?? store.primary.accountId;
      const id = opts.zoneId ?? hexId();
      if (!HEX32.test(id) || !HEX32.test(accountId))
        throw new ControlError('ids must be 32 lowercase hex characters');
      if (opts.recordQuota !== undefined && !(Number.isInteger(opts.recordQuota) && opts.recordQuota >= 0))
        throw new ControlError('recordQuota must be a whole number >= 0');
      if (store.state.zones.some((z) => z.id === id || (z.name === zoneName && z.accountId === accountId))) {
        throw new ControlError(`zone ${zoneName} already exists`, 409);
      }
      if (!store.state.accounts.some((a) => a.id === accountId)) {
        store.state.accounts.push({ id: accountId, name: `Account ${accountId.slice(0, 6)}` });
      }
      store.state.zones.push({
        id,
        name: zoneName,
        accountId,
        plan,
        createdOn: timestamp(),
        ...(opts.recordQuota !== undefined ? { recordQuota: opts.recordQuota } : {}),
      });
      const startToken = store.state.apiTokens.find((t) => t.id === store.primary.tokenId);
      if (startToken && accountId === startToken.accountId) startToken.zoneIds.push(id);
      store.changed();
      return { id, name: zoneName, plan, accountId };
    },
    stats: () => log.stats(),
    resetStats: () => log.resetStats(),
    info: () => deps.info(),
    accessLimits: () => ({ ...deps.access.limits }),
    setAccessLimits(limits) {
      try {
        deps.access.limits = mergeAccessLimits(deps.access.limits, limits);
      } catch (error) {
        throw new ControlError((error as Error).message);
      }
    },
    setServiceTokenExpiry(tokenId, expiresAt) {
      const token = store.state.serviceTokens.find((t) => t.id === tokenId);
      if (!token) throw new ControlError(`unknown service token ${tokenId}`, 404);
      const at = expiresAt === null ? null : new Date(expiresAt).getTime();
      if (at !== null && Number.isNaN(at)) throw new ControlError('expiresAt must be a date or null');
      token.expiresAt = at === null ? null : timestamp(at);
      store.changed();
    },
    accessPolicies: (app) => appPolicies(store.state, app),
    evaluateAccess: (app, request) => evaluateAccess(store.state, app, request),
  };
}

// --- HTTP ----------------------------------------------------------------------------------

function parseBody(raw: string): Record<string, unknown> {
  if (raw.trim() === '') return {};
  const value: unknown = JSON.parse(raw);
  if (!isObject(value)) throw new ControlError('body must be a JSON object');
  return value;
}

function requestFilter(query: URLSearchParams): RequestFilter {
  const filter: RequestFilter = {};
  const method = query.get('method');
  const pathPrefix = query.get('pathPrefix');
  const pathRegex = query.get('pathRegex');
  const since = query.get('since');
  const routeTemplate = query.get('route');
  const status = query.get('status');
  if (method) filter.method = method;
  if (pathPrefix) filter.pathPrefix = pathPrefix;
  if (pathRegex) filter.pathRegex = pathRegex;
  if (since) filter.since = /^\d+$/.test(since) ? Number(since) : since;
  if (routeTemplate) filter.route = routeTemplate;
  if (status) filter.status = Number(status);
  return filter;
}

/** Serves the control operations as JSON under /__emulator/ (paths in README.md). */
export function createControlHttpHandler(control: CloudflareEmulatorControl): ControlHttpHandler {
  return (req: IncomingMessage, res: ServerResponse, url: URL, raw: string) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const parts = url.pathname.split('/').filter(Boolean).slice(1);
    const [resource = 'info', id, sub, subId] = parts;
    const ok = (body: unknown, status = 200) => sendJson(res, status, body);
    try {
      const body = parseBody(raw);
      const is = (m: string, r: string, depth: number) =>
        method === m && resource === r && parts.length === depth;
      if (is('GET', 'info', 0) || is('GET', 'info', 1)) return ok(control.info());
      if (is('POST', 'reset', 1)) {
        control.reset();
        return ok({ ok: true });
      }
      if (is('GET', 'state', 1)) return ok(control.state());
      if (is('GET', 'requests', 1)) return ok(control.requests(requestFilter(url.searchParams)));
      if (is('DELETE', 'requests', 1)) {
        control.clearRequests();
        return ok({ ok: true });
      }
      if (is('GET', 'faults', 1)) return ok(control.faults());
      if (is('POST', 'faults', 1))
        return ok({ id: control.addFault(body as unknown as FaultRuleInput) }, 201);
      if (is('DELETE', 'faults', 1)) {
        control.clearFaults();
        return ok({ ok: true });
      }
      if (is('DELETE', 'faults', 2) && id) {
        if (!control.removeFault(id)) throw new ControlError(`unknown fault ${id}`, 404);
        return ok({ ok: true });
      }
      if (is('PUT', 'rate-limit', 1)) {
        control.setRateLimit({ requests: Number(body.requests), windowSeconds: Number(body.windowSeconds) });
        return ok({ ok: true });
      }
      if (is('PUT', 'latency', 1)) {
        control.setLatency(Number(body.ms));
        return ok({ ok: true });
      }
      if (resource === 'tunnels' && id && sub === 'connectors') {
        if (method === 'POST' && parts.length === 3) {
          return ok({ connectorId: control.attachConnector(id, body as AttachConnectorOptions) }, 201);
        }
        if (method === 'DELETE' && parts.length <= 4) {
          control.detachConnector(id, subId);
          return ok({ ok: true });
        }
      }
      if (is('POST', 'tokens', 1)) return ok({ token: control.addToken(body as AddTokenInput) }, 201);
      if (is('POST', 'zones', 1)) {
        const plan = body.plan === undefined ? 'free' : body.plan;
        if (!isPlan(plan)) throw new ControlError('plan must be free or pro');
        const opts: AddZoneOptions = {};
        if (typeof body.accountId === 'string') opts.accountId = body.accountId;
        if (typeof body.zoneId === 'string') opts.zoneId = body.zoneId;
        if (body.recordQuota !== undefined) opts.recordQuota = body.recordQuota as number;
        return ok(control.addZone(String(body.name ?? ''), plan, opts), 201);
      }
      if (is('GET', 'access-limits', 1)) return ok(control.accessLimits());
      if (is('PUT', 'access-limits', 1)) {
        control.setAccessLimits(body as Partial<AccessLimits>);
        return ok(control.accessLimits());
      }
      if (is('PUT', 'service-tokens', 3) && id && sub === 'expiry') {
        const expiresAt = body.expiresAt;
        if (expiresAt !== null && typeof expiresAt !== 'string' && typeof expiresAt !== 'number') {
          throw new ControlError('expiresAt must be an ISO date, epoch milliseconds or null');
        }
        control.setServiceTokenExpiry(decodeURIComponent(id), expiresAt);
        return ok({ ok: true });
      }
      if (resource === 'access' && id === 'apps' && sub && parts.length === 4) {
        const app = decodeURIComponent(sub);
        if (method === 'GET' && subId === 'policies') return ok(control.accessPolicies(app));
        if (method === 'POST' && subId === 'evaluate') {
          return ok(control.evaluateAccess(app, body as unknown as AccessRequest));
        }
      }
      if (is('GET', 'stats', 1)) return ok(control.stats());
      if (is('DELETE', 'stats', 1)) {
        control.resetStats();
        return ok({ ok: true });
      }
      throw new ControlError(`no control operation ${method} ${url.pathname}`, 404);
    } catch (error) {
      const status = error instanceof ControlError ? error.status : 400;
      ok({ error: { message: error instanceof Error ? error.message : String(error) } }, status);
    }
  };
}
