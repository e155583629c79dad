import { scryptSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuthenticator, throttleSource, type AuthDeps, type AuthLimits } from './auth.js';
import { createSignInThrottle, defaultThrottleLimits } from './sign-in-throttle.js';
import { hashApiToken, hashPassword, needsRehash, newApiToken, verifyPassword } from '../domain/passwords.js';
import type { UserRow } from '../store/index.js';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

const row = (name: string, passwordHash: string) =>
  ({ id: `id-${name}`, name, password_hash: passwordHash, role: 'user' }) as UserRow;

/** A store holding `users` (read as copies, like rows), counting look-ups and recording updates. */
function fakeStore(users: UserRow[]) {
  const lookups = { byName: 0 };
  const updates: Array<{ id: string; patch: Partial<UserRow> }> = [];
  let onUpdate: (() => void) | undefined;
  const store: AuthDeps['store'] = {
    users: {
      byName: async (n) => {
        lookups.byName++;
        const u = users.find((u) => u.name === n);
        return u && { ...u };
      },
      byId: async (id) => {
        const u = users.find((u) => u.id === id);
        return u && { ...u };
      },
      update: async (id, patch) => {
        updates.push({ id, patch });
        Object.assign(
          users.find((u) => u.id === id)!,
          patch,
        );
        onUpdate?.();
      },
    },
    tokens: { byHash: async () => undefined, touch: async () => {} },
  };
  const updated = () => new Promise<void>((resolve) => (onUpdate = resolve));
  return { store, lookups, updates, updated };
}

/**
 * An authenticator over users alice, bob and carol (password `right-<initial>`), a fake clock
 * and a fake verifier (`hash:<password>`) that records the passwords it checks, in the order
 * the checks start, and when (`checkedAt`); with `slow`, each check waits until `release()`.
 */
function world(opts: { limits?: Partial<AuthLimits>; slow?: boolean } = {}) {
  let clock = 1_000_000;
  const users = ['alice', 'bob', 'carol'].map((n) => row(n, `hash:right-${n[0]}`));
  const { store, lookups } = fakeStore(users);
  const calls: string[] = [];
  const checkedAt: number[] = [];
  const gates: Array<{ password: string; open: () => void }> = [];
  const auth = createAuthenticator({
    store,
    limits: opts.limits,
    now: () => clock,
    verifyPassword: async (password, stored) => {
      calls.push(password);
      checkedAt.push(clock);
      if (opts.slow) await new Promise<void>((resolve) => gates.push({ password, open: resolve }));
      return stored === `hash:${password}`;
    },
  });
  /** The user's name, the error code, or `429 <Retry-After>`. */
  const outcome = (user: string, password: string, source = '10.0.0.1') =>
    auth.authenticate(basic(user, password), source).then(
      (a) => a.user.name,
      (e: { code: string; details: { retryAfterSeconds?: number } }) =>
        e.code === 'auth.throttled' ? `429 ${e.details.retryAfterSeconds}` : e.code,
    );
  return {
    auth,
    outcome,
    calls,
    checkedAt,
    lookups,
    now: () => clock,
    advance: (ms: number) => void (clock += ms),
    /** Changes a user's password (as an operator would): nothing cached matches the new one. */
    setPassword: (user: string, password: string) =>
      void (users.find((u) => u.name === user)!.password_hash = `hash:${password}`),
    pending: () => gates.length,
    /** Lets the oldest waiting check finish, or the one of `password`. */
    async release(password?: string) {
      const i = password === undefined ? 0 : gates.findIndex((g) => g.password === password);
      if (i < 0) throw new Error(`no check of ${password} is waiting`);
      gates.splice(i, 1)[0]!.open();
      await flush();
    },
  };
}

describe('authenticator: cache and failure memory', () => {
  it('verifies once, then answers from the cache until the password changes', async () => {
    const user = row('alice', await hashPassword('right-password'));
    const { store, lookups } = fakeStore([user]);
    const auth = createAuthenticator({ store });
    expect((await auth.authenticate(basic('alice', 'right-password'), '10.0.0.1')).user.name).toBe('alice');
    expect((await auth.authenticate(basic('alice', 'right-password'), '10.0.0.1')).user.name).toBe('alice');
    expect(lookups.byName).toBe(1);
    user.password_hash = await hashPassword('new-password');
    await expect(auth.authenticate(basic('alice', 'right-password'), '10.0.0.1')).rejects.toMatchObject({
      code: 'auth.invalid',
    });
  });

  it('remembers a failed pair without checking it again (and without counting it again)', async () => {
    const w = world({ limits: { freeFailures: 2 } });
    expect(await w.outcome('alice', 'wrong')).toBe('auth.invalid');
    const looked = w.lookups.byName;
    for (let i = 0; i < 5; i++) expect(await w.outcome('alice', 'wrong')).toBe('auth.invalid');
    expect(w.lookups.byName).toBe(looked);
    expect(w.calls).toEqual(['wrong']);
    // One failure counted: one more free guess.
    expect(await w.outcome('alice', 'wrong-2')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'wrong-3')).toBe('429 1');
  });

  it('checks the same pair sent many times at once only once', async () => {
    const w = world({ slow: true, limits: { freeFailures: 2 } });
    const right = Array.from({ length: 10 }, () => w.outcome('alice', 'right-a'));
    const wrong = Array.from({ length: 10 }, () => w.outcome('bob', 'wrong'));
    await flush();
    expect(w.calls).toEqual(['right-a', 'wrong']);
    await w.release();
    await w.release();
    expect(await Promise.all(right)).toEqual(Array(10).fill('alice'));
    expect(await Promise.all(wrong)).toEqual(Array(10).fill('auth.invalid'));
  });
});

describe('authenticator: what a Basic header may hold', () => {
  it('rejects missing and malformed headers and unknown schemes', async () => {
    const w = world();
    await expect(w.auth.authenticate(undefined, '10.0.0.1')).rejects.toMatchObject({
      code: 'auth.required',
      status: 401,
    });
    for (const h of [
      'Basic',
      'Basic ',
      'Digest abc',
      'Bearer nottp',
      `Basic ${Buffer.from('nocolon').toString('base64')}`,
      `Basic ${Buffer.from(':pw').toString('base64')}`,
    ]) {
      await expect(w.auth.authenticate(h, '10.0.0.1')).rejects.toMatchObject({
        code: 'auth.invalid',
        status: 401,
      });
    }
    expect(w.calls).toEqual([]);
  });

  const good = Buffer.from('alice:right-a').toString('base64'); // YWxpY2U6cmlnaHQtYQ==
  it.each([
    ['characters outside base64', 'YWxpY2U6!!!!'],
    ['missing padding', good.replace(/=+$/, '')],
    ['padding inside', `YQ==${good}`],
    ['a space inside', `${good.slice(0, 8)} ${good.slice(8)}`],
    ['non-zero trailing bits', good.replace(/YQ==$/, 'YR==')],
    ['only padding', '===='],
    ['bytes that are not UTF-8', Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')],
  ])('refuses base64 with %s before any check', async (_what, encoded) => {
    const w = world();
    await expect(w.auth.authenticate(`Basic ${encoded}`, '10.0.0.1')).rejects.toMatchObject({
      code: 'auth.invalid',
      status: 401,
    });
    expect(w.calls).toEqual([]);
    expect(w.lookups.byName).toBe(0);
  });

  it.each([
    ['a trailing NUL in the password', 'alice', 'right-a\0'],
    ['a NUL in the user', 'alice\0', 'right-a'],
    ['a tab in the user', 'al\tice', 'right-a'],
    ['a line feed in the password', 'alice', 'right\n-a'],
    ['a carriage return in the password', 'alice', 'right-a\r'],
    ['U+001F in the password', 'alice', '\x1f'],
    ['DEL in the password', 'alice', 'right-a\x7f'],
    ['DEL in the user', '\x7falice', 'right-a'],
  ])('refuses %s with 401 before any check', async (_what, user, password) => {
    const w = world();
    expect(await w.outcome(user, password)).toBe('auth.invalid');
    expect(w.calls).toEqual([]);
    expect(w.lookups.byName).toBe(0);
  });

  it('accepts spaces, colons and non-ASCII letters in a password', async () => {
    const user = row('dora', await hashPassword('pä ss:wörd'));
    const auth = createAuthenticator({ store: fakeStore([user]).store });
    expect((await auth.authenticate(basic('dora', 'pä ss:wörd'), '10.0.0.1')).user.name).toBe('dora');
  });
});

describe('authenticator: throttling per account and source', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002::', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    // IPv4-mapped in any notation is the IPv4 address, not one shared /64 (0:0:0:0::/64).
    ['::FFFF:198.51.100.7', '198.51.100.7'],
    ['::ffff:c633:6407', '198.51.100.7'],
    ['0:0:0:0:0:ffff:198.51.100.7', '198.51.100.7'],
    ['0000:0000:0000:0000:0000:ffff:c633:6407', '198.51.100.7'],
    ['::ffff:0:0:1.2.3.4', '0:0:0:ffff::/64'],
    ['127.1', '127.0.0.1'],
    // Not an address (a forwarded value, an address with a port): one source for all of it.
    ['::ffff:1.2.3.4:80', 'unknown'],
    ['1.2.3.4:80', 'unknown'],
    ['not-an-address', 'unknown'],
    ['', 'unknown'],
    [undefined, 'unknown'],
  ])('counts the source %s as %s', (address, source) => {
    expect(throttleSource(address)).toBe(source);
  });

  // The guesser fails twice (freeFailures) on `user` from `from`; then `who` tries from `at`.
  it.each([
    ['the same account and address', 'alice', '10.0.0.1', 'alice', '10.0.0.1', '429 1'],
    ['the same account from another address (its owner)', 'alice', '10.0.0.1', 'alice', '10.0.0.2', 'alice'],
    ['another account from the same address', 'alice', '10.0.0.1', 'bob', '10.0.0.1', 'bob'],
    ['the same address mapped into IPv6', 'alice', '10.0.0.1', 'alice', '::ffff:10.0.0.1', '429 1'],
    ['the same IPv6 /64', 'alice', '2001:db8:1:2::1', 'alice', '2001:db8:1:2:ffff::7', '429 1'],
    ['another IPv6 /64', 'alice', '2001:db8:1:2::1', 'alice', '2001:db8:1:3::1', 'alice'],
    ['an unknown name, like a known one', 'nobody', '10.0.0.1', 'nobody', '10.0.0.1', '429 1'],
  ])('after failures, %s', async (_what, user, from, who, at, expected) => {
    const w = world({ limits: { freeFailures: 2 } });
    expect(await w.outcome(user, 'guess-1', from)).toBe('auth.invalid');
    expect(await w.outcome(user, 'guess-2', from)).toBe('auth.invalid');
    const checks = w.calls.length;
    expect(await w.outcome(who, `right-${who[0]}`, at)).toBe(expected);
    // A throttled attempt is answered without a check.
    expect(w.calls.length).toBe(expected.startsWith('429') ? checks : checks + 1);
  });

  it('doubles the delay with each further failure, up to the cap', async () => {
    const w = world({
      limits: { freeFailures: 2, baseDelayMs: 1_000, maxDelayMs: 8_000, forgetAfterMs: 60_000 },
    });
    expect(await w.outcome('alice', 'guess-a')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'guess-b')).toBe('auth.invalid');
    const waits: string[] = [];
    for (let i = 0; i < 6; i++) {
      const refused = await w.outcome('alice', `early-${i}`);
      waits.push(refused);
      const seconds = Number(refused.split(' ')[1]);
      w.advance(seconds * 1000 - 1);
      expect(await w.outcome('alice', `still-early-${i}`)).toBe('429 1');
      w.advance(1);
      expect(await w.outcome('alice', `guess-${i}`)).toBe('auth.invalid');
    }
    expect(waits).toEqual(['429 1', '429 2', '429 4', '429 8', '429 8', '429 8']);
    // Only the guesses after each wait were checked.
    expect(w.calls).toEqual(['guess-a', 'guess-b', ...Array.from({ length: 6 }, (_, i) => `guess-${i}`)]);
  });

  it('counts checks in flight as failures: concurrent guesses get no more than the free ones', async () => {
    const w = world({ slow: true, limits: { freeFailures: 3 } });
    const guesses = Array.from({ length: 10 }, (_, i) => w.outcome('alice', `guess-${i}`));
    await flush();
    while (w.pending()) await w.release();
    expect(await Promise.all(guesses)).toEqual([...Array(3).fill('auth.invalid'), ...Array(7).fill('429 1')]);
    expect(w.calls).toEqual(['guess-0', 'guess-1', 'guess-2']);
  });

  it('starts afresh after a success from that source, checked or cached', async () => {
    const w = world({
      limits: { freeFailures: 2, baseDelayMs: 1_000, maxDelayMs: 8_000, forgetAfterMs: 60_000 },
    });
    expect(await w.outcome('alice', 'g1')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'g2')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'g3')).toBe('429 1');
    w.advance(1_000);
    expect(await w.outcome('alice', 'g3')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'g4')).toBe('429 2');
    w.advance(2_000);
    expect(await w.outcome('alice', 'right-a')).toBe('alice');
    // Two free failures again, and the backoff starts from its first step.
    expect(await w.outcome('alice', 'g5')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'g6')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'g7')).toBe('429 1');
    // The cached right password still gets in while throttled, and forgives the source too.
    const checks = w.calls.length;
    expect(await w.outcome('alice', 'right-a')).toBe('alice');
    expect(w.calls.length).toBe(checks);
    expect(await w.outcome('alice', 'g8')).toBe('auth.invalid');
  });

  it('forgets failures some time after the last one', async () => {
    const w = world({ limits: { freeFailures: 2, maxDelayMs: 8_000, forgetAfterMs: 60_000 } });
    expect(await w.outcome('alice', 'g1')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'g2')).toBe('auth.invalid');
    w.advance(59_999);
    expect(await w.outcome('alice', 'g3')).toBe('auth.invalid');
    w.advance(60_000);
    expect(await w.outcome('alice', 'g4')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'g5')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'g6')).toBe('429 1');
  });

  it('caps the accounts one source may have failing (spraying names)', async () => {
    const w = world({ limits: { maxAccountsPerSource: 3, maxDelayMs: 8_000, forgetAfterMs: 60_000 } });
    for (const name of ['ann', 'ben', 'cid'])
      expect(await w.outcome(name, 'guess', '10.0.0.9')).toBe('auth.invalid');
    w.advance(10_000);
    const checks = w.calls.length;
    // A fourth name from that source, even a right password, is refused without a check
    // until the oldest failure there is forgotten…
    expect(await w.outcome('dan', 'guess', '10.0.0.9')).toBe('429 50');
    expect(await w.outcome('alice', 'right-a', '10.0.0.9')).toBe('429 50');
    expect(w.calls.length).toBe(checks);
    // …names it already failed on are still checked (throttled per account)…
    expect(await w.outcome('ann', 'guess-2', '10.0.0.9')).toBe('auth.invalid');
    // …and other sources are not affected.
    expect(await w.outcome('dan', 'guess', '10.0.0.10')).toBe('auth.invalid');
    w.advance(50_000);
    expect(await w.outcome('alice', 'right-a', '10.0.0.9')).toBe('alice');
  });

  it('caps the checks one source may have in flight across accounts', async () => {
    const w = world({ slow: true, limits: { maxChecksPerSource: 3 } });
    const first = ['ann', 'ben', 'alice'].map((name) =>
      w.outcome(name, name === 'alice' ? 'right-a' : 'guess', '10.0.0.9'),
    );
    await flush();
    expect(await w.outcome('bob', 'right-b', '10.0.0.9')).toBe('429 1');
    const elsewhere = w.outcome('bob', 'right-b', '10.0.0.10');
    await flush();
    while (w.pending()) await w.release();
    expect(await Promise.all([...first, elsewhere])).toEqual([
      'auth.invalid',
      'auth.invalid',
      'alice',
      'bob',
    ]);
    // Once they are answered, the source may check again.
    const again = w.outcome('carol', 'right-c', '10.0.0.9');
    await flush();
    await w.release();
    expect(await again).toBe('carol');
  });

  it.each<[string, Partial<AuthLimits>]>([
    ['no hashing at all', { maxHashing: 0 }],
    ['a fraction', { freeFailures: 1.5 }],
    ['not a number', { maxQueued: Number.NaN }],
    ['a first delay above the cap', { baseDelayMs: 10_000, maxDelayMs: 1_000 }],
    ['failures forgotten during the backoff', { maxDelayMs: 60_000, forgetAfterMs: 30_000 }],
  ])('refuses limits with %s at construction', (_what, limits) => {
    expect(() => createAuthenticator({ store: fakeStore([]).store, limits })).toThrow(/auth limits/);
  });
});

describe('authenticator: the per-account budget and known-good sources', () => {
  it('bounds the checks against one account sprayed from 512 IPv6 /64s', async () => {
    const w = world();
    const refusals = new Set<string>();
    // Every /64 guesses once a minute for 30 minutes: 15,360 attempts, half of which the
    // per-address backoff alone would let through to a check.
    for (let t = 0; t < 1_800_000; t += 60_000) {
      const round = await Promise.all(
        Array.from({ length: 512 }, (_, s) =>
          w.outcome('alice', `guess-${t}-${s}`, `2001:db8:0:${s.toString(16)}::1`),
        ),
      );
      for (const r of round) if (r !== 'auth.invalid') refusals.add(r.replace(/\d+$/, 'N'));
      w.advance(60_000);
    }
    expect([...refusals]).toEqual(['429 N']);
    // At most accountFailures (20) checks in any 15 minutes: 20 at the start, 20 once they expire.
    const start = 1_000_000;
    for (const from of [...w.checkedAt, start])
      expect(w.checkedAt.filter((t) => t >= from && t < from + 900_000).length).toBeLessThanOrEqual(20);
    expect(w.checkedAt.filter((t) => t < start + 900_000)).toHaveLength(20);
    expect(w.calls).toHaveLength(40);
  });

  it('refuses strangers with the time until the oldest failure expires, and other accounts are not affected', async () => {
    const w = world({ limits: { accountFailures: 3, accountWindowMs: 60_000 } });
    for (let i = 0; i < 3; i++) {
      expect(await w.outcome('alice', `guess-${i}`, `10.0.1.${i}`)).toBe('auth.invalid');
      w.advance(10_000);
    }
    const checks = w.calls.length;
    // Even the right password, from an address alice never signed in from: 30 s until the first failure is 60 s old.
    expect(await w.outcome('alice', 'right-a', '10.0.2.1')).toBe('429 30');
    expect(w.calls.length).toBe(checks);
    expect(await w.outcome('bob', 'right-b', '10.0.2.1')).toBe('bob');
    w.advance(30_000);
    expect(await w.outcome('alice', 'right-a', '10.0.2.1')).toBe('alice');
  });

  it('counts checks in flight against the budget: concurrent strangers get no more than it', async () => {
    const w = world({ slow: true, limits: { accountFailures: 4, maxQueuedPerAccount: 100 } });
    const guesses = Array.from({ length: 50 }, (_, i) => w.outcome('alice', `guess-${i}`, `10.0.3.${i}`));
    await flush();
    while (w.pending()) await w.release();
    const results = await Promise.all(guesses);
    expect(results.filter((r) => r === 'auth.invalid')).toHaveLength(4);
    expect(w.calls).toHaveLength(4);
  });

  it('lets alice in from her usual address during a flood from 300 addresses; a stranger gets 429', async () => {
    const w = world();
    expect(await w.outcome('alice', 'right-a', '192.0.2.10')).toBe('alice');
    // Her password changes (nothing cached matches it); then the flood, one guess per address per second.
    w.setPassword('alice', 'new-a');
    const mine: string[] = [];
    for (let second = 0; second < 120; second++) {
      const flood = Array.from({ length: 300 }, (_, s) =>
        w.outcome('alice', `g${second}-${s}`, `198.51.${s >> 8}.${s & 255}`),
      );
      if (second % 30 === 29)
        mine.push(await w.outcome('alice', second < 60 ? 'new-a' : 'right-a', '192.0.2.10'));
      const answers = await Promise.all(flood);
      expect(answers).not.toContain('alice');
      w.advance(1_000);
    }
    // Checked, not cached (the first try of the new password), and her typo of the old one only counts for her address.
    expect(mine).toEqual(['alice', 'alice', 'auth.invalid', 'auth.invalid']);
    expect(w.calls.filter((p) => p === 'new-a')).toHaveLength(1);
    // Changed again: the right password from elsewhere is refused without a check while the
    // budget is spent (a cached one would not need a check), and from her address it is checked.
    w.setPassword('alice', 'newest-a');
    const checks = w.calls.length;
    expect(await w.outcome('alice', 'newest-a', '203.0.113.9')).toMatch(/^429 \d+$/);
    expect(w.calls.length).toBe(checks);
    expect(await w.outcome('alice', 'newest-a', '192.0.2.10')).toBe('alice');
    // The flood was checked at most accountFailures (20) times.
    expect(w.calls.filter((p) => p.startsWith('g'))).toHaveLength(20);
  });

  it("runs a known source's check at once while a flood fills the shared slots and queues", async () => {
    const w = world({ slow: true, limits: { maxHashing: 2, maxQueued: 4, maxQueuedPerAccount: 2 } });
    expect(w.outcome('alice', 'right-a', '192.0.2.10')).toBeDefined();
    await flush();
    await w.release();
    w.setPassword('alice', 'new-a');
    // Floods on three accounts: two checks running, four waiting (the whole queue).
    const flood = ['alice', 'bob', 'carol', 'dan'].flatMap((name) =>
      [1, 2].map((i) => w.outcome(name, `guess-${i}`, `10.0.${name.length}.${i}`)),
    );
    await flush();
    expect(w.pending()).toBe(2);
    expect(await w.outcome('erin', 'guess', '10.0.9.9')).toBe('auth.busy');
    // alice at home: checked at once, in the reserved slot.
    const home = w.outcome('alice', 'new-a', '192.0.2.10');
    await flush();
    expect(w.pending()).toBe(3);
    await w.release('new-a');
    expect(await home).toBe('alice');
    while (w.pending()) await w.release();
    await Promise.all(flood);
  });

  it('keeps the per-address backoff for a known source, without spending the account budget', async () => {
    const w = world({ limits: { freeFailures: 2, accountFailures: 2 } });
    expect(await w.outcome('alice', 'right-a', '192.0.2.10')).toBe('alice');
    expect(await w.outcome('alice', 'typo-1', '192.0.2.10')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'typo-2', '192.0.2.10')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'typo-3', '192.0.2.10')).toBe('429 1');
    // Her typos did not spend the budget strangers are counted against.
    expect(await w.outcome('alice', 'guess-1', '10.0.1.1')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'guess-2', '10.0.1.2')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'guess-3', '10.0.1.3')).toBe('429 900');
  });

  it('exempts a known source from the cap on failing names per address (a proxy or NAT shared with sprayers)', async () => {
    const proxy = '10.42.0.7';
    const w = world({ limits: { maxAccountsPerSource: 20 } });
    expect(await w.outcome('alice', 'right-a', proxy)).toBe('alice');
    w.setPassword('alice', 'new-a');
    for (let i = 0; i < 20; i++) expect(await w.outcome(`nobody${i}`, 'x', proxy)).toBe('auth.invalid');
    expect(await w.outcome('alice', 'new-a', proxy)).toBe('alice');
    // bob never signed in from there.
    expect(await w.outcome('bob', 'right-b', proxy)).toMatch(/^429 /);
  });

  it('forgets a known source after knownSourceMs, and keeps at most maxKnownSourcesPerAccount', async () => {
    const w = world({
      limits: {
        knownSourceMs: 60_000,
        maxKnownSourcesPerAccount: 2,
        accountFailures: 1,
        accountWindowMs: 60_000,
      },
    });
    for (const home of ['192.0.2.1', '192.0.2.2', '192.0.2.3'])
      expect(await w.outcome('alice', 'right-a', home)).toBe('alice');
    expect(await w.outcome('alice', 'guess', '10.0.1.1')).toBe('auth.invalid');
    w.setPassword('alice', 'new-a');
    // The oldest of three was dropped; the two others are still known.
    expect(await w.outcome('alice', 'new-a', '192.0.2.1')).toMatch(/^429 /);
    expect(await w.outcome('alice', 'new-a', '192.0.2.2')).toBe('alice');
    w.advance(60_000);
    w.setPassword('alice', 'newer-a');
    expect(await w.outcome('alice', 'guess-2', '10.0.1.2')).toBe('auth.invalid');
    expect(await w.outcome('alice', 'newer-a', '192.0.2.3')).toMatch(/^429 /);
  });

  it("records a cached sign-in's source again only once a minute, and the source still expires", () => {
    let clock = 0;
    const limits = { ...defaultThrottleLimits, knownSourceMs: 90_000, maxKnownSourcesPerAccount: 2 };
    const throttle = createSignInThrottle(limits, () => clock);
    const known = (source: string) => throttle.admit(source, 'alice').known;
    const settle = (source: string) => throttle.settle(throttle.admit(source, 'alice'), 'ok');
    settle('192.0.2.1');
    settle('192.0.2.2');
    // Within the minute 192.0.2.1 stays the least recent: a third source pushes it out.
    clock = 59_999;
    throttle.succeeded('192.0.2.1', 'alice');
    settle('192.0.2.3');
    expect([known('192.0.2.1'), known('192.0.2.2'), known('192.0.2.3')]).toEqual([false, true, true]);
    // After it, a cached sign-in records the source again: it is known for knownSourceMs from then.
    clock = 60_000;
    throttle.succeeded('192.0.2.2', 'alice');
    clock = 149_999;
    expect(known('192.0.2.2')).toBe(true);
    clock = 150_000;
    expect([known('192.0.2.2'), known('192.0.2.3')]).toEqual([false, false]);
  });

  it('keeps every map bounded whatever names and addresses are sent', () => {
    let clock = 0;
    const limits = {
      ...defaultThrottleLimits,
      maxTrackedKeys: 100,
      maxTrackedAccounts: 50,
      maxKnownSources: 30,
      maxKnownSourcesPerAccount: 4,
    };
    const throttle = createSignInThrottle(limits, () => clock);
    for (let i = 0; i < 5_000; i++) {
      clock += 10;
      const ticket = throttle.admit(`2001:db8:${i.toString(16)}::/64`, `name-${i}`);
      throttle.settle(ticket, i % 10 === 0 ? 'ok' : 'failed');
      throttle.succeeded(`10.0.${i >> 8}.${i & 255}`, `user-${i % 20}`);
    }
    expect(throttle.sizes()).toEqual({ pairs: 100, accounts: 50, knownSources: 30 });
  });
});

describe('authenticator: the hashing budget', () => {
  it('serves accounts round-robin: a flood on one account waits behind others, not they behind it', async () => {
    const w = world({ slow: true, limits: { maxHashing: 1, maxQueuedPerAccount: 3 } });
    // alice guessed from five addresses at once (so no source is throttled yet).
    const flood = [1, 2, 3, 4, 5].map((i) => w.outcome('alice', `guess-${i}`, `10.0.1.${i}`));
    await flush();
    // One runs, three wait; alice's queue is full: 429 for her account, not 503 for everyone.
    expect(await flood[4]).toBe('429 1');
    const bob = w.outcome('bob', 'right-b');
    const carol = w.outcome('carol', 'right-c');
    await flush();
    while (w.pending()) await w.release();
    expect(w.calls).toEqual(['guess-1', 'guess-2', 'right-b', 'right-c', 'guess-3', 'guess-4']);
    expect([await bob, await carol]).toEqual(['bob', 'carol']);
    expect(await Promise.all(flood.slice(0, 4))).toEqual(Array(4).fill('auth.invalid'));
  });

  it('answers 503 auth.busy only when checks wait across many accounts', async () => {
    const w = world({ slow: true, limits: { maxHashing: 1, maxQueued: 3, maxQueuedPerAccount: 2 } });
    const alice = [1, 2, 3].map((i) => w.outcome('alice', `guess-${i}`, `10.0.1.${i}`));
    const bob = w.outcome('bob', 'right-b');
    await flush();
    // Full queues: alice's own (429), then everyone's (503).
    expect(await w.outcome('alice', 'guess-4', '10.0.1.4')).toBe('429 1');
    expect(await w.outcome('carol', 'right-c')).toBe('auth.busy');
    while (w.pending()) await w.release();
    expect(await bob).toBe('bob');
    expect(await Promise.all(alice)).toEqual(Array(3).fill('auth.invalid'));
    // A refusal was not a failure: carol gets in at once when she retries.
    const retried = w.outcome('carol', 'right-c');
    await flush();
    await w.release();
    expect(await retried).toBe('carol');
    expect(w.calls).not.toContain('guess-4');
  });
});

describe('authenticator: rehashing older hashes', () => {
  const oldHash = (password: string, N: number, r: number, p: number) => {
    const salt = Buffer.from('0123456789abcdef');
    const key = scryptSync(password, salt, 32, { N, r, p });
    return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
  };

  it('replaces an older hash after a successful sign-in, keeping the cached sign-in', async () => {
    const user = row('alice', oldHash('right-password', 2 ** 14, 8, 1));
    const { store, lookups, updates, updated } = fakeStore([user]);
    const auth = createAuthenticator({ store });
    const done = updated();
    expect((await auth.authenticate(basic('alice', 'right-password'), '10.0.0.1')).user.name).toBe('alice');
    await done;
    await flush();
    expect(updates).toHaveLength(1);
    const fresh = updates[0]!.patch.password_hash!;
    expect(needsRehash(fresh)).toBe(false);
    expect(await verifyPassword('right-password', fresh)).toBe(true);
    // The next request is answered from the cache: no second check.
    expect((await auth.authenticate(basic('alice', 'right-password'), '10.0.0.1')).user.name).toBe('alice');
    expect(lookups.byName).toBe(1);
  });

  it('never replaces a hash stronger than the current parameters with them', async () => {
    // N=2^14, p=5: twice the memory, the same work (an OWASP setting); N=2^17, p=1 would be stronger still.
    const user = row('alice', oldHash('right-password', 2 ** 14, 8, 5));
    const { store, updates } = fakeStore([user]);
    let hashes = 0;
    const auth = createAuthenticator({ store, hashPassword: async () => `rehashed:${++hashes}` });
    expect((await auth.authenticate(basic('alice', 'right-password'), '10.0.0.1')).user.name).toBe('alice');
    for (let i = 0; i < 20; i++) await flush();
    expect(hashes).toBe(0);
    expect(updates).toEqual([]);
  });

  it('leaves current hashes alone, and a hash changed during the rehash', async () => {
    let hashes = 0;
    let finish: (() => void) | undefined;
    const current = row('bob', await hashPassword('right-b'));
    const older = row('alice', oldHash('right-a', 2 ** 10, 8, 1));
    const { store, updates } = fakeStore([current, older]);
    const auth = createAuthenticator({
      store,
      hashPassword: async (password) => {
        hashes++;
        await new Promise<void>((resolve) => (finish = resolve));
        return `rehashed:${password}`;
      },
    });
    await auth.authenticate(basic('bob', 'right-b'), '10.0.0.1');
    expect(hashes).toBe(0);
    await auth.authenticate(basic('alice', 'right-a'), '10.0.0.1');
    expect(hashes).toBe(1);
    older.password_hash = await hashPassword('changed-by-admin');
    finish!();
    for (let i = 0; i < 20; i++) await flush();
    expect(updates).toEqual([]);
    expect(await verifyPassword('changed-by-admin', older.password_hash)).toBe(true);
  });
});

describe('verified tokens and teams, cached under the auth version', () => {
  /** One person with one token and one team; counts the token and team reads. */
  function tokenWorld() {
    const user = { ...row('dana', '!'), auth_version: 0 } as UserRow;
    const secret = newApiToken();
    const tokenRows = new Map([
      [
        hashApiToken(secret),
        {
          id: 'tok-1',
          user_id: user.id,
          name: 't',
          token_hash: hashApiToken(secret),
          created_at: '2026-01-01T00:00:00.000Z',
          last_used_at: null,
          expires_at: null,
          scopes: 'read,write',
        },
      ],
    ]);
    let teams = [{ id: 'team-1', name: 'ops' }];
    const reads = { tokens: 0, teams: 0 };
    const auth = createAuthenticator({
      store: {
        users: {
          byName: async () => undefined,
          byId: async (id) => (id === user.id ? { ...user } : undefined),
          update: async () => {},
        },
        tokens: {
          byHash: async (h) => {
            reads.tokens++;
            const t = tokenRows.get(h);
            return t && { ...t };
          },
          touch: async () => {},
        },
        teams: {
          teamsOf: async () => {
            reads.teams++;
            return teams.map((t) => ({ ...t }));
          },
        },
      },
    });
    const who = () =>
      auth.authenticate(`Bearer ${secret}`, '10.0.0.1').then(
        (a) => a.teams.map((t) => t.name).join(','),
        (e: { code: string }) => e.code,
      );
    return {
      who,
      reads,
      /** What the database's triggers do: a change of tokens or teams bumps the version. */
      change(fn: () => void) {
        fn();
        user.auth_version++;
      },
      revoke: () => tokenRows.clear(),
      setTeams: (names: string[]) => (teams = names.map((name) => ({ id: `team-${name}`, name }))),
    };
  }

  it('reads the token and the teams once while the version holds', async () => {
    const w = tokenWorld();
    expect(await w.who()).toBe('ops');
    const first = { ...w.reads };
    for (let i = 0; i < 5; i++) expect(await w.who()).toBe('ops');
    expect(w.reads).toEqual(first);
  });

  it('refuses a revoked token at the next request once the version moved', async () => {
    const w = tokenWorld();
    expect(await w.who()).toBe('ops');
    w.change(() => w.revoke());
    expect(await w.who()).toBe('auth.invalid');
  });

  it('shows a membership change at the next request once the version moved', async () => {
    const w = tokenWorld();
    expect(await w.who()).toBe('ops');
    w.change(() => w.setTeams([]));
    expect(await w.who()).toBe('');
    w.change(() => w.setTeams(['ops', 'web']));
    expect(await w.who()).toBe('ops,web');
  });
});
