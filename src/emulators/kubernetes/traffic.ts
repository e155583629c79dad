/**
 * What the control API observes and perturbs on the wire: a journal of the API requests
 * served (control requests are not journaled), and injected faults — "answer N matching
 * requests with status S" — checked before a request reaches the API.
 */

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  contentType?: string;
  /** Raw request body, when there was one. */
  body?: string;
  status: number;
  /** Authenticated user name (`kubernetes-admin`, `system:serviceaccount:ns:sa`), when authentication succeeded. */
  user?: string;
  /** ISO time the request arrived. */
  time: string;
  /** Set when an injected fault produced the answer. */
  faultId?: string;
}

/** A path matcher: a RegExp, or a string that is exact unless it contains `*` (any characters). */
export type PathPattern = string | RegExp;

export interface RequestFilter {
  method?: string;
  path?: PathPattern;
  status?: number;
  user?: string;
  contentType?: string;
}

export interface FaultInput {
  /** HTTP method to match (any when omitted). */
  method?: string;
  path: PathPattern;
  status: number;
  /** How many matching requests fail (default 1; `Infinity` for all until cleared). */
  times?: number;
  message?: string;
  reason?: string;
  /** Sent as `Retry-After` and `details.retryAfterSeconds`. */
  retryAfterSeconds?: number;
}

export interface Fault extends FaultInput {
  id: string;
  remaining: number;
}

export function pathMatches(pattern: PathPattern, path: string): boolean {
  if (pattern instanceof RegExp) return pattern.test(path);
  if (!pattern.includes('*')) return pattern === path;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return re.test(path);
}

export interface Traffic {
  record(entry: RecordedRequest): void;
  requests(filter?: RequestFilter): RecordedRequest[];
  clearRequests(): void;
  addFault(input: FaultInput): string;
  clearFaults(): void;
  /** Consumes one use of the first fault matching the request, if any. */
  takeFault(method: string, path: string): Fault | undefined;
}

const JOURNAL_LIMIT = 5000;

export function createTraffic(): Traffic {
  let journal: RecordedRequest[] = [];
  let faults: Fault[] = [];
  let nextId = 1;
  return {
    record(entry) {
      journal.push(entry);
      if (journal.length > JOURNAL_LIMIT) journal = journal.slice(-JOURNAL_LIMIT);
    },
    requests(filter = {}) {
      return journal
        .filter((r) => {
          if (filter.method && r.method !== filter.method.toUpperCase()) return false;
          if (filter.path !== undefined && !pathMatches(filter.path, r.path)) return false;
          if (filter.status !== undefined && r.status !== filter.status) return false;
          if (filter.user !== undefined && r.user !== filter.user) return false;
          if (filter.contentType !== undefined && r.contentType !== filter.contentType) return false;
          return true;
        })
        .map((r) => ({ ...r, query: { ...r.query } }));
    },
    clearRequests() {
      journal = [];
    },
    addFault(input) {
      if (!Number.isInteger(input.status) || input.status < 100 || input.status > 599)
        throw new Error('fault status must be an HTTP status code');
      const id = `fault-${nextId++}`;
      faults.push({ ...input, id, remaining: input.times ?? 1 });
      return id;
    },
    clearFaults() {
      faults = [];
    },
    takeFault(method, path) {
      const fault = faults.find(
        (f) =>
          f.remaining > 0 && (!f.method || f.method.toUpperCase() === method) && pathMatches(f.path, path),
      );
      if (!fault) return undefined;
      fault.remaining--;
      faults = faults.filter((f) => f.remaining > 0);
      return fault;
    },
  };
}
