// Fault injection for tests: rules matching method + path (glob or regex) that answer with
// an error, add latency, hang, reset the connection, or let the write happen and then drop
// the connection. A rule fires on the next `times` matching calls, or on a `probability`
// fraction of them drawn from a seeded generator, so runs are reproducible.

import { ControlError } from './errors.js';

export type FaultAction =
  /** Answer with this status and a Cloudflare error body (or `body` verbatim). */
  | {
      type: 'error';
      status: number;
      code?: number;
      message?: string;
      body?: unknown;
      /** Seconds, sent as `retry-after`. */
      retryAfter?: number;
      headers?: Record<string, string>;
    }
  /** Delay the call by `ms`, then handle it normally. */
  | { type: 'latency'; ms: number }
  /** Never answer; the client's own timeout fires. */
  | { type: 'hang' }
  /** Destroy the connection without handling the call. */
  | { type: 'reset' }
  /** Handle the call (the change is applied), then destroy the connection unanswered. */
  | { type: 'drop-after-write' };

export interface FaultRuleInput {
  /** HTTP method, or `*` (default). */
  method?: string;
  /**
   * Glob on the API path relative to `/client/v4` (a leading `/client/v4` is ignored):
   * `*` matches within one segment, `**` across segments. Default: every path.
   */
  path?: string;
  /** Regular expression (source) on the same path, instead of `path`. */
  pathRegex?: string;
  /** Fire on the next N matching calls. Default 1, or unlimited when `probability` is set. */
  times?: number;
  /** Fire on this fraction (0..1) of matching calls. */
  probability?: number;
  /** Seed for the `probability` draws; without it Math.random is used. */
  seed?: number;
  action: FaultAction;
}

export interface FaultRule extends FaultRuleInput {
  id: string;
  /** Matching calls seen so far. */
  matched: number;
  /** Times the fault was applied. */
  injected: number;
  /** Applications left; null = unlimited. */
  remaining: number | null;
}

/** What to do with one call. */
export interface FaultDecision {
  latencyMs: number;
  /** The error/hang/reset/drop rule that fires, if any. */
  terminal?: { ruleId: string; action: Exclude<FaultAction, { type: 'latency' }> };
}

export interface FaultInjector {
  add(input: FaultRuleInput): string;
  remove(id: string): boolean;
  clear(): void;
  list(): FaultRule[];
  decide(method: string, path: string): FaultDecision;
}

function globToRegex(glob: string): RegExp {
  const source = glob
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  return new RegExp(`^${source}$`);
}

/** Deterministic PRNG (mulberry32). */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function validate(input: FaultRuleInput): void {
  const action = input.action as FaultAction | undefined;
  const types = ['error', 'latency', 'hang', 'reset', 'drop-after-write'];
  if (!action || !types.includes(action.type))
    throw new ControlError(`fault action.type must be one of ${types.join(', ')}`);
  if (
    action.type === 'error' &&
    !(Number.isInteger(action.status) && action.status >= 200 && action.status <= 599)
  ) {
    // 1xx are interim responses node cannot send as a final answer.
    throw new ControlError('fault action.status must be an HTTP status from 200 to 599');
  }
  if (action.type === 'latency' && !(action.ms >= 0)) throw new ControlError('fault action.ms must be >= 0');
  if (input.probability !== undefined && !(input.probability >= 0 && input.probability <= 1)) {
    throw new ControlError('fault probability must be between 0 and 1');
  }
  if (input.times !== undefined && !(Number.isInteger(input.times) && input.times >= 1)) {
    throw new ControlError('fault times must be a positive integer');
  }
  if (input.pathRegex !== undefined) new RegExp(input.pathRegex);
}

export function createFaultInjector(): FaultInjector {
  let rules: Array<FaultRule & { test: (path: string) => boolean; random: () => number }> = [];
  let counter = 0;

  return {
    add(input) {
      validate(input);
      counter += 1;
      const id = `fault-${counter}`;
      const pattern = input.pathRegex
        ? new RegExp(input.pathRegex)
        : globToRegex((input.path ?? '/**').replace(/^\/client\/v4(?=\/|$)/, '') || '/**');
      const remaining = input.times ?? (input.probability === undefined ? 1 : null);
      rules.push({
        ...structuredClone(input),
        id,
        matched: 0,
        injected: 0,
        remaining,
        test: (path) => pattern.test(path),
        random: input.seed === undefined ? Math.random : seededRandom(input.seed),
      });
      return id;
    },
    remove(id) {
      const before = rules.length;
      rules = rules.filter((r) => r.id !== id);
      return rules.length !== before;
    },
    clear() {
      rules = [];
    },
    list() {
      return rules.map(({ test: _t, random: _r, ...rule }) => structuredClone(rule));
    },
    decide(method, path) {
      const decision: FaultDecision = { latencyMs: 0 };
      for (const rule of rules) {
        if (rule.remaining === 0) continue;
        const isLatency = rule.action.type === 'latency';
        if (!isLatency && decision.terminal) continue;
        const methodOk = !rule.method || rule.method === '*' || rule.method.toUpperCase() === method;
        if (!methodOk || !rule.test(path)) continue;
        rule.matched += 1;
        if (rule.probability !== undefined && rule.random() >= rule.probability) continue;
        rule.injected += 1;
        if (rule.remaining !== null) rule.remaining -= 1;
        if (rule.action.type === 'latency') decision.latencyMs += rule.action.ms;
        else decision.terminal = { ruleId: rule.id, action: rule.action };
      }
      return decision;
    },
  };
}
