/**
 * Authentication: HTTP Basic (what the proof of concept's clients send) and bearer API tokens.
 *
 * scrypt is slow on purpose, so a verified user:password pair is remembered under a MAC
 * keyed with a per-process secret (the cache never holds a password), bounded in size, and
 * valid only while the user's stored hash is unchanged: a password change invalidates it. A
 * failed pair is answered 401 without hashing for a while (a password changed through this
 * replica forgets the user's; elsewhere, after `failureMemoryMs`); the same pair sent many times at
 * once is checked once. Unknown users are checked against a dummy hash so that timing does not
 * tell which names exist, and they are throttled like known ones.
 *
 * Which checks may run at all (per account and source, per source, per account, and the
 * known-good sources that skip the per-account budget) is sign-in-throttle.ts's to decide.
 *
 * At most `maxHashing` checks run at once. Waiting checks queue per account and the queues
 * are served round-robin, so another account's sign-in waits for the checks already running
 * and one turn of each account waiting, however many checks a flooded account has queued.
 * Past `maxQueuedPerAccount` an account's extra checks get 429 `auth.throttled`; only when
 * `maxQueued` checks wait across accounts does a check get 503 `auth.busy`. Checks from a
 * source known-good for the account take a free slot when nobody waits for one, and otherwise
 * run in `reservedHashing` slots of their own (queued the same way), which strangers never use:
 * a flood keeps the usual slots busy, not the owner's.
 *
 * A hash weaker than the current parameters is replaced after the next successful sign-in, in
 * the background, through the same queue, and the cached pair follows the new hash.
 *
 * Verified API tokens and each person's teams are cached too, under the person's `auth_version`
 * (migration 0012: database triggers bump it when one of their tokens is revoked or changed,
 * when they join or leave a team, when a team of theirs is renamed). Every request gets its
 * user row as of the last commit (`users.current`: on a SQLite file, a row kept until any
 * connection commits, which the store checks at each call; elsewhere a read), which carries that
 * version (and the role, the disabled flag, the password hash): a cached token or team list is
 * used only while the version this very request got is the one it was cached under, and is
 * always read after that version. So a revocation or a membership change made anywhere — this
 * replica, another one, an operator's SQL — counts from the next request on, never later; the
 * caches save queries, not freshness.
 *
 * Defaults (`defaultAuthLimits`): 2 checks at once plus 1 reserved, 128 waiting, 8 per
 * account; 5 free failures, then 1 s doubling to 5 min; 20 failing accounts and 10 checks in
 * flight per source; failures forgotten after 15 min; 20 failures per account per 15 min from
 * strangers; sources known-good for 30 days (16 per account, 10,000 in all); 20,000 account and
 * source pairs and 20,000 accounts tracked; failed pairs remembered 10 s; 10,000 cached pairs;
 * an API token's last use written once a minute. The source is `req.ip`: behind a reverse
 * proxy, only `listen.trustProxy` (Fastify's `trustProxy`) makes it the client's address rather
 * than the proxy's.
 */
import { hash as digest, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { AppError } from '../domain/errors.js';
import {
  API_TOKEN_PREFIX,
  dummyPasswordHash,
  hashApiToken,
  hashPassword,
  needsRehash,
  verifyPassword,
} from '../domain/passwords.js';
import { parseScopes, rightsOf, type Scope } from '../domain/scopes.js';
import type { Store, TeamRef, TokenRow, UserRow } from '../store/index.js';
import {
  createSignInThrottle,
  defaultThrottleLimits,
  throttled,
  throttleSource,
  type ThrottleLimits,
  type Ticket,
} from './sign-in-throttle.js';

export { throttleSource };

export interface Authenticated {
  user: UserRow;
  via: 'basic' | 'token' | 'session';
  tokenId?: string;
  /** What the credential may do: a password or session all the user's rights, a token its scopes. */
  scopes: Scope[];
  /** When the credential stops working (a token's expiry); a token it makes cannot outlive it. */
  expiresAt: string | null;
  /** The teams the user acts for. */
  teams: TeamRef[];
  /** A session's CSRF token: cookie-authenticated changes must send it back. */
  csrf?: string;
  sessionHash?: string;
}

/** The tunables of sign-in; every one has a default (see the module headers). */
export interface AuthLimits extends ThrottleLimits {
  /** Password checks (scrypt runs) at once. */
  maxHashing: number;
  /** More checks at once, only for sources known-good for the account. */
  reservedHashing: number;
  /** Checks waiting for a slot across all accounts; past it, 503 `auth.busy`. */
  maxQueued: number;
  /** Checks waiting for a slot for one account name; past it, 429 `auth.throttled`. */
  maxQueuedPerAccount: number;
  /** How long a failed user:password pair is answered 401 without checking it again. */
  failureMemoryMs: number;
  /** Verified pairs (and failed pairs, verified tokens, people's teams, token last-use times) remembered. */
  cacheSize: number;
  /** An API token's last use is written at most this often. */
  touchEveryMs: number;
}

export const defaultAuthLimits: Readonly<AuthLimits> = Object.freeze({
  ...defaultThrottleLimits,
  maxHashing: 2,
  reservedHashing: 1,
  maxQueued: 128,
  maxQueuedPerAccount: 8,
  failureMemoryMs: 10_000,
  cacheSize: 10_000,
  touchEveryMs: 60_000,
});

export interface AuthDeps {
  store: {
    /** `current` (the row as of the last commit, kept between commits) where the store has it, else `byId`. */
    users: Pick<Store['users'], 'byId' | 'byName' | 'update'> & Partial<Pick<Store['users'], 'current'>>;
    tokens: Pick<Store['tokens'], 'byHash' | 'touch'>;
    teams?: Pick<Store['teams'], 'teamsOf'>;
    sessions?: Pick<Store['sessions'], 'byHash'>;
  };
  /** `identity.passwordSignIn: false` refuses Basic (tokens and sessions still work). */
  passwordSignIn?: boolean;
  limits?: Partial<AuthLimits>;
  /** Where a failed rehash is reported (it is retried at the next sign-in). */
  logger?: Pick<Logger, 'warn'>;
  /** Milliseconds since the epoch; a fake clock in tests. */
  now?: () => number;
  /** The password check and hash (passwords.ts); a controllable fake in tests. */
  verifyPassword?: (password: string, stored: string) => Promise<boolean>;
  hashPassword?: (password: string) => Promise<string>;
}

const required = () =>
  new AppError(
    'auth.required',
    'Authentication required: send HTTP Basic credentials (USERPASS) or a bearer API token.',
  );
const rejected = () =>
  new AppError('auth.invalid', 'Invalid credentials: check USERPASS (user:password) or the API token.');
const disabled = () =>
  new AppError('auth.disabled', 'This account is disabled; ask an administrator to enable it.');
const sessionGone = () =>
  new AppError('auth.required', 'Your session has expired or was signed out; sign in again.', {
    session: 'expired',
  });
const busy = () =>
  new AppError('auth.busy', 'Too many sign-ins at once; retry in a second (or use an API token).', {
    retryAfterSeconds: 1,
  });

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** RFC 7617: base64 of UTF-8 `user-id ":" password`, neither holding a control character. */
function decodeBasic(value: string): { name: string; password: string } {
  const bytes = Buffer.from(value, 'base64');
  // Node skips what is not base64; only a canonical encoding comes back unchanged.
  if (bytes.toString('base64') !== value) throw rejected();
  let pair: string;
  try {
    pair = utf8.decode(bytes);
  } catch {
    throw rejected();
  }
  for (let i = 0; i < pair.length; i++) {
    const c = pair.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw rejected();
  }
  const colon = pair.indexOf(':');
  if (colon <= 0) throw rejected();
  return { name: pair.slice(0, colon), password: pair.slice(colon + 1) };
}

function checkLimits(limits: AuthLimits) {
  const bad = Object.entries(limits).filter(
    ([, v]) => typeof v !== 'number' || !(v > 0) || !Number.isInteger(v),
  );
  if (bad.length)
    throw new Error(
      `auth limits must be positive integers: ${bad.map(([k, v]) => `${k}=${String(v)}`).join(', ')}`,
    );
  if (limits.baseDelayMs > limits.maxDelayMs) throw new Error('auth limits: baseDelayMs exceeds maxDelayMs');
  if (limits.forgetAfterMs < limits.maxDelayMs)
    throw new Error(
      'auth limits: forgetAfterMs is shorter than maxDelayMs (failures would be forgotten during the backoff)',
    );
}

/**
 * `slots` scrypt runs at once; waiting runs queue per account, the queues served round-robin
 * (Map order is the round-robin order).
 */
function createHashPool(slots: number, limits: Pick<AuthLimits, 'maxQueued' | 'maxQueuedPerAccount'>) {
  let running = 0;
  let queued = 0;
  const lanes = new Map<string, Array<() => void>>();

  function pump() {
    while (running < slots) {
      const next = lanes.entries().next();
      if (next.done) return;
      const [account, lane] = next.value;
      const start = lane.shift()!;
      queued--;
      lanes.delete(account);
      if (lane.length) lanes.set(account, lane);
      running++;
      start();
    }
  }

  async function run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } finally {
      running--;
      pump();
    }
  }

  return {
    /** A slot is free and nobody waits for one. */
    idle: () => running < slots && queued === 0,
    /** Runs `fn` (one scrypt) in `account`'s turn. */
    submit<T>(account: string, fn: () => Promise<T>): Promise<T> {
      if (running < slots && queued === 0) {
        running++;
        return run(fn);
      }
      const lane = lanes.get(account);
      if (lane && lane.length >= limits.maxQueuedPerAccount)
        throw throttled(1000, 'Too many sign-ins for this user at once');
      if (queued >= limits.maxQueued) throw busy();
      return new Promise<T>((resolve, reject) => {
        const start = () => void run(fn).then(resolve, reject);
        if (lane) lane.push(start);
        else lanes.set(account, [start]);
        queued++;
      });
    },
  };
}

export function createAuthenticator(deps: AuthDeps) {
  const { store, logger } = deps;
  const limits: AuthLimits = { ...defaultAuthLimits, ...deps.limits };
  checkLimits(limits);
  const now = deps.now ?? Date.now;
  const verify = deps.verifyPassword ?? verifyPassword;
  const hash = deps.hashPassword ?? hashPassword;
  const dummyHash = dummyPasswordHash();
  const currentUser = store.users.current ?? store.users.byId;
  // The cache's MAC: SHA3-256 of a per-process secret and the credentials. SHA-3 has no length
  // extension, so the key prefixed is a MAC as HMAC is (what KMAC builds on), in one call: an
  // HMAC object per request was ~5 % of a cached Basic answer (issue 19).
  const key = randomBytes(32).toString('hex');
  const macOf = (credentials: string) => digest('sha3-256', key + credentials, 'base64url');
  // MAC(base64 of user:password) → { userId, name, hash at verification time }; Map order gives LRU eviction.
  const verified = new Map<string, { userId: string; name: string; passwordHash: string }>();
  // MAC(base64 of user:password) → when it failed, and for whom (a password changed here forgets them).
  const failed = new Map<string, { at: number; name: string }>();
  const checking = new Map<string, Promise<UserRow | null>>();
  const rehashing = new Set<string>();
  const lastTouched = new Map<string, number>();
  // SHA-256 of a token → its row, read after the owner's auth version it is kept under.
  const tokens = new Map<string, { row: TokenRow; authVersion: number }>();
  // Person's id → their teams, read after the auth version they are kept under.
  const teamsCache = new Map<string, { authVersion: number; teams: TeamRef[] }>();
  const throttle = createSignInThrottle(limits, now);
  const shared = createHashPool(limits.maxHashing, limits);
  const reserved = createHashPool(limits.reservedHashing, limits);

  /** Runs `fn` (one scrypt) within the budget: known-good sources in their own slots when the others are taken. */
  const budgeted = <T>(account: string, known: boolean, fn: () => Promise<T>): Promise<T> =>
    known && !shared.idle() ? reserved.submit(account, fn) : shared.submit(account, fn);

  // --- Basic --------------------------------------------------------------------------------
  /** The user if the password is theirs, else null; throttled and budgeted. */
  async function check(name: string, password: string, source: string): Promise<UserRow | null> {
    const ticket: Ticket = throttle.admit(source, name);
    let ok: boolean;
    let user: UserRow | undefined;
    try {
      user = await store.users.byName(name);
      // Unknown users cost a check too, so that timing does not reveal which names exist.
      ok = await budgeted(name, ticket.known, () => verify(password, user?.password_hash ?? dummyHash));
    } catch (err) {
      throttle.settle(ticket, 'dropped');
      throw err;
    }
    throttle.settle(ticket, ok && user ? 'ok' : 'failed');
    return ok && user ? user : null;
  }

  /** Replaces a weaker hash after a successful sign-in; the response does not wait for it. */
  function rehashLater(user: UserRow, password: string, mac: string) {
    if (!needsRehash(user.password_hash) || rehashing.has(user.id)) return;
    rehashing.add(user.id);
    const older = user.password_hash;
    void (async () => {
      try {
        // Right after a successful sign-in: its source is known-good.
        const fresh = await budgeted(user.name, true, () => hash(password));
        const current = await store.users.byId(user.id);
        // Changed meanwhile (a new password): keep it.
        if (current?.password_hash !== older) return;
        await store.users.update(user.id, { password_hash: fresh });
        const entry = verified.get(mac);
        if (entry?.userId === user.id) entry.passwordHash = fresh;
      } catch (err) {
        // A full queue (AppError) only postpones the rehash to a later sign-in.
        if (!(err instanceof AppError)) logger?.warn({ err, user: user.name }, 'could not rehash a password');
      } finally {
        rehashing.delete(user.id);
      }
    })();
  }

  async function basic(encoded: string, source: string): Promise<Authenticated> {
    // Keyed by the credentials as sent: only a canonical encoding is ever checked (decodeBasic),
    // so one pair has one key, and a cached answer decodes nothing.
    const mac = macOf(encoded);
    const hit = verified.get(mac);
    if (hit) {
      const user = await currentUser(hit.userId);
      if (user && user.password_hash === hit.passwordHash && user.name === hit.name) {
        verified.delete(mac);
        verified.set(mac, hit);
        throttle.succeeded(source, hit.name);
        return complete(user, 'basic');
      }
      verified.delete(mac);
    }
    const failure = failed.get(mac);
    if (failure && now() - failure.at < limits.failureMemoryMs) throw rejected();
    const { name, password } = decodeBasic(encoded);

    let pending = checking.get(mac);
    const mine = !pending;
    if (!pending) {
      pending = check(name, password, source);
      checking.set(mac, pending);
    }
    let user: UserRow | null;
    try {
      user = await pending;
    } finally {
      if (mine) checking.delete(mac);
    }
    if (!user) {
      if (mine) {
        failed.set(mac, { at: now(), name });
        if (failed.size > limits.cacheSize) failed.delete(failed.keys().next().value!);
      }
      throw rejected();
    }
    if (mine) {
      failed.delete(mac);
      verified.set(mac, { userId: user.id, name, passwordHash: user.password_hash });
      if (verified.size > limits.cacheSize) verified.delete(verified.keys().next().value!);
      rehashLater(user, password, mac);
    }
    return complete(user, 'basic');
  }

  /** Who the user is with all their rights (a password, a session), once the account may sign in. */
  async function complete(user: UserRow, via: 'basic' | 'session'): Promise<Authenticated> {
    if (user.kind === 'team') throw rejected();
    if (user.disabled) throw disabled();
    return { user, via, scopes: rightsOf(user.role), expiresAt: null, teams: await teamsOf(user) };
  }

  /** The person's teams: cached under the auth version of `user`, the row this request read. */
  async function teamsOf(user: UserRow): Promise<TeamRef[]> {
    if (!store.teams) return [];
    const hit = teamsCache.get(user.id);
    if (hit && hit.authVersion === user.auth_version) {
      teamsCache.delete(user.id);
      teamsCache.set(user.id, hit);
      return hit.teams;
    }
    // Read after the version (it came with `user`): never older than what it is kept under.
    const teams = await store.teams.teamsOf(user.id);
    remember(teamsCache, user.id, { authVersion: user.auth_version, teams });
    return teams;
  }

  /** Sets an entry of an LRU map (Map order), evicting the oldest past `cacheSize`. */
  function remember<V>(map: Map<string, V>, key: string, value: V) {
    map.delete(key);
    map.set(key, value);
    if (map.size > limits.cacheSize) map.delete(map.keys().next().value!);
  }

  /**
   * The token's row and its owner's row. A cached row is used while the owner's auth version
   * (read now, with the owner) is the one it was cached under; otherwise the row is read
   * again after the owner, so that what is cached is never older than its version.
   */
  async function tokenAndUser(tokenHash: string): Promise<{ row: TokenRow; user: UserRow } | null> {
    const hit = tokens.get(tokenHash);
    if (hit) {
      const user = await currentUser(hit.row.user_id);
      if (user && user.auth_version === hit.authVersion) {
        remember(tokens, tokenHash, hit);
        return { row: hit.row, user };
      }
      tokens.delete(tokenHash);
    }
    const first = await store.tokens.byHash(tokenHash);
    if (!first) return null;
    const user = await currentUser(first.user_id);
    if (!user) return null;
    const row = await store.tokens.byHash(tokenHash);
    if (!row || row.user_id !== user.id) return null;
    remember(tokens, tokenHash, { row, authVersion: user.auth_version });
    return { row, user };
  }

  async function session(secret: string): Promise<Authenticated> {
    if (!store.sessions || secret.length > 200) throw sessionGone();
    const idHash = hashApiToken(secret);
    const row = await store.sessions.byHash(idHash);
    if (!row) throw sessionGone();
    const user = await currentUser(row.user_id);
    if (!user) throw sessionGone();
    return {
      ...(await complete(user, 'session')),
      csrf: row.csrf,
      sessionHash: idHash,
      expiresAt: row.expires_at,
    };
  }

  async function bearer(token: string): Promise<Authenticated> {
    if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 200) throw rejected();
    const found = await tokenAndUser(hashApiToken(token));
    if (!found) throw rejected();
    const { row, user } = found;
    if (row.expires_at && row.expires_at < new Date().toISOString()) throw rejected();
    if (user.kind === 'team') throw rejected();
    if (user.disabled) throw disabled();
    const nowMs = now();
    if ((lastTouched.get(row.id) ?? 0) + limits.touchEveryMs < nowMs) {
      lastTouched.set(row.id, nowMs);
      if (lastTouched.size > limits.cacheSize) lastTouched.delete(lastTouched.keys().next().value!);
      await store.tokens.touch(row.id, new Date(nowMs).toISOString());
    }
    return {
      user,
      via: 'token',
      tokenId: row.id,
      scopes: parseScopes(row.scopes, user.role),
      expiresAt: row.expires_at,
      teams: await teamsOf(user),
    };
  }

  return {
    /** A user's password changed: their failed pairs may be right now. */
    forgetFailures(name: string) {
      for (const [mac, f] of failed) if (f.name === name) failed.delete(mac);
    },

    /** `source` is the request's address (`req.ip`): throttling counts per account and source. */
    async authenticate(
      header: string | undefined,
      source: string,
      sessionCookie?: string,
    ): Promise<Authenticated> {
      if (!header && sessionCookie) return session(sessionCookie);
      if (!header) throw required();
      const space = header.indexOf(' ');
      const scheme = header.slice(0, space).toLowerCase();
      const value = header.slice(space + 1).trim();
      if (space <= 0 || !value) throw rejected();
      if (scheme === 'basic') {
        if (deps.passwordSignIn === false)
          throw new AppError(
            'auth.password_disabled',
            'Password sign-in is turned off on this server: sign in with single sign-on (tunnelctl login --sso) or use an API token.',
          );
        return basic(value, throttleSource(source));
      }
      if (scheme === 'bearer') return bearer(value);
      throw rejected();
    },
  };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
