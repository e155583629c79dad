/**
 * Sign-in throttling: which password checks may run, decided before any hashing. The source is
 * the client's address as `throttleSource` buckets it: an IPv4 address (also when mapped into
 * IPv6), an IPv6 address's /64 (what one subscriber usually holds whole), or `unknown`.
 *
 * Rules, each answered 429 `auth.throttled` with Retry-After, without hashing:
 *
 * - **Per account and source**: `freeFailures` failed checks (checks in flight count as
 *   failed), then one check at a time after a delay that starts at `baseDelayMs` and doubles
 *   with each failure up to `maxDelayMs`. A success from that source resets it; failures are
 *   forgotten `forgetAfterMs` after the last one.
 * - **Per source**: at most `maxAccountsPerSource` account names failing at once (spraying
 *   names), and `maxChecksPerSource` checks in flight.
 * - **Per account**: at most `accountFailures` failed checks (in flight counted) in any
 *   `accountWindowMs` from sources that are not known-good for it, however many sources try
 *   (spraying from many addresses). So one account meets at most that many wrong passwords per
 *   window from strangers, plus what its known-good sources' own backoff lets through.
 *
 * A source is **known-good** for an account when the account signed in from it (a checked or a
 * cached password) within `knownSourceMs`. Its checks of that account skip the per-account
 * budget and the cap on failing names per source (a shared NAT or proxy spraying names does not
 * lock out who signed in from there), keep the per-account-and-source backoff, and run in the
 * reserved hashing slots (auth.ts), so a flood neither locks out nor starves the account's
 * owner at her usual address. Strangers are refused while the account is under attack: the
 * owner on a new network waits for the window, or uses an API token.
 *
 * Memory is bounded whatever keys an attacker sends: `maxTrackedKeys` account and source pairs
 * and `maxTrackedAccounts` accounts (each holding at most `accountFailures` times), least
 * recently failed dropped first; known-good sources are made only by successful sign-ins, at
 * most `maxKnownSourcesPerAccount` per account and `maxKnownSources` in all, least recently
 * used dropped first. All of it is per process and starts empty.
 */
import { isIPv4 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { AppError } from '../domain/errors.js';

/** The tunables of throttling (see the module header); defaults in `defaultThrottleLimits`. */
export interface ThrottleLimits {
  /** Failed checks an account name and source may have before the backoff starts. */
  freeFailures: number;
  /** The first backoff delay; it doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Account names one source may have failing (or being checked) at once. */
  maxAccountsPerSource: number;
  /** Checks one source may have in flight (running or waiting) across accounts. */
  maxChecksPerSource: number;
  /** How long after its last failure an account name and source are forgiven. */
  forgetAfterMs: number;
  /** Account name and source pairs remembered; the least recently failed are dropped first. */
  maxTrackedKeys: number;
  /** Failed checks one account may have from sources not known-good for it, per window. */
  accountFailures: number;
  accountWindowMs: number;
  /** Accounts whose failures are remembered; the least recently failed are dropped first. */
  maxTrackedAccounts: number;
  /** How long after a sign-in from it a source stays known-good for the account. */
  knownSourceMs: number;
  maxKnownSources: number;
  maxKnownSourcesPerAccount: number;
}

export const defaultThrottleLimits: Readonly<ThrottleLimits> = Object.freeze({
  freeFailures: 5,
  baseDelayMs: 1_000,
  maxDelayMs: 300_000,
  maxAccountsPerSource: 20,
  maxChecksPerSource: 10,
  forgetAfterMs: 900_000,
  maxTrackedKeys: 20_000,
  accountFailures: 20,
  accountWindowMs: 900_000,
  maxTrackedAccounts: 20_000,
  knownSourceMs: 30 * 86_400_000,
  maxKnownSources: 10_000,
  maxKnownSourcesPerAccount: 16,
});

export const throttled = (waitMs: number, why: string) => {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new AppError('auth.throttled', `${why}; retry in ${seconds} s (or use an API token).`, {
    retryAfterSeconds: seconds,
  });
};

/**
 * The part of a source address that throttling counts: an IPv4 address (also when mapped into
 * IPv6, in any notation), or an IPv6 address's /64, which one subscriber usually holds whole.
 * What is not an address (nothing, or a forwarded value that is not one) counts as `unknown`,
 * one source for all of it.
 */
export function throttleSource(address: string | undefined): string {
  // The common cases without parsing: a dotted quad (canonical), and one mapped into IPv6.
  if (address && isIPv4(address)) return address;
  const mapped = address && /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!;
  if (!address || address.length > 64 || !ipaddr.isValid(address)) return 'unknown';
  const ip = ipaddr.process(address);
  if (ip.kind() === 'ipv4') return ip.toString();
  const parts = (ip as ipaddr.IPv6).parts.slice(0, 4);
  return `${parts.map((p) => p.toString(16)).join(':')}::/64`;
}

/** What throttling knows of one account name tried from one source. */
interface Attempts {
  source: string;
  account: string;
  failures: number;
  lastFailureAt: number;
  inFlight: number;
}

/** One account's failures from sources not known-good for it, oldest first. */
interface AccountFailures {
  account: string;
  times: number[];
  inFlight: number;
}

/** An admitted check; give it back to `settle` once answered. */
export interface Ticket {
  attempts: Attempts;
  /** From a known-good source: not counted against the account's budget. */
  known: boolean;
  budget: AccountFailures | null;
}

/** How stale a known-good source's last sign-in may be before a cached sign-in records it again. */
const KNOWN_REFRESH_MS = 60_000;

export function createSignInThrottle(limits: ThrottleLimits, now: () => number) {
  // `${source}\n${account}` (a name holds no control character) → attempts; Map order: least
  // recently tried first.
  const attempts = new Map<string, Attempts>();
  const accountsBySource = new Map<string, Set<string>>();
  const checksBySource = new Map<string, number>();
  const keyOf = (source: string, account: string) => `${source}\n${account}`;
  const delayAfter = (failures: number) =>
    failures < limits.freeFailures
      ? 0
      : Math.min(limits.maxDelayMs, limits.baseDelayMs * 2 ** (failures - limits.freeFailures));
  const live = (a: Attempts, at: number) =>
    a.inFlight > 0 || (a.failures > 0 && at - a.lastFailureAt < limits.forgetAfterMs);

  function forget(a: Attempts) {
    const k = keyOf(a.source, a.account);
    // A stale record (dropped from a full map, then tried anew) was forgotten already.
    if (attempts.get(k) !== a) return;
    attempts.delete(k);
    const accounts = accountsBySource.get(a.source);
    accounts?.delete(a.account);
    if (accounts?.size === 0) accountsBySource.delete(a.source);
  }

  function remember(a: Attempts) {
    const k = keyOf(a.source, a.account);
    attempts.delete(k);
    attempts.set(k, a);
    while (attempts.size > limits.maxTrackedKeys) forget(attempts.values().next().value!);
  }

  // --- Per account: failures from strangers in a sliding window ------------------------------
  // Map order: least recently failed (or admitted) first.
  const budgets = new Map<string, AccountFailures>();

  function budgetOf(account: string, at: number): AccountFailures | undefined {
    const b = budgets.get(account);
    if (!b) return undefined;
    while (b.times.length && at - b.times[0]! >= limits.accountWindowMs) b.times.shift();
    if (!b.times.length && !b.inFlight) {
      budgets.delete(account);
      return undefined;
    }
    return b;
  }

  function touchBudget(b: AccountFailures) {
    budgets.delete(b.account);
    budgets.set(b.account, b);
    while (budgets.size > limits.maxTrackedAccounts) budgets.delete(budgets.keys().next().value!);
  }

  // --- Known-good sources: account → source → last sign-in (to the minute for cached ones);
  // both Maps least recent first ------------------------------------------------------------
  const known = new Map<string, Map<string, number>>();
  let knownCount = 0;

  function isKnown(account: string, source: string, at: number) {
    const last = known.get(account)?.get(source);
    return last !== undefined && at - last < limits.knownSourceMs;
  }

  function markKnown(account: string, source: string) {
    let sources = known.get(account);
    if (sources) {
      known.delete(account);
      if (sources.delete(source)) knownCount--;
    } else sources = new Map();
    sources.set(source, now());
    knownCount++;
    known.set(account, sources);
    while (sources.size > limits.maxKnownSourcesPerAccount) {
      sources.delete(sources.keys().next().value!);
      knownCount--;
    }
    while (knownCount > limits.maxKnownSources) {
      const [oldest, theirs] = known.entries().next().value!;
      theirs.delete(theirs.keys().next().value!);
      knownCount--;
      if (!theirs.size) known.delete(oldest);
    }
  }

  /**
   * The right password from this source (checked or cached): its failures are over. A source
   * seen for the account within the last minute stays where it is (every cached sign-in of a
   * busy client moved two Map entries; the order it keeps only chooses what goes first past the
   * bounds, and `knownSourceMs` is days).
   */
  function succeeded(source: string, account: string) {
    const last = known.get(account)?.get(source);
    if (last === undefined || now() - last >= KNOWN_REFRESH_MS) markKnown(account, source);
    const a = attempts.get(keyOf(source, account));
    if (!a) return;
    a.failures = 0;
    if (a.inFlight === 0) forget(a);
  }

  /** Admits one check of `account` from `source`, or refuses it with 429. */
  function admit(source: string, account: string): Ticket {
    const at = now();
    const fromKnown = isKnown(account, source, at);
    let a = attempts.get(keyOf(source, account));
    if (a && !live(a, at)) {
      forget(a);
      a = undefined;
    }
    if (!a) {
      const accounts = accountsBySource.get(source);
      if (!fromKnown && accounts && accounts.size >= limits.maxAccountsPerSource) {
        let soonest = Infinity;
        for (const other of accounts) {
          const o = attempts.get(keyOf(source, other));
          if (!o || !live(o, at)) {
            if (o) forget(o);
            else accounts.delete(other);
          } else if (o.inFlight === 0)
            soonest = Math.min(soonest, o.lastFailureAt + limits.forgetAfterMs - at);
        }
        if (accounts.size >= limits.maxAccountsPerSource) {
          throw throttled(
            Number.isFinite(soonest) ? soonest : limits.baseDelayMs,
            'Too many failed sign-ins from this address',
          );
        }
      }
      a = { source, account, failures: 0, lastFailureAt: 0, inFlight: 0 };
    } else {
      const used = a.failures + a.inFlight;
      if (used >= limits.freeFailures) {
        const wait = a.inFlight > 0 ? delayAfter(used) : a.lastFailureAt + delayAfter(a.failures) - at;
        if (wait > 0) throw throttled(wait, 'Too many failed sign-ins for this user from this address');
      }
    }
    let budget = fromKnown ? null : (budgetOf(account, at) ?? null);
    if (budget && budget.times.length + budget.inFlight >= limits.accountFailures) {
      const wait = budget.times.length ? budget.times[0]! + limits.accountWindowMs - at : limits.baseDelayMs;
      throw throttled(
        wait,
        'Too many failed sign-ins for this user from addresses it has not signed in from',
      );
    }
    const checks = checksBySource.get(source) ?? 0;
    if (checks >= limits.maxChecksPerSource)
      throw throttled(1000, 'Too many sign-ins from this address at once');
    checksBySource.set(source, checks + 1);
    accountsBySource.set(source, (accountsBySource.get(source) ?? new Set()).add(account));
    a.inFlight++;
    remember(a);
    if (!fromKnown) {
      budget ??= { account, times: [], inFlight: 0 };
      budget.inFlight++;
      touchBudget(budget);
    }
    return { attempts: a, known: fromKnown, budget };
  }

  function settle(ticket: Ticket, outcome: 'ok' | 'failed' | 'dropped') {
    const { attempts: a, budget } = ticket;
    const checks = checksBySource.get(a.source)! - 1;
    if (checks > 0) checksBySource.set(a.source, checks);
    else checksBySource.delete(a.source);
    a.inFlight--;
    if (budget) {
      budget.inFlight--;
      if (outcome === 'failed') {
        budget.times.push(now());
        // One dropped from a full map stays dropped (its count went with it).
        if (budgets.get(budget.account) === budget) touchBudget(budget);
      } else if (!budget.times.length && !budget.inFlight && budgets.get(budget.account) === budget)
        budgets.delete(budget.account);
    }
    if (outcome === 'ok') {
      a.failures = 0;
      markKnown(a.account, a.source);
    }
    if (outcome === 'failed') {
      a.failures++;
      a.lastFailureAt = now();
      if (attempts.get(keyOf(a.source, a.account)) === a) remember(a);
    }
    if (a.inFlight === 0 && a.failures === 0) forget(a);
  }

  return {
    admit,
    settle,
    succeeded,
    /** What is held, for tests of the memory bounds. */
    sizes: () => ({ pairs: attempts.size, accounts: budgets.size, knownSources: knownCount }),
  };
}

export type SignInThrottle = ReturnType<typeof createSignInThrottle>;
