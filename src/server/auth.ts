/**
 * Authentication: HTTP Basic (what the proof of concept's clients send) and bearer API tokens.
 * scrypt is slow on purpose, so a verified user:password pair is remembered under an HMAC
 * keyed with a per-process secret (the cache never holds a password), bounded in size, and
 * valid only while the user's stored hash is unchanged: a password change invalidates it.
 * Failed pairs are remembered briefly too, and at most a few scrypt runs happen at once (the
 * rest queue, and past the queue get 503): wrong credentials cannot eat the CPU that
 * authenticated users need.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { AppError } from '../domain/errors.js';
import { API_TOKEN_PREFIX, hashApiToken, verifyPassword } from '../domain/passwords.js';
import type { Store, UserRow } from '../store/index.js';

export interface Authenticated {
  user: UserRow;
  via: 'basic' | 'token';
  tokenId?: string;
}

const required = () => new AppError('auth.required', 401, 'Authentication required: send HTTP Basic credentials (USERPASS) or a bearer API token.');
const rejected = () => new AppError('auth.invalid', 401, 'Invalid credentials: check USERPASS (user:password) or the API token.');

export function createAuthenticator(deps: {
  store: Store;
  cacheSize?: number;
  touchEveryMs?: number;
  /** scrypt runs at once; more wait in a queue of `maxQueued`, beyond which 503. */
  maxHashing?: number;
  maxQueued?: number;
  /** How long a failed user:password pair is answered 401 without hashing again. */
  failureMemoryMs?: number;
}) {
  const { store } = deps;
  const maxHashing = deps.maxHashing ?? 2;
  const maxQueued = deps.maxQueued ?? 64;
  const failureMemoryMs = deps.failureMemoryMs ?? 10_000;
  let hashing = 0;
  const queue: Array<() => void> = [];
  const failed = new Map<string, number>();

  /** Runs a password check within the hashing budget. */
  async function budgeted<T>(fn: () => Promise<T>): Promise<T> {
    if (hashing >= maxHashing) {
      if (queue.length >= maxQueued) {
        throw new AppError('auth.busy', 503, 'Too many sign-ins at once; retry in a second (or use an API token).', { retryAfterSeconds: 1 });
      }
      await new Promise<void>((resolve) => queue.push(resolve));
    } else {
      hashing++;
    }
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next();
      else hashing--;
    }
  }
  const cacheSize = deps.cacheSize ?? 10_000;
  const touchEveryMs = deps.touchEveryMs ?? 60_000;
  const key = randomBytes(32);
  // HMAC(user:password) → { userId, hash at verification time }; Map order gives LRU eviction.
  const verified = new Map<string, { userId: string; passwordHash: string }>();
  const lastTouched = new Map<string, number>();

  async function basic(encoded: string): Promise<Authenticated> {
    let decoded: string;
    try {
      decoded = Buffer.from(encoded, 'base64').toString('utf8');
    } catch {
      throw rejected();
    }
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw rejected();
    const name = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const mac = createHmac('sha256', key).update(decoded).digest('base64url');
    const hit = verified.get(mac);
    if (hit) {
      const user = await store.users.byId(hit.userId);
      if (user && user.password_hash === hit.passwordHash && user.name === name) {
        verified.delete(mac);
        verified.set(mac, hit);
        return { user, via: 'basic' };
      }
      verified.delete(mac);
    }
    const failedAt = failed.get(mac);
    if (failedAt !== undefined && Date.now() - failedAt < failureMemoryMs) throw rejected();
    const user = await store.users.byName(name);
    // Hash even for unknown users so timing does not reveal which names exist.
    const ok = await budgeted(() => verifyPassword(password, user?.password_hash ?? DUMMY_HASH));
    if (!user || !ok) {
      failed.set(mac, Date.now());
      if (failed.size > cacheSize) failed.delete(failed.keys().next().value!);
      throw rejected();
    }
    failed.delete(mac);
    verified.set(mac, { userId: user.id, passwordHash: user.password_hash });
    if (verified.size > cacheSize) verified.delete(verified.keys().next().value!);
    return { user, via: 'basic' };
  }

  async function bearer(token: string): Promise<Authenticated> {
    if (!token.startsWith(API_TOKEN_PREFIX) || token.length > 200) throw rejected();
    const row = await store.tokens.byHash(hashApiToken(token));
    if (!row || (row.expires_at && row.expires_at < new Date().toISOString())) throw rejected();
    const user = await store.users.byId(row.user_id);
    if (!user) throw rejected();
    const nowMs = Date.now();
    if ((lastTouched.get(row.id) ?? 0) + touchEveryMs < nowMs) {
      lastTouched.set(row.id, nowMs);
      if (lastTouched.size > cacheSize) lastTouched.delete(lastTouched.keys().next().value!);
      await store.tokens.touch(row.id, new Date(nowMs).toISOString());
    }
    return { user, via: 'token', tokenId: row.id };
  }

  return {
    async authenticate(header: string | undefined): Promise<Authenticated> {
      if (!header) throw required();
      const space = header.indexOf(' ');
      const scheme = header.slice(0, space).toLowerCase();
      const value = header.slice(space + 1).trim();
      if (space <= 0 || !value) throw rejected();
      if (scheme === 'basic') return basic(value);
      if (scheme === 'bearer') return bearer(value);
      throw rejected();
    },
  };
}

// A valid scrypt hash of a random password, used to spend the same time on unknown users.
const DUMMY_HASH = `scrypt$16384$8$1$${randomBytes(16).toString('base64')}$${randomBytes(32).toString('base64')}`;

export type Authenticator = ReturnType<typeof createAuthenticator>;
