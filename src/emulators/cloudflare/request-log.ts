// The record of every Cloudflare call the emulator received (bounded), with filters for
// tests, and the counters benchmarks read: calls per "METHOD route-template", per status,
// and 429s sent. Counters survive `clearRequests()`; `resetStats()` zeroes them.

export type RequestOutcome = 'response' | 'hang' | 'reset' | 'dropped-after-write';

export interface RequestLogEntry {
  /** Sequence number, increasing. */
  id: number;
  /** Arrival time, ISO 8601. */
  time: string;
  method: string;
  /** Path relative to `/client/v4`, e.g. `/accounts/…/cfd_tunnel`. */
  path: string;
  /** Route template (`/accounts/:account/cfd_tunnel`), or null when no route matched. */
  route: string | null;
  query: Record<string, string | string[]>;
  /** Parsed JSON body, the raw text when it is not JSON, or undefined when empty. */
  body: unknown;
  /** Status the emulator produced; 0 when it sent none (hang, reset). */
  status: number;
  durationMs: number;
  /** `X-Stainless-Retry-Count` (0 for a first attempt or a non-SDK client). */
  retryCount: number;
  /** Request headers; `authorization` is masked to its last 4 characters. */
  headers: Record<string, string>;
  /** Whether the client received the response. */
  outcome: RequestOutcome;
  /** The fault rule applied to this call, if any. */
  faultId?: string;
}

export interface RequestFilter {
  method?: string;
  /** Keep paths starting with this (relative to `/client/v4`). */
  pathPrefix?: string;
  /** Keep paths matching this regex (or its source). */
  pathRegex?: RegExp | string;
  /** Keep calls that arrived at or after this time (ms epoch, ISO string or Date). */
  since?: number | string | Date;
  /** Keep calls of this route template, e.g. `/accounts/:account/cfd_tunnel`. */
  route?: string;
  status?: number;
}

export interface EmulatorStats {
  /** Calls received since the last reset of the counters. */
  total: number;
  /** Calls per `"METHOD /route/:template"`; unmatched paths count as `"METHOD (unmatched)"`. */
  byRoute: Record<string, number>;
  /** Calls per status produced (`"0"` for hang/reset). */
  byStatus: Record<string, number>;
  /** 429 responses sent (by the rate limiter or by a fault rule). */
  rateLimited: number;
  /** Calls a fault rule was applied to. */
  faultsInjected: number;
  /** When the counters started, ISO 8601. */
  since: string;
}

export interface RequestLog {
  record(entry: Omit<RequestLogEntry, 'id'>): RequestLogEntry;
  list(filter?: RequestFilter): RequestLogEntry[];
  clear(): void;
  stats(): EmulatorStats;
  resetStats(): void;
}

function emptyStats(): EmulatorStats {
  return {
    total: 0,
    byRoute: {},
    byStatus: {},
    rateLimited: 0,
    faultsInjected: 0,
    since: new Date().toISOString(),
  };
}

export function createRequestLog(limit = 10_000): RequestLog {
  let entries: RequestLogEntry[] = [];
  let sequence = 0;
  let stats = emptyStats();

  return {
    record(entry) {
      sequence += 1;
      const full = { id: sequence, ...entry };
      entries.push(full);
      if (entries.length > limit) entries = entries.slice(entries.length - limit);
      const routeKey = `${entry.method} ${entry.route ?? '(unmatched)'}`;
      stats.total += 1;
      stats.byRoute[routeKey] = (stats.byRoute[routeKey] ?? 0) + 1;
      stats.byStatus[String(entry.status)] = (stats.byStatus[String(entry.status)] ?? 0) + 1;
      if (entry.status === 429) stats.rateLimited += 1;
      if (entry.faultId) stats.faultsInjected += 1;
      return full;
    },
    list(filter = {}) {
      const since =
        filter.since === undefined
          ? undefined
          : filter.since instanceof Date
            ? filter.since.getTime()
            : typeof filter.since === 'number'
              ? filter.since
              : Date.parse(filter.since);
      const regex = typeof filter.pathRegex === 'string' ? new RegExp(filter.pathRegex) : filter.pathRegex;
      return entries
        .filter(
          (e) =>
            (!filter.method || e.method === filter.method.toUpperCase()) &&
            (!filter.pathPrefix || e.path.startsWith(filter.pathPrefix)) &&
            (!regex || regex.test(e.path)) &&
            (since === undefined || Date.parse(e.time) >= since) &&
            (!filter.route || e.route === filter.route) &&
            (filter.status === undefined || e.status === filter.status),
        )
        .map((e) => structuredClone(e));
    },
    clear() {
      entries = [];
    },
    stats: () => structuredClone(stats),
    resetStats() {
      stats = emptyStats();
    },
  };
}
